"""`POST /connect/token` (RFC 6749 §3.2): the body is parsed here, errors are RFC 6749 §5.2.

Called by `Edge` before the framework's routing (see web/plain.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp

from resonite_auth.errors import AuthorizationPending, OAuthError, SlowDown
from resonite_auth.oauth.metadata import TOKEN_PATH
from resonite_auth.security.ratelimit import RateLimited
from resonite_auth.services import limits
from resonite_auth.services.token_endpoint import token
from resonite_auth.web.http import NO_STORE, client_ip, context_of, oauth_error_json, oauth_form
from resonite_auth.web.plain import PlainEndpoint

log = logging.getLogger("resonite_auth.token")


async def token_endpoint(request: Request) -> JSONResponse:
    ctx = context_of(request)
    subjects: limits.Subjects = [(limits.token_address(ctx.settings), client_ip(request))]
    try:
        await limits.guard(ctx, subjects, limits.TOKEN_MESSAGE)
    except RateLimited as error:
        return too_many_requests(error)
    try:
        params = await oauth_form(request)
        body = await token(ctx, params, request.headers.get("authorization"))
    except OAuthError as error:
        log.info("token request refused: %s (%s)", error.error, error.detail)
        # Refused requests are counted per address: guessing codes, refresh tokens or client
        # secrets hits the limit, ordinary traffic never does (DESIGN: token endpoint limits).
        # A device polling as RFC 8628 §3.5 asks is ordinary traffic.
        if not isinstance(error, AuthorizationPending | SlowDown):
            await limits.count_failure(ctx, subjects, ip=client_ip(request))
        return oauth_error_json(error)
    return JSONResponse(body, headers=NO_STORE)


def too_many_requests(error: RateLimited) -> JSONResponse:
    """429 and Retry-After (RFC 6585 §4); `temporarily_unavailable` is the closest RFC code."""
    return JSONResponse(
        {"error": "temporarily_unavailable", "error_description": error.message},
        status_code=429,
        headers={"Retry-After": str(error.retry_after), **NO_STORE},
    )


def endpoints() -> Mapping[str, ASGIApp]:
    """Edge's table: path → endpoint."""
    return {TOKEN_PATH: PlainEndpoint(token_endpoint, methods=("POST",))}
