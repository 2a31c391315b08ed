"""Discovery metadata and the JWK set.

Both are the same bytes for every caller, so they are encoded once (the JWK set again only when
the key ring reloads) and answered by the outermost middleware (`documents`); the routes below
serve them all the same to an app built without it, and make other methods a 405.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from resonite_auth.oauth.metadata import JWKS_PATH
from resonite_auth.services.context import Context
from resonite_auth.web.middleware import Document

router = APIRouter()

DISCOVERY_PATH = "/.well-known/openid-configuration"
DISCOVERY_CACHE = b"public, max-age=300"
# Short cache: a key published as next must reach verifiers before it signs.
JWKS_CACHE = b"public, max-age=60"


class EncodedJSON:
    """A JSON document's bytes, encoded again only when a different object is given."""

    def __init__(self) -> None:
        self._source: object = None
        self._body = b""

    def __call__(self, document: Any) -> bytes:
        if document is not self._source:
            # Holding the source keeps its identity from being reused by another object.
            self._body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
            self._source = document
        return self._body


def documents(ctx: Context, discovery: dict[str, Any]) -> dict[str, Document]:
    """The middleware's table: path → the current bytes of the document."""
    discovery_body = EncodedJSON()
    jwks_body = EncodedJSON()

    async def discovery_bytes() -> bytes:
        return discovery_body(discovery)

    async def jwks_bytes() -> bytes:
        return jwks_body(await ctx.keyring.jwks(ctx.db))

    return {
        DISCOVERY_PATH: Document(discovery_bytes, DISCOVERY_CACHE),
        JWKS_PATH: Document(jwks_bytes, JWKS_CACHE),
    }


def _json(body: bytes, cache_control: bytes) -> Response:
    return Response(
        body, media_type="application/json", headers={"Cache-Control": cache_control.decode()}
    )


@router.get(DISCOVERY_PATH)
async def openid_configuration(request: Request) -> Response:
    table: dict[str, Document] = request.app.state.documents
    return _json(await table[DISCOVERY_PATH].body(), DISCOVERY_CACHE)


@router.get(JWKS_PATH)
async def jwks(request: Request) -> Response:
    table: dict[str, Document] = request.app.state.documents
    return _json(await table[JWKS_PATH].body(), JWKS_CACHE)
