"""`POST /connect/token` (RFC 6749 §3.2): the body is parsed here, errors are RFC 6749 §5.2."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from resonite_auth.errors import InvalidRequest, OAuthError
from resonite_auth.services.token_endpoint import token
from resonite_auth.web.http import FORM_TYPE, NO_STORE, context_of, form_params, oauth_error_json

router = APIRouter()
log = logging.getLogger("resonite_auth.token")


@router.post("/connect/token")
async def token_endpoint(request: Request) -> JSONResponse:
    try:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != FORM_TYPE:
            raise InvalidRequest(f"The token request must be sent as {FORM_TYPE}.")
        params = await form_params(request)
        body = await token(context_of(request), params, request.headers.get("authorization"))
    except OAuthError as error:
        log.info("token request refused: %s (%s)", error.error, error.detail)
        return oauth_error_json(error)
    return JSONResponse(body, headers=NO_STORE)
