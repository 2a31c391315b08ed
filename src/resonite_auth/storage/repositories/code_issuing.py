"""Storing a new authorization code under the person's remembered consent, as one atomic unit.

The code is stored only if the person's live grant to the client covers every requested scope,
checked in the unit that inserts the code (the exchange checks the grant again, so a code stored
just before a revocation buys nothing). When the code ends a pending interaction (the sign-in and
consent pages), the interaction is removed in the same unit: exactly one of two concurrent
submissions gets a code.

On PostgreSQL, a code issued straight from the authorization request (no interaction, the hot
path of a signed-in person coming back to an application) is one statement: an INSERT … SELECT
from the covering grant is atomic by itself, so it needs no BEGIN and COMMIT, and costs one round
trip instead of four. Elsewhere, and with an interaction, it is a transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, Select, bindparam, cast, func, insert, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB

from resonite_auth.storage.database import Database
from resonite_auth.storage.repositories.grants import CodeRepository, GrantRepository
from resonite_auth.storage.repositories.sessions import InteractionRepository
from resonite_auth.storage.tables import authorization_codes, grants


class CodeIssue(enum.Enum):
    ISSUED = "issued"
    NOT_CONSENTED = "not consented"  # no live grant covering the scopes: nothing written
    INTERACTION_GONE = "interaction gone"  # expired, or finished by another request


# Every column a new code row names, except the grant, which the unit finds.
CODE_COLUMNS = [
    column.name
    for column in authorization_codes.c
    if column.name not in ("grant_id", "redeemed_at")
]


async def add_code_under_grant(
    db: Database, code: Mapping[str, Any], *, interaction_id: str | None
) -> CodeIssue:
    """Store `code` (every column of CODE_COLUMNS) under the live grant of its account to its
    client, if that grant covers the code's scopes; ending `interaction_id` if given."""
    missing, unexpected = set(CODE_COLUMNS) - set(code), set(code) - set(CODE_COLUMNS)
    if missing or unexpected:
        raise ValueError(
            f"a code row names exactly the code's columns; missing: {sorted(missing)}, "
            f"unexpected: {sorted(unexpected)}"
        )
    if interaction_id is None and db.is_postgresql:
        outcome = await db.one_statement(_ADD_UNDER_COVERING_GRANT, _parameters(code))
        return CodeIssue.ISSUED if outcome["issued"] == 1 else CodeIssue.NOT_CONSENTED
    return await _in_a_transaction(db, code, interaction_id)


class _Undo(Exception):
    """Raised inside the transaction to roll it back (the interaction stays pending)."""


async def _in_a_transaction(
    db: Database, code: Mapping[str, Any], interaction_id: str | None
) -> CodeIssue:
    try:
        async with db.transaction() as connection:
            if interaction_id is not None and not await InteractionRepository(connection).finish(
                interaction_id
            ):
                return CodeIssue.INTERACTION_GONE
            grant = await GrantRepository(connection).active_for(
                code["account_id"], code["client_id"]
            )
            if grant is None or not grant.covers(code["scopes"]):
                raise _Undo
            await CodeRepository(connection).add({**code, "grant_id": grant.id})
    except _Undo:
        return CodeIssue.NOT_CONSENTED
    return CodeIssue.ISSUED


def _parameters(code: Mapping[str, Any]) -> dict[str, Any]:
    return {f"code_{name}": value for name, value in code.items()}


def _build() -> Select[Any]:
    # jsonb containment of two arrays of strings: every requested scope is in the grant.
    requested = cast(bindparam("code_scopes", type_=JSON), JSONB)
    covering_grant = (
        select(grants.c.id)
        .where(
            grants.c.account_id == bindparam("code_account_id"),
            grants.c.client_id == bindparam("code_client_id"),
            grants.c.revoked_at.is_(None),
            cast(grants.c.scopes, JSONB).contains(requested),
        )
        .limit(literal_column("1"))  # a bound LIMIT would be one more parameter to pass
        .subquery("covering_grant")
    )
    row = select(
        *(
            bindparam(f"code_{name}", type_=authorization_codes.c[name].type).label(name)
            for name in CODE_COLUMNS
        ),
        covering_grant.c.id,
    )
    added = (
        insert(authorization_codes)
        .from_select([*CODE_COLUMNS, "grant_id"], row)
        .returning(authorization_codes.c.digest)
        .cte("added")
    )
    return select(func.count().label("issued")).select_from(added)


_ADD_UNDER_COVERING_GRANT = _build()
