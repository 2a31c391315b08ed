"""Resolving a bearer access token for the resource endpoints (RFC 6750)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.clients import ClientStatus
from resonite_auth.domain.grants import TokenKind
from resonite_auth.errors import InsufficientScope, InvalidToken, MissingToken
from resonite_auth.security.tokens import digest
from resonite_auth.services.context import Context
from resonite_auth.storage.lookups import keyed_lookup
from resonite_auth.storage.repositories.accounts import ACCOUNT_COLUMNS, to_account
from resonite_auth.storage.tables import accounts, clients, grants, tokens


@dataclass(frozen=True, slots=True)
class Authorized:
    account: Account
    client_id: str
    scopes: list[str]


def bearer_from_header(authorization: str | None) -> str | None:
    """RFC 6750 §2.1; the query-string form is refused (RFC 9700 §4.3.2)."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


# Built once: a statement made per request costs more to build and to key for SQLAlchemy's
# compiled cache than the lookup itself costs the database.
LIVE_TOKEN = keyed_lookup(
    select(
        tokens.c.kind,
        tokens.c.scopes.label("token_scopes"),
        tokens.c.expires_at,
        tokens.c.revoked_at.label("token_revoked_at"),
        tokens.c.client_id.label("token_client_id"),
        grants.c.revoked_at.label("grant_revoked_at"),
        clients.c.status.label("client_status"),
        *ACCOUNT_COLUMNS,
    )
    .join(grants, grants.c.id == tokens.c.grant_id)
    .join(clients, clients.c.client_id == tokens.c.client_id)
    .join(accounts, accounts.c.id == tokens.c.account_id),
    tokens.c.digest,
    "digest",
)


async def authorize_bearer(ctx: Context, token: str | None, *, required_scope: str) -> Authorized:
    """The account and scopes behind a live token, checked in one query.

    Revoking the grant, suspending the client or locking the account takes effect at once.
    """
    if token is None:
        raise MissingToken("An access token is required.")
    m = await ctx.db.lookup(LIVE_TOKEN, digest(token))
    if (
        m is None
        or m["kind"] != TokenKind.ACCESS.value
        or m["token_revoked_at"] is not None
        or m["grant_revoked_at"] is not None
        or m["client_status"] != ClientStatus.APPROVED.value
        or m["is_locked"]
        or ctx.clock() >= m["expires_at"]
    ):
        raise InvalidToken("The access token is invalid, expired or revoked.")
    scopes = list(m["token_scopes"])
    if required_scope not in scopes:
        raise InsufficientScope(
            f"This resource needs the {required_scope} scope.", scope=required_scope
        )
    return Authorized(account=to_account(m), client_id=m["token_client_id"], scopes=scopes)
