"""The plans PostgreSQL runs the hot statements on (storage/driver.py): one generic plan per
statement, whatever the number of keys in a batch, made anew as the tables grow, and never one
that reads a whole table."""

from __future__ import annotations

import asyncio
import secrets
import time

import asyncpg
import pytest
from sqlalchemy import text

from resonite_auth.services.bearer import LIVE_TOKEN
from resonite_auth.services.context import Context
from resonite_auth.storage.driver import PLAN_LIFETIME, PostgresHotStatements
from resonite_auth.storage.lookups import KeyedLookup
from resonite_auth.storage.repositories.grants import _CODE_BY_DIGEST
from tests.storage.test_lookups import stored_tokens
from tests.support.grants import a_grant


@pytest.fixture(scope="module")
def backend() -> str:
    """Plans are PostgreSQL's: the storage tests' `ctx` on PostgreSQL only."""
    return "postgresql"


def one_connection(ctx: Context, plan_lifetime: int = 300) -> PostgresHotStatements:
    """Hot statements on a single connection, so that what it prepared can be looked at."""
    return PostgresHotStatements(ctx.db.url, ctx.db.engine.dialect, 1, plan_lifetime)


async def prepared_batch(
    statements: PostgresHotStatements, lookup: KeyedLookup = LIVE_TOKEN
) -> tuple[str, int, int]:
    """The connection's prepared batch statement of `lookup`: its name, and how many runs used
    the generic plan and how many a plan made for their keys."""
    sql = statements._compiled.get(lookup.many).sql
    row = await statements.pool.fetchrow(
        "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements"
        " WHERE statement = $1 ORDER BY prepare_time DESC LIMIT 1",
        sql,
    )
    assert row is not None, "the batch statement is not prepared"
    return row["name"], row["generic_plans"], row["custom_plans"]


async def batch_plan(statements: PostgresHotStatements, lookup: KeyedLookup = LIVE_TOKEN) -> str:
    """The plan the connection holds for its batch statement (EXPLAIN EXECUTE shows the cached
    generic plan, whatever the keys given)."""
    name, _, _ = await prepared_batch(statements, lookup)
    rows = await statements.pool.fetch(f"EXPLAIN EXECUTE {name}(ARRAY['{secrets.token_hex(32)}'])")
    return "\n".join(row[0] for row in rows)


async def test_every_batch_runs_on_the_one_generic_plan(ctx: Context) -> None:
    digests = await stored_tokens(ctx, 12)
    statements = one_connection(ctx)
    sizes = (1, 3, 7, 12, 2, 5, 9)
    try:
        for size in sizes:
            rows = await asyncio.gather(
                *(statements.lookup(LIVE_TOKEN, digest) for digest in digests[:size])
            )
            assert all(row is not None and row["kind"] == "access" for row in rows)
        _, generic, custom = await prepared_batch(statements)
    finally:
        await statements.close()
    # PostgreSQL's default would plan the first five runs for their keys, and every later run
    # too, since a plan for a few keys looks cheaper than a generic one.
    assert (generic, custom) == (len(sizes), 0)


async def test_a_plan_made_on_a_small_table_is_made_anew_once_it_has_grown(
    ctx: Context,
) -> None:
    digests = await stored_tokens(ctx, 3)
    async with ctx.db.transaction() as connection:
        # Only this test's ANALYZE: an automatic one would remake the plan by itself.
        await connection.execute(text("ALTER TABLE tokens SET (autovacuum_enabled = false)"))
        await connection.execute(text("ANALYZE tokens"))
    statements = one_connection(ctx, plan_lifetime=PLAN_LIFETIME)
    try:
        prepared_at = time.monotonic()
        assert await statements.lookup(LIVE_TOKEN, digests[0]) is not None
        # A handful of rows: reading them all (here by another index, since the connection
        # reads no table whole) is the cheapest plan, and the right one.
        assert not by_primary_key(await batch_plan(statements))

        async with ctx.db.transaction() as connection:  # 20,000 more rows, no ANALYZE
            await connection.execute(
                text(
                    "INSERT INTO tokens (digest, kind, grant_id, client_id, account_id, scopes,"
                    " issued_at, expires_at, amr)"
                    " SELECT md5(n || 'a') || md5(n || 'b'), kind, grant_id, client_id,"
                    " account_id, scopes, issued_at, expires_at, amr"
                    " FROM (SELECT * FROM tokens LIMIT 1) AS model, generate_series(1, 20000) n"
                )
            )
        # Within the plan's lifetime PostgreSQL keeps it, however large the table is now.
        assert time.monotonic() - prepared_at < PLAN_LIFETIME, "the insert outlasted the plan"
        assert not by_primary_key(await batch_plan(statements))

        await asyncio.sleep(prepared_at + PLAN_LIFETIME + 1 - time.monotonic())
        assert await statements.lookup(LIVE_TOKEN, digests[1]) is not None
        plan = await batch_plan(statements)
    finally:
        await statements.close()
    assert by_primary_key(plan), plan


def by_primary_key(plan: str, table: str = "tokens") -> bool:
    """Whether the plan finds the batch's rows of `table` by its primary key."""
    return f"Index Scan using pk_{table} on {table}" in plan or (
        f"Bitmap Index Scan on pk_{table}" in plan
    )


async def test_no_plan_reads_a_whole_table(ctx: Context) -> None:
    """A batch's generic plan assumes ten keys; on a table of some hundreds of rows (as the
    authorization codes of a minute are) PostgreSQL prices a scan below ten index probes, and
    the scan compares every row's key. The hot connections find the rows by the key."""
    account_id, client_id, grant_id = await a_grant(ctx)
    async with ctx.db.transaction() as connection:
        await connection.execute(
            text(
                "INSERT INTO authorization_codes (digest, grant_id, client_id, account_id,"
                " redirect_uri, scopes, auth_time, amr, created_at, expires_at)"
                " SELECT md5(n || 'c') || md5(n || 'd'), :grant_id, :client_id, :account_id,"
                " 'https://s.example/cb', '[\"openid\"]', now(), '[\"pwd\"]', now(),"
                " now() + interval '1 minute' FROM generate_series(1, 800) n"
            ),
            {"grant_id": grant_id, "client_id": client_id, "account_id": account_id},
        )
        await connection.execute(text("ANALYZE authorization_codes"))
        codes = (
            await connection.execute(text("SELECT count(*) FROM authorization_codes"))
        ).scalar()
    assert codes == 800
    statements = one_connection(ctx)
    try:
        # PostgreSQL's own choice for this generic plan, on a connection without the setting:
        # the scan (what this test guards against, so it can tell).
        plain = await asyncpg.connect(
            statements.dsn, server_settings={"plan_cache_mode": "force_generic_plan"}
        )
        try:
            sql = statements._compiled.get(_CODE_BY_DIGEST.many).sql
            await plain.execute(f"PREPARE batch AS {sql}")
            rows = await plain.fetch(f"EXPLAIN EXECUTE batch(ARRAY['{secrets.token_hex(32)}'])")
        finally:
            await plain.close()
        assert "Seq Scan on authorization_codes" in "\n".join(row[0] for row in rows)

        assert await statements.lookup(_CODE_BY_DIGEST, secrets.token_hex(32)) is None
        plan = await batch_plan(statements, _CODE_BY_DIGEST)
    finally:
        await statements.close()
    assert "Seq Scan" not in plan, plan
    assert by_primary_key(plan, "authorization_codes"), plan
