"""Units of work on a SQLite file run on the event loop's thread. Two processes' writers take
turns through SQLite's lock without either blocking its loop (two Database objects on one file
stand for two worker processes: each has its own in-process writer queue)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.storage.database import Database
from resonite_auth.storage.driver import SqliteWrites
from resonite_auth.storage.inline_sqlite import InlineConnection, Writer, writer_engine
from resonite_auth.storage.migrate import upgrade
from resonite_auth.storage.tables import server_settings


@pytest.fixture
async def url(tmp_path: Path) -> str:
    address = f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}"
    database = Database(address)
    await upgrade(database)
    await database.dispose()
    return address


async def test_a_writer_waits_for_another_process_writer_and_sees_its_commit(url: str) -> None:
    first, second = Database(url), Database(url)
    holding, release = asyncio.Event(), asyncio.Event()

    async def first_writer() -> None:
        async with first.transaction() as connection:
            assert isinstance(connection, InlineConnection)
            await connection.execute(insert(server_settings).values(key="w.first", value=1))
            holding.set()
            await release.wait()  # holds SQLite's write lock across an await

    writer = asyncio.create_task(first_writer())
    await holding.wait()

    async def second_writer() -> list[str]:
        async with second.transaction() as connection:
            keys = list(await connection.scalars(select(server_settings.c.key)))
            await connection.execute(insert(server_settings).values(key="w.second", value=2))
        return keys

    waiting = asyncio.create_task(second_writer())
    # The second writer is refused by SQLite and sleeps; the loop keeps running, so the first
    # writer can go on and commit. Were the loop blocked, neither would ever finish.
    for _ in range(20):
        await asyncio.sleep(0)
    assert not waiting.done()
    release.set()
    await writer
    seen_by_second = await waiting
    assert "w.first" in seen_by_second  # it began only after the first commit
    async with first.read() as connection:
        keys = set(await connection.scalars(select(server_settings.c.key)))
    assert {"w.first", "w.second"} <= keys
    await first.dispose()
    await second.dispose()


async def test_a_writer_gives_up_with_the_lock_error_when_the_lock_never_frees(url: str) -> None:
    holder = Database(url)
    engine = writer_engine(holder.url, 1)
    writer = Writer(holder.engine, engine, SqliteWrites(engine.dialect))
    try:
        async with holder.transaction() as connection:
            await connection.execute(insert(server_settings).values(key="w.held", value=3))
            with pytest.raises(OperationalError, match="locked"):
                await writer.begin(give_up_after=0.05)
        # The refused connection was dropped, not kept half-begun: once the lock is free, the
        # same writer begins, writes and commits.
        connection, transaction = await writer.begin(give_up_after=0.05)
        with transaction:
            await connection.execute(insert(server_settings).values(key="w.after", value=6))
        writer.end(connection, cleanly=True)
        async with holder.read() as reading:
            keys = set(await reading.scalars(select(server_settings.c.key)))
        assert {"w.held", "w.after"} <= keys
    finally:
        writer.close()
        engine.dispose()
        await holder.dispose()


def _dbapi(connection: AsyncConnection) -> object:
    assert isinstance(connection, InlineConnection)
    return connection.dbapi_connection()


async def test_a_unit_that_ended_cleanly_leaves_its_connection_to_the_next(url: str) -> None:
    database = Database(url)
    assert database._inline is not None
    checkouts: list[object] = []
    event.listen(database._inline[1], "checkout", lambda *_: checkouts.append(None))
    async with database.transaction() as connection:
        first = _dbapi(connection)
        await connection.execute(insert(server_settings).values(key="w.one", value=7))
    async with database.transaction() as connection:
        assert _dbapi(connection) is first
        await connection.execute(insert(server_settings).values(key="w.two", value=8))
    assert len(checkouts) == 1  # kept from one unit to the next, not checked out anew
    with pytest.raises(RuntimeError):
        async with database.transaction() as connection:
            assert _dbapi(connection) is first
            raise RuntimeError("the unit of work failed")
    async with database.transaction() as connection:
        # After a failure the connection went back to the pool, which reset it; this unit
        # found no transaction left open and wrote normally.
        await connection.execute(insert(server_settings).values(key="w.three", value=9))
    assert len(checkouts) == 2  # the failed unit's connection was closed, not kept
    async with database.read() as reading:
        keys = set(await reading.scalars(select(server_settings.c.key)))
    assert {"w.one", "w.two", "w.three"} <= keys
    await database.dispose()


async def test_dispose_closes_the_kept_writing_connection(url: str) -> None:
    database = Database(url)
    async with database.transaction() as connection:
        await connection.execute(insert(server_settings).values(key="w.kept", value=10))
        dbapi = connection.dbapi_connection() if isinstance(connection, InlineConnection) else None
    assert isinstance(dbapi, sqlite3.Connection)
    await database.dispose()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        dbapi.execute("SELECT 1")


async def test_a_failed_write_is_rolled_back_and_the_next_one_proceeds(url: str) -> None:
    database = Database(url)
    with pytest.raises(RuntimeError):
        async with database.transaction() as connection:
            await connection.execute(insert(server_settings).values(key="w.undone", value=4))
            raise RuntimeError("the unit of work failed")
    async with database.transaction() as connection:
        await connection.execute(insert(server_settings).values(key="w.done", value=5))
    async with database.read() as connection:
        keys = set(await connection.scalars(select(server_settings.c.key)))
    assert "w.done" in keys
    assert "w.undone" not in keys
    await database.dispose()
