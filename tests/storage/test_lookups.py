"""Keyed lookups (storage/lookups.py) on real SQLite and PostgreSQL: each request gets its own
row and sees what was committed before it asked. PostgreSQL's batches:
test_lookups_postgresql.py."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from sqlalchemy import select

from resonite_auth.services.bearer import LIVE_TOKEN
from resonite_auth.services.context import Context
from resonite_auth.storage.lookups import keyed_lookup
from resonite_auth.storage.repositories.grants import TokenRepository
from resonite_auth.storage.tables import tokens
from tests.storage.test_spending import token_rows
from tests.support.grants import NOW, a_grant


async def stored_tokens(ctx: Context, count: int) -> list[str]:
    """`count` access tokens (their digests) under one live grant."""
    account_id, client_id, grant_id = await a_grant(ctx)
    rows = [
        row
        for _ in range(count)
        for row in token_rows(account_id, client_id, grant_id, refresh=False)
    ]
    async with ctx.db.transaction() as connection:
        await TokenRepository(connection).add_all(rows)
    return [row["digest"] for row in rows]


async def test_a_lookup_gives_the_row_the_single_statement_gives(ctx: Context) -> None:
    (digest,) = await stored_tokens(ctx, 1)
    row = await ctx.db.lookup(LIVE_TOKEN, digest)
    single = await ctx.db.first(LIVE_TOKEN.one, {"digest": digest})
    assert row is not None and row == single
    assert row["kind"] == "access" and row["token_revoked_at"] is None
    assert await ctx.db.lookup(LIVE_TOKEN, secrets.token_hex(32)) is None


async def test_concurrent_lookups_each_get_their_own_row(ctx: Context) -> None:
    digests = await stored_tokens(ctx, 40)
    unknown = [secrets.token_hex(32) for _ in range(5)]
    asked = digests + unknown + digests[:3]  # some asked twice at once
    rows = await asyncio.gather(*(ctx.db.lookup(LIVE_TOKEN, d) for d in asked))
    found = [row for row in rows if row is not None]
    assert len(found) == 43
    async with ctx.db.read() as connection:
        for digest, row in zip(asked, rows, strict=True):
            expected = (
                await connection.execute(
                    select(tokens.c.scopes, tokens.c.expires_at).where(tokens.c.digest == digest)
                )
            ).first()
            if expected is None:
                assert row is None
            else:
                assert row is not None
                assert (row["token_scopes"], row["expires_at"]) == tuple(expected)


async def test_a_revocation_counts_for_the_very_next_lookup(ctx: Context) -> None:
    digests = await stored_tokens(ctx, 8)
    before = await asyncio.gather(*(ctx.db.lookup(LIVE_TOKEN, d) for d in digests))
    assert all(row is not None and row["token_revoked_at"] is None for row in before)
    async with ctx.db.transaction() as connection:
        await TokenRepository(connection).revoke(digests[0], NOW)
    after = await asyncio.gather(*(ctx.db.lookup(LIVE_TOKEN, d) for d in digests))
    assert after[0] is not None and after[0]["token_revoked_at"] == NOW
    assert all(row is not None and row["token_revoked_at"] is None for row in after[1:])


def test_only_a_unique_column_keys_a_lookup() -> None:
    with pytest.raises(ValueError, match="not a unique column"):
        keyed_lookup(select(tokens), tokens.c.grant_id, "grant_id")
