"""Protected resources: the profile API and OIDC userinfo (Bearer tokens, RFC 6750).

Every call of every connected application lands here, so these are plain ASGI endpoints that
the outermost middleware (`Edge`) calls before the framework's routing: each framework layer
would cost more than the token lookup itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from resonite_auth.errors import InsufficientScope, MissingToken, OAuthError
from resonite_auth.oauth.metadata import PROFILE_PATH, USERINFO_PATH
from resonite_auth.oauth.profile import profile_document, userinfo_claims
from resonite_auth.services.bearer import Authorized, authorize_bearer, bearer_from_header
from resonite_auth.services.context import Context
from resonite_auth.web.middleware import send_json, send_method_not_allowed

NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


def encode(document: Any) -> bytes:
    """Compact UTF-8 JSON, the bytes `json.dumps(ensure_ascii=False, separators=(",", ":"))`
    would give for these documents, in a tenth of its time."""
    return orjson.dumps(document)


def bearer_challenge(error: OAuthError) -> bytes:
    """RFC 6750 §3: the WWW-Authenticate challenge says what went wrong."""
    challenge = 'Bearer realm="resonite-auth"'
    if isinstance(error, InsufficientScope):
        challenge += f', error="insufficient_scope", scope="{error.scope}"'
    elif not isinstance(error, MissingToken):
        challenge += f', error="{error.error}", error_description="{error.description}"'
    return challenge.encode()


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class BearerResource:
    """A JSON resource for the holder of a live access token with `required_scope`."""

    def __init__(
        self,
        ctx: Context,
        *,
        required_scope: str,
        methods: tuple[str, ...],
        render: Callable[[Authorized], dict[str, Any]],
    ) -> None:
        self.ctx = ctx
        self.required_scope = required_scope
        self.methods = methods
        self.allow = ", ".join(methods).encode()
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in self.methods:
            await send_method_not_allowed(send, self.allow)
            return
        # RFC 6750 §2.1 only: a token in the query string is refused (RFC 9700 §4.3.2).
        token = bearer_from_header(header(scope, b"authorization"))
        try:
            authorized = await authorize_bearer(self.ctx, token, required_scope=self.required_scope)
        except OAuthError as error:
            body = {"error": error.error, "error_description": error.description}
            challenge = (b"www-authenticate", bearer_challenge(error))
            await send_json(send, error.status_code, encode(body), [challenge, *NO_STORE])
            return
        await send_json(send, 200, encode(self.render(authorized)), NO_STORE)


def endpoints(ctx: Context) -> Mapping[str, ASGIApp]:
    """The middleware's table: path → endpoint."""
    base = ctx.settings.asset_base_url
    return {
        # DESIGN: the platform's user document, filtered by the token's scopes.
        PROFILE_PATH: BearerResource(
            ctx,
            required_scope="profile",
            methods=("GET",),
            render=lambda a: profile_document(a.account, a.scopes),
        ),
        # OIDC Core §5.3: GET and POST, needs the `openid` scope.
        USERINFO_PATH: BearerResource(
            ctx,
            required_scope="openid",
            methods=("GET", "POST"),
            render=lambda a: userinfo_claims(a.account, a.scopes, base),
        ),
    }
