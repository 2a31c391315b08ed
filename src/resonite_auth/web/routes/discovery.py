"""Discovery metadata and the JWK set."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from resonite_auth.oauth.metadata import JWKS_PATH
from resonite_auth.web.http import context_of

router = APIRouter()

CACHEABLE = {"Cache-Control": "public, max-age=300"}


@router.get("/.well-known/openid-configuration")
async def openid_configuration(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.discovery, headers=CACHEABLE)


@router.get(JWKS_PATH)
async def jwks(request: Request) -> JSONResponse:
    ctx = context_of(request)
    # Short cache: a key published as next must reach verifiers before it signs.
    return JSONResponse(
        await ctx.keyring.jwks(ctx.db), headers={"Cache-Control": "public, max-age=60"}
    )
