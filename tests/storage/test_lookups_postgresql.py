"""PostgreSQL's keyed lookups (storage/lookups.py, storage/coalescing.py) on a real server: the
lookups a worker's requests ask for at the same time share one statement, planned on the
primary key; a statement the server refuses fails its own requests and nothing after them."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import Column, MetaData, String, Table, select

from resonite_auth.services.bearer import LIVE_TOKEN
from resonite_auth.services.clients import NewClient, create_client
from resonite_auth.services.context import Context
from resonite_auth.storage.driver import PostgresHotStatements
from resonite_auth.storage.lookups import keyed_lookup
from resonite_auth.storage.repositories.clients import (
    _SECRET_OWNER,
    ClientRepository,
    authenticating_client,
)
from tests.storage.test_lookups import stored_tokens


@pytest.fixture(scope="module")
def backend() -> str:
    """Batches are PostgreSQL's: the storage tests' `ctx` on PostgreSQL only."""
    return "postgresql"


def hot(ctx: Context) -> PostgresHotStatements:
    statements = ctx.db._hot
    assert isinstance(statements, PostgresHotStatements)
    return statements


async def test_lookups_asked_at_the_same_time_share_a_statement(ctx: Context) -> None:
    digests = await stored_tokens(ctx, 30)
    await ctx.db.lookup(LIVE_TOKEN, digests[0])  # the lookup's coalescer now exists
    coalescer = hot(ctx)._coalescers[LIVE_TOKEN]
    before = coalescer.batches
    rows = await asyncio.gather(*(ctx.db.lookup(LIVE_TOKEN, d) for d in digests))
    assert [None if row is None else row["kind"] for row in rows] == ["access"] * 30
    # Asked in one turn of the event loop: they all go in the first statement.
    assert coalescer.batches - before == 1


async def test_client_authentications_at_the_same_time_share_a_statement(ctx: Context) -> None:
    """A busy application's token requests all prove the one secret: a worker's that ask at
    the same time are answered by one statement, and a revocation counts for the next."""
    client_id = (
        await create_client(ctx, NewClient("Busy", ["https://b.example/cb"], ["openid"], True))
    ).client.client_id
    secret_digest, now = secrets.token_hex(32), datetime.now(UTC)
    async with ctx.db.transaction() as connection:
        await ClientRepository(connection).add_secret(client_id, secret_digest, now)
    assert await authenticating_client(ctx.db, client_id, secret_digest, now) is not None
    coalescer = hot(ctx)._coalescers[_SECRET_OWNER]
    before = coalescer.batches
    found = await asyncio.gather(
        *(authenticating_client(ctx.db, client_id, secret_digest, now) for _ in range(20))
    )
    proved = [None if f is None else (f[0].client_id, f[1]) for f in found]
    assert proved == [(client_id, True)] * 20
    assert coalescer.batches - before == 1
    async with ctx.db.transaction() as connection:
        await ClientRepository(connection).revoke_secrets(client_id, now)
    revoked = await authenticating_client(ctx.db, client_id, secret_digest, now)
    assert revoked is not None and revoked[1] is False


async def test_a_batch_with_its_keys_is_planned_on_the_primary_key(ctx: Context) -> None:
    """The plan PostgreSQL makes for a batch when it knows the keys (EXPLAIN with the keys bound
    plans with their values): each found by the primary key and joined by primary keys. The
    generic plan the hot connections actually run is tested in test_hot_plans_postgresql.py."""
    statements = hot(ctx)
    sql = statements._compiled.get(LIVE_TOKEN.many).sql
    connection = await asyncpg.connect(statements.dsn)
    try:
        rows = await connection.fetch("EXPLAIN " + sql, [secrets.token_hex(32)])
    finally:
        await connection.close()
    plan = "\n".join(row[0] for row in rows)
    assert "Index Scan using pk_tokens on tokens" in plan
    for table in ("tokens", "grants", "accounts"):
        assert f"Seq Scan on {table}" not in plan, plan


async def test_a_refused_statement_fails_its_own_requests_only(ctx: Context) -> None:
    missing = Table("no_such_table", MetaData(), Column("key", String, primary_key=True))
    broken = keyed_lookup(select(missing), missing.c.key, "key")
    digests = await stored_tokens(ctx, 3)
    asked = [ctx.db.lookup(broken, str(n)) for n in range(5)]
    asked += [ctx.db.lookup(LIVE_TOKEN, digest) for digest in digests]
    results = await asyncio.gather(*asked, return_exceptions=True)
    assert all(isinstance(result, asyncpg.UndefinedTableError) for result in results[:5])
    assert all(isinstance(result, dict) for result in results[5:])
    with pytest.raises(asyncpg.UndefinedTableError):  # the next batch is tried anew
        await ctx.db.lookup(broken, "again")
    assert await ctx.db.lookup(LIVE_TOKEN, digests[0]) is not None
