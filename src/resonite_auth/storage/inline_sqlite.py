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

from sqlalchemy import CursorResult, Engine, Executable, ScalarResult, Select, create_engine, event
from sqlalchemy.engine import URL, Connection, RootTransaction
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

    @property
    def sync(self) -> Connection:
        """The synchronous connection underneath."""
        return self._proxied

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


async def first(
    connection: AsyncConnection, statement: Select[Any], parameters: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The first row of a read in a unit of work, as `run`: in an inline SQLite unit, pysqlite
    runs it directly; elsewhere, SQLAlchemy."""
    if isinstance(connection, InlineConnection) and connection.writes is not None:
        return connection.writes.first(connection.dbapi_connection(), statement, parameters)
    row = (await connection.execute(statement, parameters)).first()
    return None if row is None else row._mapping


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
    `Writer.begin`."""
    engine = _engine(url, pool_size, busy_seconds=0, query_only=False)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Sent by pysqlite itself: SQLAlchemy's execution path costs more than the statement.
        dbapi_connection = connection.connection.dbapi_connection
        assert dbapi_connection is not None
        try:
            dbapi_connection.cursor().execute("BEGIN IMMEDIATE").close()
        except sqlite3.OperationalError as error:
            raise OperationalError("BEGIN IMMEDIATE", None, error) from error

    return engine


class Writer:
    """This process's writing connection, kept checked out from one unit of work to the next.

    A process's units of work take turns (Database's writer queue), so one connection serves
    them all; keeping it spares each unit the pool's checkout and check-in and a new
    AsyncConnection proxy, which together cost more than BEGIN IMMEDIATE and COMMIT themselves
    (measured in-process, an empty unit of work: 38-46 -> 16-17 µs of CPU, BEGIN IMMEDIATE sent
    by pysqlite included). A connection is kept only after its unit ended cleanly; any other way
    out closes it, back to the pool, which resets it.
    """

    def __init__(self, async_engine: AsyncEngine, engine: Engine, writes: SqliteWrites) -> None:
        self._async_engine = async_engine
        self._engine = engine
        self._writes = writes
        self._kept: InlineConnection | None = None

    async def begin(self, give_up_after: float) -> tuple[InlineConnection, RootTransaction]:
        """A connection inside a write transaction, and that transaction.

        While another process writes, SQLite refuses at once (busy timeout 0) and this
        coroutine sleeps before asking again, so the loop keeps serving other requests; after
        `give_up_after` seconds the refusal is raised.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + give_up_after
        pause = FIRST_PAUSE
        while True:
            connection, self._kept = self._kept or self._connect(), None
            try:
                return connection, connection.sync.begin()
            except OperationalError as error:
                # Dropped, not kept: SQLAlchemy leaves the begin bookkeeping of a connection whose
                # begin event failed unfinished.
                connection.sync.close()
                if "locked" not in str(error.orig) or loop.time() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    def end(self, connection: InlineConnection, *, cleanly: bool) -> None:
        """After a unit: keep its connection for the next one, or close it."""
        if cleanly and self._kept is None:
            self._kept = connection
        else:
            connection.sync.close()

    def close(self) -> None:
        if self._kept is not None:
            self._kept.sync.close()
            self._kept = None

    def _connect(self) -> InlineConnection:
        return InlineConnection(self._async_engine, self._engine.connect(), self._writes)


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
