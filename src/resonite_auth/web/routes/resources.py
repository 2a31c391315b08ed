"""Protected resources: the profile API and OIDC userinfo (Bearer tokens, RFC 6750)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from resonite_auth.errors import OAuthError
from resonite_auth.oauth.metadata import PROFILE_PATH, USERINFO_PATH
from resonite_auth.oauth.profile import profile_document, userinfo_claims
from resonite_auth.services.bearer import authorize_bearer, bearer_from_header
from resonite_auth.web.http import NO_STORE, bearer_error, context_of

router = APIRouter()


@router.get(PROFILE_PATH)
async def user_profile(request: Request) -> JSONResponse:
    """The platform's user document, filtered by the token's scopes (DESIGN: profile document)."""
    ctx = context_of(request)
    try:
        authorized = await authorize_bearer(
            ctx, bearer_from_header(request.headers.get("authorization")), required_scope="profile"
        )
    except OAuthError as error:
        return bearer_error(error)
    return JSONResponse(profile_document(authorized.account, authorized.scopes), headers=NO_STORE)


@router.api_route(USERINFO_PATH, methods=["GET", "POST"])
async def userinfo(request: Request) -> JSONResponse:
    """OIDC Core §5.3: needs the `openid` scope."""
    ctx = context_of(request)
    try:
        authorized = await authorize_bearer(
            ctx, bearer_from_header(request.headers.get("authorization")), required_scope="openid"
        )
    except OAuthError as error:
        return bearer_error(error)
    claims = userinfo_claims(authorized.account, authorized.scopes, ctx.settings.asset_base_url)
    return JSONResponse(claims, headers=NO_STORE)
