"""`spend_and_issue` on real SQLite (a transaction) and PostgreSQL (one statement): the
credential is spent, the grant marked used and the tokens stored together or not at all."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import String, cast, func, insert, select

from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.accounts import AccountRepository
from resonite_auth.storage.repositories.grants import (
    CodeRepository,
    GrantRepository,
    TokenRepository,
    code_by_digest,
    token_by_digest,
)
from resonite_auth.storage.repositories.spending import Credential, Spent, spend_and_issue
from resonite_auth.storage.tables import grants, tokens
from tests.support.grants import NOW, a_grant


async def a_code(ctx: Context, account_id: str, client_id: str, grant_id: str) -> str:
    code_digest = secrets.token_hex(32)
    async with ctx.db.transaction() as connection:
        await CodeRepository(connection).add(
            {
                "digest": code_digest,
                "grant_id": grant_id,
                "client_id": client_id,
                "account_id": account_id,
                "redirect_uri": "https://s.example/cb",
                "scopes": ["openid", "offline_access"],
                "code_challenge": None,
                "nonce": None,
                "auth_time": NOW,
                "amr": ["pwd"],
                "created_at": NOW,
                "expires_at": NOW + timedelta(minutes=1),
            }
        )
    return code_digest


async def spend(
    ctx: Context,
    credential: Credential,
    digest: str,
    account_id: str,
    grant_id: str,
    rows: list[dict[str, Any]],
) -> Spent:
    """One unit of work at NOW, for the grant and account the tokens belong to."""
    return await spend_and_issue(
        ctx.db,
        credential,
        digest,
        grant_id=grant_id,
        account_id=account_id,
        now=NOW,
        token_rows=rows,
    )


def token_rows(
    account_id: str, client_id: str, grant_id: str, *, refresh: bool, parent: str | None = None
) -> list[dict[str, Any]]:
    common = {
        "grant_id": grant_id,
        "client_id": client_id,
        "account_id": account_id,
        "issued_at": NOW,
        "auth_time": NOW - timedelta(minutes=5),
        "amr": ["pwd", "otp"],
        "code_digest": None,
        "absolute_expires_at": None,
        "parent_digest": None,
    }
    rows = [
        {
            **common,
            "digest": secrets.token_hex(32),
            "kind": "access",
            "scopes": ["openid"],
            "expires_at": NOW + timedelta(hours=1),
        }
    ]
    if refresh:
        rows.append(
            {
                **common,
                "digest": secrets.token_hex(32),
                "kind": "refresh",
                "scopes": ["openid", "offline_access"],
                "expires_at": NOW + timedelta(days=30),
                "absolute_expires_at": NOW + timedelta(days=90),
                "parent_digest": parent,
            }
        )
    return rows


async def count_tokens(ctx: Context, grant_id: str) -> int:
    async with ctx.db.read() as connection:
        statement = select(func.count()).select_from(tokens).where(tokens.c.grant_id == grant_id)
        return int((await connection.execute(statement)).scalar_one())


async def last_used(ctx: Context, grant_id: str) -> datetime | None:
    async with ctx.db.read() as connection:
        statement = select(grants.c.last_used_at).where(grants.c.id == grant_id)
        value: datetime | None = (await connection.execute(statement)).scalar_one()
        return value


@pytest.mark.parametrize("refresh", [True, False])
async def test_a_code_buys_tokens_once(ctx: Context, refresh: bool) -> None:
    account_id, client_id, grant_id = await a_grant(ctx)
    code = await a_code(ctx, account_id, client_id, grant_id)
    rows = token_rows(account_id, client_id, grant_id, refresh=refresh)

    async def spend_code(new_rows: list[dict[str, Any]]) -> Spent:
        return await spend(ctx, Credential.CODE, code, account_id, grant_id, new_rows)

    assert await spend_code(rows) is Spent.ISSUED
    redeemed = await code_by_digest(ctx.db, code)
    assert redeemed is not None and redeemed.redeemed_at == NOW
    assert await last_used(ctx, grant_id) == NOW
    for row in rows:  # stored as given, values typed as SQLAlchemy stores them
        stored = await token_by_digest(ctx.db, row["digest"])
        assert stored is not None
        assert (stored.kind.value, stored.scopes, stored.amr) == (
            row["kind"],
            row["scopes"],
            row["amr"],
        )
        assert (stored.expires_at, stored.absolute_expires_at, stored.auth_time) == (
            row["expires_at"],
            row["absolute_expires_at"],
            row["auth_time"],
        )
        assert stored.rotated_at is None and stored.revoked_at is None
    # A replay changes nothing.
    again = token_rows(account_id, client_id, grant_id, refresh=refresh)
    assert await spend_code(again) is Spent.ALREADY_SPENT
    assert await count_tokens(ctx, grant_id) == len(rows)


async def test_a_dead_grant_leaves_the_code_unspent(ctx: Context) -> None:
    """Revoked grant, locked account: no token, the code unspent and the grant untouched."""
    account_id, client_id, grant_id = await a_grant(ctx)
    code = await a_code(ctx, account_id, client_id, grant_id)

    async def spend_code() -> Spent:
        rows = token_rows(account_id, client_id, grant_id, refresh=True)
        return await spend(ctx, Credential.CODE, code, account_id, grant_id, rows)

    async with ctx.db.transaction() as connection:
        await AccountRepository(connection).update(account_id, is_locked=True)
    assert await spend_code() is Spent.GRANT_DEAD
    async with ctx.db.transaction() as connection:
        await AccountRepository(connection).update(account_id, is_locked=False)
        await GrantRepository(connection).revoke(grant_id, NOW)
    assert await spend_code() is Spent.GRANT_DEAD
    unspent = await code_by_digest(ctx.db, code)
    assert unspent is not None and unspent.redeemed_at is None
    assert await last_used(ctx, grant_id) is None
    assert await count_tokens(ctx, grant_id) == 0


async def test_concurrent_spenders_of_one_code_have_one_winner(ctx: Context) -> None:
    account_id, client_id, grant_id = await a_grant(ctx)
    code = await a_code(ctx, account_id, client_id, grant_id)
    outcomes = await asyncio.gather(
        *(
            spend_and_issue(
                ctx.db,
                Credential.CODE,
                code,
                grant_id=grant_id,
                account_id=account_id,
                now=NOW,
                token_rows=token_rows(account_id, client_id, grant_id, refresh=True),
            )
            for _ in range(12)
        )
    )
    assert outcomes.count(Spent.ISSUED) == 1
    assert outcomes.count(Spent.ALREADY_SPENT) == 11
    assert await count_tokens(ctx, grant_id) == 2


async def test_a_refresh_token_rotates_once(ctx: Context) -> None:
    account_id, client_id, grant_id = await a_grant(ctx)
    first = token_rows(account_id, client_id, grant_id, refresh=True)
    async with ctx.db.transaction() as connection:
        await TokenRepository(connection).add_all(first)
    refresh = first[1]["digest"]

    async def rotate(refresh_digest: str) -> Spent:
        rows = token_rows(account_id, client_id, grant_id, refresh=True, parent=refresh)
        return await spend(
            ctx, Credential.REFRESH_TOKEN, refresh_digest, account_id, grant_id, rows
        )

    outcomes = await asyncio.gather(*(rotate(refresh) for _ in range(6)))
    assert outcomes.count(Spent.ISSUED) == 1 and outcomes.count(Spent.ALREADY_SPENT) == 5
    rotated = await token_by_digest(ctx.db, refresh)
    assert rotated is not None and rotated.rotated_at == NOW
    assert await count_tokens(ctx, grant_id) == 4
    # A revoked one is spent for good.
    async with ctx.db.transaction() as connection:
        await TokenRepository(connection).revoke(first[0]["digest"], NOW)
    assert await rotate(first[0]["digest"]) is Spent.ALREADY_SPENT
    # While the account is locked the newest refresh token buys nothing, and stays unspent.
    newest = next(digest for digest in await all_refresh(ctx, grant_id) if digest != refresh)
    async with ctx.db.transaction() as connection:
        await AccountRepository(connection).update(account_id, is_locked=True)
    assert await rotate(newest) is Spent.GRANT_DEAD
    unspent = await token_by_digest(ctx.db, newest)
    assert unspent is not None and unspent.rotated_at is None
    assert await count_tokens(ctx, grant_id) == 4


async def all_refresh(ctx: Context, grant_id: str) -> list[str]:
    async with ctx.db.read() as connection:
        statement = select(tokens.c.digest).where(
            tokens.c.grant_id == grant_id, tokens.c.kind == "refresh"
        )
        return list((await connection.execute(statement)).scalars())


async def test_driver_writes_store_what_sqlalchemy_stores(ctx: Context) -> None:
    """On SQLite the token endpoint's writes are run by pysqlite with SQLAlchemy's bind
    processors: the stored text of every column is the one a SQLAlchemy execution stores (SQL
    compares timestamps as stored, so the format must not differ)."""
    account_id, client_id, grant_id = await a_grant(ctx)
    by_driver, by_sqlalchemy = token_rows(account_id, client_id, grant_id, refresh=True)
    by_sqlalchemy = {**by_driver, "digest": by_sqlalchemy["digest"]}
    async with ctx.db.transaction() as connection:
        await TokenRepository(connection).add_all([by_driver])
        await connection.execute(insert(tokens), [by_sqlalchemy])
    columns = [cast(column, String) for column in tokens.c if column.name != "digest"]
    async with ctx.db.read() as connection:
        stored = {
            row[0]: tuple(row[1:])
            for row in await connection.execute(
                select(tokens.c.digest, *columns).where(tokens.c.grant_id == grant_id)
            )
        }
    assert stored[by_driver["digest"]] == stored[by_sqlalchemy["digest"]]


async def test_a_unit_takes_an_access_token_and_at_most_one_refresh_token(ctx: Context) -> None:
    account_id, client_id, grant_id = await a_grant(ctx)
    code = await a_code(ctx, account_id, client_id, grant_id)
    two = token_rows(account_id, client_id, grant_id, refresh=True)
    for wrong in ([], [*two, *token_rows(account_id, client_id, grant_id, refresh=False)]):
        with pytest.raises(ValueError, match="at most one refresh token"):
            await spend(ctx, Credential.CODE, code, account_id, grant_id, wrong)
    unspent = await code_by_digest(ctx.db, code)  # refused before anything was written
    assert unspent is not None and unspent.redeemed_at is None
    assert await count_tokens(ctx, grant_id) == 0


async def test_a_grant_is_marked_used_to_the_minute(ctx: Context) -> None:
    """`last_used_at` is set when it is unset or a minute old, and left alone in between (on
    PostgreSQL updating it locks the grant's row, which every spending would queue behind)."""
    account_id, client_id, grant_id = await a_grant(ctx)

    async def spend_a_code_at(now: datetime) -> None:
        code = await a_code(ctx, account_id, client_id, grant_id)
        rows = token_rows(account_id, client_id, grant_id, refresh=False)
        outcome = await spend_and_issue(
            ctx.db,
            Credential.CODE,
            code,
            grant_id=grant_id,
            account_id=account_id,
            now=now,
            token_rows=rows,
        )
        assert outcome is Spent.ISSUED

    await spend_a_code_at(NOW)
    assert await last_used(ctx, grant_id) == NOW
    await spend_a_code_at(NOW + timedelta(seconds=59))
    assert await last_used(ctx, grant_id) == NOW
    await spend_a_code_at(NOW + timedelta(seconds=61))
    assert await last_used(ctx, grant_id) == NOW + timedelta(seconds=61)
