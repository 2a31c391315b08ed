"""Request handlers that `Edge` calls directly, before the framework's routing.

The OAuth endpoints that clients call machine to machine (token, introspection, revocation) take
a form and answer JSON; they need none of FastAPI's layers (dependency solving, validation,
exception middlewares), which cost more per request than the handler's own work outside the
database. A handler still gets a Starlette `Request` and returns a `Response`; an exception it
does not handle is logged by `Edge` and answered as a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from resonite_auth.web.middleware import send_method_not_allowed

Handler = Callable[[Request], Awaitable[Response]]


class PlainEndpoint:
    """An ASGI app for one path: `handler` for `methods`, 405 for any other."""

    def __init__(self, handler: Handler, *, methods: tuple[str, ...]) -> None:
        self.handler = handler
        self.methods = methods
        self.allow = ", ".join(methods).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in self.methods:
            await send_method_not_allowed(send, self.allow)
            return
        response = await self.handler(Request(scope, receive))
        await response(scope, receive, send)
