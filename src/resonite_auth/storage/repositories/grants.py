"""Grants and what is issued under them: authorization codes and tokens (digests only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, false, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.schema import Column

from resonite_auth.domain.grants import Grant, IssuedCode, TokenKind, TokenRecord
from resonite_auth.storage.database import Database
from resonite_auth.storage.inline_sqlite import first, run, run_many
from resonite_auth.storage.lookups import keyed_lookup
from resonite_auth.storage.tables import accounts, authorization_codes, clients, grants, tokens
from resonite_auth.storage.types import UTCDateTime

# The authorization and token endpoints' statements, built once and run with parameters: no
# statement building nor cache-key generation per request. (Bind names must not be column names
# of an UPDATE's table: SQLAlchemy keeps those for the SET clause.)
_NOW = bindparam("now", type_=UTCDateTime())
_GRANT_BY_ID = select(grants).where(grants.c.id == bindparam("grant_id"))
_ACTIVE_GRANT = select(grants).where(
    grants.c.account_id == bindparam("account_id"),
    grants.c.client_id == bindparam("client_id"),
    grants.c.revoked_at.is_(None),
)
_INSERT_CODE = insert(authorization_codes)


def grant_is_live() -> ColumnElement[bool]:
    """The grant `live_grant_id` is not revoked, and its account `live_account_id` exists and
    is not locked: a condition on a row of `grants` (of an UPDATE of it, or of a query)."""
    return and_(
        grants.c.id == bindparam("live_grant_id"),
        grants.c.revoked_at.is_(None),
        exists().where(
            accounts.c.id == bindparam("live_account_id"), accounts.c.is_locked == false()
        ),
    )


# A grant's `last_used_at` is kept to this precision (the connected applications page shows the
# minute): a spending sets it only when it is older. On PostgreSQL the update is a row lock
# that every spending under the grant would otherwise queue behind (repositories/spending.py).
LAST_USED_PRECISION = timedelta(minutes=1)


def stale_before(now: datetime) -> datetime:
    """The `stale_before` parameter of `stale` for a spending at `now`."""
    return now - LAST_USED_PRECISION


def stale(last_used_at: Column[Any] | ColumnElement[Any]) -> ColumnElement[bool]:
    """A grant's `last_used_at` is unset, or older than the parameter `stale_before`."""
    return or_(
        last_used_at.is_(None), last_used_at < bindparam("stale_before", type_=UTCDateTime())
    )


_USE_LIVE_GRANT = (
    update(grants)
    .where(grant_is_live())
    .values(last_used_at=case((stale(grants.c.last_used_at), _NOW), else_=grants.c.last_used_at))
)
_CODE_BY_DIGEST = keyed_lookup(
    select(authorization_codes), authorization_codes.c.digest, "code_digest"
)
_REDEEM_CODE = (
    update(authorization_codes)
    .where(
        authorization_codes.c.digest == bindparam("code_digest"),
        authorization_codes.c.redeemed_at.is_(None),
    )
    .values(redeemed_at=_NOW)
)
_INSERT_TOKEN = insert(tokens)
_TOKEN_BY_DIGEST = keyed_lookup(select(tokens), tokens.c.digest, "token_digest")
_ROTATE_TOKEN = (
    update(tokens)
    .where(
        tokens.c.digest == bindparam("token_digest"),
        tokens.c.rotated_at.is_(None),
        tokens.c.revoked_at.is_(None),
    )
    .values(rotated_at=_NOW)
)


async def code_by_digest(db: Database, code_digest: str) -> IssuedCode | None:
    """The code with this digest, by the driver (Database.lookup): read before the exchange's
    write unit, which redeems it atomically."""
    m = await db.lookup(_CODE_BY_DIGEST, code_digest)
    return None if m is None else _code(m)


async def token_by_digest(db: Database, token_digest: str) -> TokenRecord | None:
    """The token with this digest, by the driver (Database.lookup)."""
    m = await db.lookup(_TOKEN_BY_DIGEST, token_digest)
    return None if m is None else _token(m)


class GrantRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def active_for(self, account_id: str, client_id: str) -> Grant | None:
        parameters = {"account_id": account_id, "client_id": client_id}
        m = await first(self._db, _ACTIVE_GRANT, parameters)
        return None if m is None else _grant(m)

    async def by_id(self, grant_id: str) -> Grant | None:
        row = (await self._db.execute(_GRANT_BY_ID, {"grant_id": grant_id})).first()
        return _grant(row._mapping) if row else None

    async def add(self, values: dict[str, Any]) -> None:
        await self._db.execute(insert(grants).values(**values))

    async def set_scopes(self, grant_id: str, scopes: list[str], now: datetime) -> None:
        await self._db.execute(
            update(grants).where(grants.c.id == grant_id).values(scopes=scopes, updated_at=now)
        )

    async def mark_used(self, grant_id: str, now: datetime) -> None:
        await self._db.execute(
            update(grants).where(grants.c.id == grant_id).values(last_used_at=now)
        )

    async def use_if_live(self, grant_id: str, account_id: str, now: datetime) -> bool:
        """Mark the grant used (`last_used_at`, when stale) if it is live: not revoked,
        `account_id` exists, not locked. False, and nothing changed, when it is not.

        One statement checks and marks. It serves the databases whose writers take turns
        (SQLite); PostgreSQL spends in one statement of its own (repositories/spending.py).
        """
        parameters = {
            "live_grant_id": grant_id,
            "live_account_id": account_id,
            "now": now,
            "stale_before": stale_before(now),
        }
        return await run(self._db, _USE_LIVE_GRANT, parameters) == 1

    async def revoke(self, grant_id: str, now: datetime) -> None:
        """Revoke the grant and every token under it, in one place (DESIGN: Flow state)."""
        await self._db.execute(
            update(grants)
            .where(grants.c.id == grant_id, grants.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await self._db.execute(
            update(tokens)
            .where(tokens.c.grant_id == grant_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


@dataclass(frozen=True, slots=True)
class ConnectedApp:
    """A live grant as the person sees it on the connected applications page."""

    grant_id: str
    client_id: str
    client_name: str
    scopes: list[str]
    granted_at: datetime
    last_used_at: datetime | None


class ConnectedAppRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def for_account(self, account_id: str) -> list[ConnectedApp]:
        query = (
            select(grants, clients.c.name)
            .join(clients, clients.c.client_id == grants.c.client_id)
            .where(grants.c.account_id == account_id, grants.c.revoked_at.is_(None))
            .order_by(grants.c.created_at.desc())
        )
        return [
            ConnectedApp(
                grant_id=m["id"],
                client_id=m["client_id"],
                client_name=m["name"],
                scopes=list(m["scopes"]),
                granted_at=m["created_at"],
                last_used_at=m["last_used_at"],
            )
            for m in (row._mapping for row in await self._db.execute(query))
        ]


class CodeRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, values: dict[str, Any]) -> None:
        await run_many(self._db, _INSERT_CODE, [values])

    async def redeem(self, code_digest: str, now: datetime) -> bool:
        """Mark the code used. Exactly one caller gets True, however many race (RFC 6749 §4.1.2)."""
        return await run(self._db, _REDEEM_CODE, {"code_digest": code_digest, "now": now}) == 1


class TokenRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add_all(self, rows: list[dict[str, Any]]) -> None:
        """Insert tokens in one executemany; every row must name the same columns."""
        await run_many(self._db, _INSERT_TOKEN, rows)

    async def by_digest(self, token_digest: str) -> TokenRecord | None:
        row = (await self._db.execute(_TOKEN_BY_DIGEST.one, {"token_digest": token_digest})).first()
        return _token(row._mapping) if row else None

    async def rotate(self, token_digest: str, now: datetime) -> bool:
        """Mark a refresh token used; exactly one concurrent caller gets True."""
        return await run(self._db, _ROTATE_TOKEN, {"token_digest": token_digest, "now": now}) == 1

    async def revoke(self, token_digest: str, now: datetime) -> int:
        result = await self._db.execute(
            update(tokens)
            .where(tokens.c.digest == token_digest, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount

    async def revoke_all_of_grant(self, grant_id: str, now: datetime) -> int:
        """Every token of one grant, leaving the consent itself in place (RFC 7009 §2.1)."""
        result = await self._db.execute(
            update(tokens)
            .where(tokens.c.grant_id == grant_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount

    async def revoke_refresh_for_account(self, account_id: str, now: datetime) -> int:
        """After a password change: no refresh token of the account keeps working."""
        result = await self._db.execute(
            update(tokens)
            .where(
                tokens.c.account_id == account_id,
                tokens.c.kind == TokenKind.REFRESH.value,
                tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return result.rowcount

    async def revoke_issued_from_code(self, code_digest: str, now: datetime) -> int:
        result = await self._db.execute(
            update(tokens)
            .where(tokens.c.code_digest == code_digest, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount


def _grant(m: Mapping[Any, Any]) -> Grant:
    return Grant(
        id=m["id"],
        account_id=m["account_id"],
        client_id=m["client_id"],
        scopes=list(m["scopes"]),
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
    )


def _code(m: Mapping[Any, Any]) -> IssuedCode:
    return IssuedCode(
        digest=m["digest"],
        grant_id=m["grant_id"],
        client_id=m["client_id"],
        account_id=m["account_id"],
        redirect_uri=m["redirect_uri"],
        scopes=list(m["scopes"]),
        code_challenge=m["code_challenge"],
        nonce=m["nonce"],
        auth_time=m["auth_time"],
        amr=list(m["amr"]),
        expires_at=m["expires_at"],
        redeemed_at=m["redeemed_at"],
    )


def _token(m: Mapping[Any, Any]) -> TokenRecord:
    return TokenRecord(
        digest=m["digest"],
        kind=TokenKind(m["kind"]),
        grant_id=m["grant_id"],
        client_id=m["client_id"],
        account_id=m["account_id"],
        scopes=list(m["scopes"]),
        issued_at=m["issued_at"],
        expires_at=m["expires_at"],
        absolute_expires_at=m["absolute_expires_at"],
        auth_time=m["auth_time"],
        amr=list(m["amr"]),
        revoked_at=m["revoked_at"],
        rotated_at=m["rotated_at"],
    )
