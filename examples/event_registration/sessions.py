"""Server-side sessions: the cookie holds only a random id; the data stays in SQLite.

Starlette's cookie session re-sends the whole session with every response, so a slow
response to an earlier request (a favicon, say) can overwrite the state Authlib just saved
for a link attempt. Here a request writes only when it changed the session, and the
browser never holds the PKCE verifier or the nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from http.cookies import SimpleCookie

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .store import Store

LIFETIME = 14 * 24 * 3600


class ServerSideSessions:
    def __init__(
        self, app: ASGIApp, *, store: Store, secret: str, cookie_name: str, secure: bool
    ) -> None:
        self.app = app
        self.store = store
        self.secret = secret.encode()
        self.cookie_name = cookie_name
        self.secure = secure

    def _digest(self, session_id: str) -> str:
        # Keyed, so a copy of the database alone does not yield usable cookies.
        return hmac.new(self.secret, session_id.encode(), hashlib.sha256).hexdigest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session_id = HTTPConnection(scope).cookies.get(self.cookie_name)
        loaded = self.store.load_session(self._digest(session_id)) if session_id else None
        if loaded is None:
            session_id = None
        scope["session"] = dict(loaded or {})
        before = json.dumps(loaded or {}, sort_keys=True)

        async def save_then_send(message: Message) -> None:
            nonlocal session_id
            changed = json.dumps(scope["session"], sort_keys=True) != before
            if message["type"] == "http.response.start" and changed:
                if session_id is None:
                    session_id = secrets.token_urlsafe(32)
                    message.setdefault("headers", [])
                    message["headers"].append((b"set-cookie", self._cookie(session_id)))
                self.store.save_session(self._digest(session_id), scope["session"], LIFETIME)
            await send(message)

        await self.app(scope, receive, save_then_send)

    def _cookie(self, session_id: str) -> bytes:
        cookie: SimpleCookie = SimpleCookie()
        cookie[self.cookie_name] = session_id
        morsel = cookie[self.cookie_name]
        morsel["path"] = "/"
        morsel["max-age"] = LIFETIME
        morsel["httponly"] = True
        # Lax: the cookie must come back on the top-level redirect from Resonite.
        morsel["samesite"] = "lax"
        if self.secure:
            morsel["secure"] = True
        return morsel.OutputString().encode("latin-1")
