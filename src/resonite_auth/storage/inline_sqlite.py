"""SQLite statements run inline, on the event loop's thread.

A statement on a local SQLite file takes tens of microseconds; handing each one to aiosqlite's
worker thread and back costs more than that (measured: a third of the profile API's CPU, and
most of the authorization endpoint's). So units of work on a SQLite file use synchronous
pysqlite connections behind the AsyncConnection API. Nothing here may wait on the loop's
thread: pools never block, and a writer that finds another process's writer in the way is
refused at once by SQLite and waits its turn with `asyncio.sleep`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import CursorResult, Engine, Executable, ScalarResult, create_engine, event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

from resonite_auth.storage.driver import SqliteWrites, decode_json

# A read waits only in rare recovery cases in WAL mode
# (https://sqlite.org/wal.html#sometimes_queries_return_sqlite_busy_in_wal_mode); it then blocks
# the loop at most this long.
READ_BUSY_SECONDS = 5
# Pauses between attempts to take the write lock from another process: short first, since
# write transactions last well under a millisecond.
FIRST_PAUSE, LONGEST_PAUSE = 0.0005, 0.01


class InlineConnection(AsyncConnection):
    """The AsyncConnection API over a synchronous connection: each statement runs to
    completion on the calling thread, without a greenlet switch or a worker thread. `writes`
    runs a unit's hot writes by pysqlite itself (see `run`)."""

    def __init__(
        self,
        async_engine: AsyncEngine,
        sync_connection: Connection,
        writes: SqliteWrites | None = None,
    ) -> None:
        super().__init__(async_engine, sync_connection)
        self.writes = writes

    def dbapi_connection(self) -> sqlite3.Connection:
        connection = self._proxied.connection.dbapi_connection
        assert isinstance(connection, sqlite3.Connection)
        return connection

    async def execute(
        self,
        statement: Executable,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> CursorResult[Any]:
        return self._proxied.execute(statement, parameters, execution_options=execution_options)

    async def scalar(
        self,
        statement: Executable,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> Any:
        return self._proxied.scalar(statement, parameters, execution_options=execution_options)

    async def scalars(
        self,
        statement: Executable,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> ScalarResult[Any]:
        return self._proxied.scalars(statement, parameters, execution_options=execution_options)

    async def exec_driver_sql(
        self,
        statement: str,
        parameters: Any = None,
        execution_options: Any = None,
    ) -> CursorResult[Any]:
        return self._proxied.exec_driver_sql(statement, parameters, execution_options)


async def run(
    connection: AsyncConnection, statement: Executable, parameters: Mapping[str, Any]
) -> int:
    """A write statement of a unit of work; the number of rows it changed. In an inline SQLite
    unit, pysqlite runs it directly (see storage/driver.py); elsewhere, SQLAlchemy."""
    if isinstance(connection, InlineConnection) and connection.writes is not None:
        return connection.writes.run(connection.dbapi_connection(), statement, parameters)
    return (await connection.execute(statement, parameters)).rowcount


async def run_many(
    connection: AsyncConnection, statement: Executable, rows: Sequence[Mapping[str, Any]]
) -> None:
    """An INSERT of `rows` (each naming the same columns) in a unit of work, as `run`."""
    if isinstance(connection, InlineConnection) and connection.writes is not None:
        connection.writes.run_many(connection.dbapi_connection(), statement, rows)
        return
    await connection.execute(statement, list(rows))


def reader_engine(url: URL, pool_size: int) -> Engine:
    """Reads: autocommit, so a read holds no lock beyond its own statement; `query_only`, so
    SQLite itself refuses a write made through a read unit."""
    return _engine(url, pool_size, busy_seconds=READ_BUSY_SECONDS, query_only=True)


def writer_engine(url: URL, pool_size: int) -> Engine:
    """Writes: BEGIN IMMEDIATE takes the write lock up front (a deferred transaction that reads
    then writes would fail when another writer got there first); no busy wait, see
    `begin_immediate`."""
    engine = _engine(url, pool_size, busy_seconds=0, query_only=False)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def begin_immediate(engine: Engine, give_up_after: float) -> tuple[Connection, Any]:
    """A connection inside a write transaction, and that transaction.

    While another process writes, SQLite refuses at once (busy timeout 0) and this coroutine
    sleeps before asking again, so the loop keeps serving other requests; after
    `give_up_after` seconds the refusal is raised.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    pause = FIRST_PAUSE
    while True:
        connection = engine.connect()
        try:
            return connection, connection.begin()
        except OperationalError as error:
            connection.close()
            if "locked" not in str(error.orig) or loop.time() >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)


def _engine(url: URL, pool_size: int, *, busy_seconds: int, query_only: bool) -> Engine:
    # The pool never blocks (unbounded overflow): a checkout that waited would stop the very
    # loop that returns connections. Connections are checked out and in on one thread at a
    # time, though not always the thread that opened them.
    engine = create_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": busy_seconds, "check_same_thread": False},
        json_deserializer=decode_json,
        pool_size=pool_size,
        max_overflow=-1,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's events send BEGIN, not pysqlite
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_seconds * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if query_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    return engine
