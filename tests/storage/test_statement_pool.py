"""The pool behind the hot lookups on PostgreSQL (storage/statement_pool.py), on a real server:
connections are reused and bounded; a refused statement keeps its connection, a lost or
cancelled one does not; waiting statements get their turn; close() starts afresh."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest

from resonite_auth.storage.statement_pool import StatementPool
from tests.support.databases import POSTGRES_ADMIN_URL

DSN = POSTGRES_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
PID = "SELECT pg_backend_pid() AS pid"


async def connect() -> asyncpg.Connection:
    return await asyncpg.connect(DSN)


@pytest.fixture
async def pool() -> AsyncIterator[StatementPool]:
    statements = StatementPool(connect, max_size=2)
    yield statements
    await statements.close()


async def pid(pool: StatementPool, sql: str = PID) -> int:
    record = await pool.fetchrow(sql)
    assert record is not None
    return int(record["pid"])


async def terminate(backend_pid: int) -> None:
    admin = await connect()
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", backend_pid)
    finally:
        await admin.close()


async def test_one_connection_serves_statements_one_after_another(pool: StatementPool) -> None:
    pids = {await pid(pool) for _ in range(20)}
    assert len(pids) == 1 and pool.size == 1
    record = await pool.fetchrow("SELECT $1::text AS value, 2 AS n", "x")
    assert record is not None and (record["value"], record["n"]) == ("x", 2)


async def test_concurrent_statements_share_at_most_max_size_connections(
    pool: StatementPool,
) -> None:
    slow = "SELECT pg_sleep(0.05), pg_backend_pid() AS pid"
    pids = await asyncio.gather(*(pid(pool, slow) for _ in range(8)))
    assert len(set(pids)) == 2 and pool.size == 2  # the other six waited their turn


async def test_a_refused_statement_keeps_its_connection(pool: StatementPool) -> None:
    before = await pid(pool)
    with pytest.raises(asyncpg.DivisionByZeroError):
        await pool.fetchrow("SELECT 1 / 0")
    with pytest.raises(asyncpg.UndefinedTableError):
        await pool.fetchrow("SELECT * FROM no_such_table")
    assert await pid(pool) == before and pool.size == 1


async def test_a_connection_the_server_ended_is_replaced(pool: StatementPool) -> None:
    ended = await pid(pool)
    await terminate(ended)
    await asyncio.sleep(0.2)  # the client notices the end of the connection
    replacement = await pid(pool)
    assert replacement != ended and pool.size == 1


async def test_a_statement_on_a_lost_connection_fails_alone(pool: StatementPool) -> None:
    ended = await pid(pool)
    await terminate(ended)
    # Sent at once, before the client noticed: it may meet the server's goodbye (57P01), the
    # lost connection, or asyncpg's protocol still busy with the goodbye; whichever, the
    # connection is dropped, not kept.
    lost = (asyncpg.AdminShutdownError, asyncpg.InterfaceError, asyncpg.InternalClientError)
    with contextlib.suppress(*lost, OSError):
        await pool.fetchrow("SELECT 1")
    assert await pid(pool) != ended  # the next statement gets a live connection
    assert pool.size == 1


async def test_a_cancelled_statement_takes_its_connection_with_it(pool: StatementPool) -> None:
    sleeper = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(10)"))
    await asyncio.sleep(0.2)
    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper
    assert pool.size == 0  # its state was unknown: closed, not reused
    assert await pid(pool) > 0


async def test_a_statement_cancelled_while_waiting_leaves_the_line() -> None:
    pool = StatementPool(connect, max_size=1)
    try:
        busy = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(0.3)"))
        await asyncio.sleep(0.1)
        impatient = asyncio.create_task(pid(pool))
        patient = asyncio.create_task(pid(pool))
        await asyncio.sleep(0.05)
        impatient.cancel()
        await busy
        assert await asyncio.wait_for(patient, 5) > 0
        assert impatient.cancelled() and pool.size == 1
    finally:
        await pool.close()


async def test_close_ends_every_connection_and_a_later_statement_opens_anew(
    pool: StatementPool,
) -> None:
    first = await pid(pool)
    in_flight = asyncio.create_task(pid(pool, "SELECT pg_sleep(0.2), pg_backend_pid() AS pid"))
    await asyncio.sleep(0.05)
    await pool.close()
    assert pool.size == 1  # the statement in flight still has its connection
    await in_flight
    assert pool.size == 0  # and closed it when done
    assert await pid(pool) not in (first, in_flight.result())


def test_a_pool_needs_room_for_one_connection() -> None:
    with pytest.raises(ValueError, match="room for one"):
        StatementPool(connect, max_size=0)


async def test_fetch_returns_every_row_and_keeps_its_connection(pool: StatementPool) -> None:
    before = await pid(pool)
    records = await pool.fetch("SELECT n FROM unnest($1::int[]) AS n ORDER BY n", [3, 1, 2])
    assert [record["n"] for record in records] == [1, 2, 3]
    assert await pool.fetch("SELECT 1 WHERE false") == []
    with pytest.raises(asyncpg.DivisionByZeroError):
        await pool.fetch("SELECT 1 / 0")
    assert await pid(pool) == before and pool.size == 1
