"""`POST /connect/introspect` (RFC 7662): is this token active, and what does it carry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from resonite_auth.domain.clients import Client, ClientStatus
from resonite_auth.domain.grants import TokenKind
from resonite_auth.errors import InvalidClient
from resonite_auth.oauth.metadata import INTROSPECTION_PATH
from resonite_auth.oauth.params import Params
from resonite_auth.security.tokens import digest
from resonite_auth.services.clients import authenticate_client, read_credentials
from resonite_auth.services.context import Context
from resonite_auth.storage.lookups import keyed_lookup
from resonite_auth.storage.tables import accounts, clients, grants, tokens

INACTIVE: dict[str, Any] = {"active": False}


async def introspect(ctx: Context, params: Params, authorization: str | None) -> dict[str, Any]:
    params.check_no_repeats()
    credentials = read_credentials(params, authorization)
    if credentials.method == "none":
        # §2.1: the endpoint requires authentication; a public client has none to offer.
        raise InvalidClient("Introspection needs client authentication.")
    client = await authenticate_client(
        ctx, credentials, endpoint=ctx.settings.url(INTROSPECTION_PATH)
    )
    token = params.require("token")  # token_type_hint (§2.1) is optional; one lookup serves
    row = await _token_state(ctx, digest(token))
    if row is None or not _may_see(client, row) or not _is_active(row, ctx.clock()):
        return INACTIVE  # §2.2: nothing more about tokens that are not active or not theirs
    return {
        "active": True,
        "scope": " ".join(row["scopes"]),
        "client_id": row["client_id"],
        "username": row["username"],
        "sub": row["account_id"],
        "exp": int(row["expires_at"].timestamp()),
        "iat": int(row["issued_at"].timestamp()),
        "token_type": "Bearer" if row["kind"] == TokenKind.ACCESS.value else "refresh_token",
        "iss": ctx.settings.issuer,
    }


def _may_see(client: Client, row: Mapping[Any, Any]) -> bool:
    """A client sees its own tokens; a client flagged as resource server sees any."""
    return client.is_resource_server or row["client_id"] == client.client_id


def _is_active(row: Mapping[Any, Any], now: datetime) -> bool:
    absolute = row["absolute_expires_at"]
    return (
        row["revoked_at"] is None
        and row["grant_revoked_at"] is None
        and row["client_status"] == ClientStatus.APPROVED.value
        and not row["is_locked"]
        and now < row["expires_at"]
        and (absolute is None or now < absolute)
        and (row["kind"] != TokenKind.REFRESH.value or row["rotated_at"] is None)
    )


# Built once, run with the digest as a parameter: no statement building per request.
_TOKEN_STATE = keyed_lookup(
    select(
        tokens,
        grants.c.revoked_at.label("grant_revoked_at"),
        clients.c.status.label("client_status"),
        accounts.c.username,
        accounts.c.is_locked,
    )
    .join(grants, grants.c.id == tokens.c.grant_id)
    .join(clients, clients.c.client_id == tokens.c.client_id)
    .join(accounts, accounts.c.id == tokens.c.account_id),
    tokens.c.digest,
    "token_digest",
)


async def _token_state(ctx: Context, token_digest: str) -> Mapping[Any, Any] | None:
    return await ctx.db.lookup(_TOKEN_STATE, token_digest)
