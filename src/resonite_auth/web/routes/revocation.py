"""`POST /connect/revocation` (RFC 7009 §2) and `POST /connect/introspect` (RFC 7662 §2).

Both take an urlencoded body and answer RFC 6749 §5.2 errors as JSON; `Edge` calls them before
the framework's routing (see web/plain.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from resonite_auth.errors import OAuthError
from resonite_auth.oauth.metadata import INTROSPECTION_PATH, REVOCATION_PATH
from resonite_auth.services.introspection import introspect
from resonite_auth.services.revocation import revoke
from resonite_auth.web.http import (
    NO_STORE,
    client_ip,
    context_of,
    oauth_error_json,
    oauth_form,
)
from resonite_auth.web.plain import PlainEndpoint

log = logging.getLogger("resonite_auth.revocation")


async def revocation_endpoint(request: Request) -> Response:
    try:
        params = await oauth_form(request)
        await revoke(
            context_of(request),
            params,
            request.headers.get("authorization"),
            ip=client_ip(request),
        )
    except OAuthError as error:
        log.info("revocation refused: %s (%s)", error.error, error.detail)
        return oauth_error_json(error)
    # §2.2: 200 whether or not there was anything to revoke.
    return Response(status_code=200, headers=NO_STORE)


async def introspection_endpoint(request: Request) -> JSONResponse:
    try:
        params = await oauth_form(request)
        body = await introspect(context_of(request), params, request.headers.get("authorization"))
    except OAuthError as error:
        log.info("introspection refused: %s (%s)", error.error, error.detail)
        return oauth_error_json(error)
    return JSONResponse(body, headers=NO_STORE)


def endpoints() -> Mapping[str, ASGIApp]:
    """Edge's table: path → endpoint."""
    return {
        REVOCATION_PATH: PlainEndpoint(revocation_endpoint, methods=("POST",)),
        INTROSPECTION_PATH: PlainEndpoint(introspection_endpoint, methods=("POST",)),
    }
