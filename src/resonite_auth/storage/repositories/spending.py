"""Spending a single-use credential (an authorization code, a refresh token) and storing what it
buys (new tokens), as one atomic unit.

Three things happen together or not at all: the credential is marked spent, unless it already
was (exactly one of any number of concurrent callers wins, RFC 6749 §4.1.2 and §10.4); the grant
is found live (not revoked, its account there and not locked) and marked used; the new tokens
are inserted.

On PostgreSQL the unit is one statement (data-modifying CTEs): a single statement is atomic by
itself, so it needs no BEGIN and COMMIT, and the whole unit costs one round trip instead of five
(measured, code exchange: see bench/RESULTS.md). Elsewhere it is a transaction of three
statements.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE

from resonite_auth.storage.database import Database
from resonite_auth.storage.repositories.grants import (
    CodeRepository,
    GrantRepository,
    TokenRepository,
    grant_is_live,
    stale,
    stale_before,
)
from resonite_auth.storage.tables import authorization_codes, grants, tokens
from resonite_auth.storage.types import UTCDateTime


class Credential(enum.Enum):
    CODE = "authorization code"
    REFRESH_TOKEN = "refresh token"


class Spent(enum.Enum):
    ISSUED = "issued"  # spent now, grant marked used, tokens stored
    ALREADY_SPENT = "already spent"  # nothing changed: a replay, or a concurrent caller won
    GRANT_DEAD = "grant dead"  # no tokens: the grant is revoked, or its account locked or gone


async def spend_and_issue(
    db: Database,
    credential: Credential,
    credential_digest: str,
    *,
    grant_id: str,
    account_id: str,
    now: datetime,
    token_rows: Sequence[dict[str, Any]],
) -> Spent:
    """Spend the credential and store `token_rows` (an access token, and a refresh token or
    not; every row names the same columns), if and only if the grant is live."""
    if not 1 <= len(token_rows) <= len(_ROW_PREFIXES):
        raise ValueError("an access token, and at most one refresh token")
    unit = _Unit(credential, credential_digest, grant_id, account_id, now, token_rows)
    if db.is_postgresql:
        return await _in_one_statement(db, unit)
    return await _in_a_transaction(db, unit)


@dataclass(frozen=True)
class _Unit:
    credential: Credential
    credential_digest: str
    grant_id: str
    account_id: str
    now: datetime
    token_rows: Sequence[dict[str, Any]]


class _GrantDead(Exception):
    """Raised inside the unit of work to roll the spending back."""


async def _in_a_transaction(db: Database, unit: _Unit) -> Spent:
    try:
        async with db.transaction() as connection:
            if unit.credential is Credential.CODE:
                spent = await CodeRepository(connection).redeem(unit.credential_digest, unit.now)
            else:
                spent = await TokenRepository(connection).rotate(unit.credential_digest, unit.now)
            if not spent:
                return Spent.ALREADY_SPENT
            grants_ = GrantRepository(connection)
            if not await grants_.use_if_live(unit.grant_id, unit.account_id, unit.now):
                raise _GrantDead  # rolls the spending back: the credential stays unspent
            await TokenRepository(connection).add_all(list(unit.token_rows))
    except _GrantDead:
        return Spent.GRANT_DEAD
    return Spent.ISSUED


async def _in_one_statement(db: Database, unit: _Unit) -> Spent:
    parameters: dict[str, Any] = {
        "now": unit.now,
        "credential_digest": unit.credential_digest,
        "live_grant_id": unit.grant_id,
        "live_account_id": unit.account_id,
        "stale_before": stale_before(unit.now),
    }
    for prefix, row in zip(_ROW_PREFIXES, unit.token_rows, strict=False):  # length checked
        parameters.update({f"{prefix}{name}": row[name] for name in _TOKEN_COLUMNS})
    statement = _STATEMENTS[(unit.credential, len(unit.token_rows))]
    outcome = await db.one_statement(statement, parameters)
    # In the order the transaction of the other databases finds them.
    if not outcome["unspent"]:
        return Spent.ALREADY_SPENT
    if not outcome["live"]:
        # Dead as the snapshot saw it, or revoked while this unit waited for the grant's row:
        # the spending required the locked live grant, so nothing changed.
        return Spent.GRANT_DEAD
    if not outcome["spent"]:
        return Spent.ALREADY_SPENT  # a concurrent caller spent it first
    assert outcome["issued"] == len(unit.token_rows)
    return Spent.ISSUED


# --- the PostgreSQL statements, built once per credential and number of tokens ---------------

# Every column a new token row names (see services/issuing.py); the rest start NULL.
_TOKEN_COLUMNS = [
    column.name for column in tokens.c if column.name not in ("rotated_at", "revoked_at")
]
_ROW_PREFIXES = ("access_", "refresh_")
_NOW = bindparam("now", type_=UTCDateTime())


def _unspent(credential: Credential) -> ColumnElement[bool]:
    """The credential exists and can still be spent."""
    if credential is Credential.CODE:
        return and_(
            authorization_codes.c.digest == bindparam("credential_digest"),
            authorization_codes.c.redeemed_at.is_(None),
        )
    return and_(
        tokens.c.digest == bindparam("credential_digest"),
        tokens.c.rotated_at.is_(None),
        tokens.c.revoked_at.is_(None),
    )


def _build(credential: Credential, token_count: int) -> Select[Any]:
    # The grant's row is locked first, in share mode: a revocation of the grant updates that row,
    # so it waits for this unit to commit (and then revokes the tokens it stored), or this unit
    # waits for the revocation and READ COMMITTED checks the liveness again on the row as
    # revoked. Units under one grant share the lock, so they no longer queue behind each other's
    # commit. Grant first, then the credential's row: the order a revocation takes them in, so
    # the two cannot deadlock.
    live = select(grants.c.id).where(grant_is_live()).with_for_update(read=True).cte("live")
    # Spent only under the locked live grant, so that a dead grant leaves the credential unspent.
    if credential is Credential.CODE:
        spend = (
            update(authorization_codes)
            .where(_unspent(credential), exists(select(live.c.id)))
            .values(redeemed_at=_NOW)
            .returning(authorization_codes.c.digest)
        )
    else:
        spend = (
            update(tokens)
            .where(_unspent(credential), exists(select(live.c.id)))
            .values(rotated_at=_NOW)
            .returning(tokens.c.digest)
        )
    spent = spend.cte("spent")
    touched = _touch(spent).cte("touched")
    rows = [
        select(
            *(
                bindparam(f"{prefix}{name}", type_=tokens.c[name].type).label(name)
                for name in _TOKEN_COLUMNS
            )
        ).where(exists(select(spent.c.digest)))
        for prefix in _ROW_PREFIXES[:token_count]
    ]
    issued = (
        insert(tokens)
        .from_select(_TOKEN_COLUMNS, rows[0] if len(rows) == 1 else union_all(*rows))
        .returning(tokens.c.digest)
        .cte("issued")
    )
    return select(
        select(func.count()).select_from(live).scalar_subquery().label("live"),
        select(func.count()).select_from(spent).scalar_subquery().label("spent"),
        # Not read: named so that SQLAlchemy puts the CTE in the statement (PostgreSQL runs a
        # data-modifying CTE whether or not its rows are read).
        select(func.count()).select_from(touched).scalar_subquery().label("touched"),
        select(func.count()).select_from(issued).scalar_subquery().label("issued"),
        # As the statement's snapshot saw it, before any of its changes:
        exists().where(_unspent(credential)).label("unspent"),
    )


def _touch(spent: CTE) -> Update:
    """Set the grant's `last_used_at` if it is stale, when the credential was spent.

    Only if no other unit holds the row (SKIP LOCKED): waiting would queue the units under one
    grant again, and two units that both hold the share lock and both wait to update the row
    would deadlock. Under steady concurrent use a touch may be skipped, and a later one makes it.
    """
    candidate = grants.alias("candidate")
    touchable = (
        select(candidate.c.id)
        .where(
            candidate.c.id == bindparam("live_grant_id"),
            stale(candidate.c.last_used_at),
            exists(select(spent.c.digest)),
        )
        .with_for_update(key_share=True, skip_locked=True)  # FOR NO KEY UPDATE SKIP LOCKED
    )
    return (
        update(grants)
        .where(grants.c.id.in_(touchable))
        .values(last_used_at=_NOW)
        .returning(grants.c.id)
    )


_STATEMENTS = {
    (credential, count): _build(credential, count) for credential in Credential for count in (1, 2)
}
