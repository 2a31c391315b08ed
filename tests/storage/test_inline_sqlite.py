"""Units of work on a SQLite file run on the event loop's thread. Two processes' writers take
turns through SQLite's lock without either blocking its loop (two Database objects on one file
stand for two worker processes: each has its own in-process writer queue)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError

from resonite_auth.storage.database import Database
from resonite_auth.storage.inline_sqlite import InlineConnection, begin_immediate, writer_engine
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
    try:
        async with holder.transaction() as connection:
            await connection.execute(insert(server_settings).values(key="w.held", value=3))
            with pytest.raises(OperationalError, match="locked"):
                await begin_immediate(engine, give_up_after=0.05)
    finally:
        engine.dispose()
        await holder.dispose()


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
