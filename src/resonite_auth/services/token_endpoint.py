"""`POST /connect/token`: client authentication, then one handler per grant type."""

from __future__ import annotations

from typing import Any

from resonite_auth.errors import InvalidRequest, UnsupportedGrantType
from resonite_auth.oauth.device import GRANT_TYPE as DEVICE_GRANT_TYPE
from resonite_auth.oauth.metadata import TOKEN_PATH
from resonite_auth.oauth.params import Params
from resonite_auth.services.clients import authenticate_client, read_credentials
from resonite_auth.services.context import Context
from resonite_auth.services.grant_authorization_code import exchange_code
from resonite_auth.services.grant_device_code import poll
from resonite_auth.services.grant_refresh_token import refresh


async def token(ctx: Context, params: Params, authorization: str | None) -> dict[str, Any]:
    params.check_no_repeats()  # RFC 6749 §3.2: parameters must not be repeated
    client = await authenticate_client(
        ctx, read_credentials(params, authorization), endpoint=ctx.settings.url(TOKEN_PATH)
    )
    grant_type = params.get("grant_type")
    if grant_type is None:
        raise InvalidRequest("The grant_type parameter is missing.")
    if grant_type == "authorization_code":
        return await exchange_code(ctx, client, params)
    if grant_type == "refresh_token":
        return await refresh(ctx, client, params)
    if grant_type == DEVICE_GRANT_TYPE:
        return await poll(ctx, client, params)
    raise UnsupportedGrantType(f"The grant type {grant_type[:64]!r} is not supported.")
