"""Engine and the unit of work. Only the app factory and the CLI create a Database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from resonite_auth.storage.driver import (
    PostgresHotStatements,
    SqliteHotReads,
    SqliteWrites,
    decode_json,
)
from resonite_auth.storage.inline_sqlite import (
    InlineConnection,
    Writer,
    reader_engine,
    writer_engine,
)
from resonite_auth.storage.lookups import KeyedLookup

SQLITE_BUSY_SECONDS = 30  # how long a writer waits for the write lock before giving up


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        pre_ping: bool = False,
        pool_recycle: int = 1800,
    ) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        # SQLite has one writer at a time. Writers of this process wait their turn here, in
        # order, instead of in SQLite's busy handler, which sleeps with growing back-off and
        # lets a late writer overtake (measured, 1 worker, 16 connections: code exchange p99
        # 1.9 s -> 0.16 s).
        self._writer = asyncio.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            _ensure_sqlite_folder(self.url.database)
            pooling = {} if _in_memory(self.url.database) else _pool_args(pool_size)
            self.engine: AsyncEngine = create_async_engine(
                self.url,
                connect_args={"timeout": SQLITE_BUSY_SECONDS},
                json_deserializer=decode_json,
                **pooling,
            )
            _configure_sqlite(self.engine)
        else:
            # No pre-ping by default: it costs a round trip on every checkout, i.e. on every
            # request. A connection that died with the server is detected on its first use;
            # SQLAlchemy then invalidates the whole pool, so one request fails, not many.
            self.engine = create_async_engine(
                self.url,
                pool_pre_ping=pre_ping,
                pool_recycle=pool_recycle,
                json_deserializer=decode_json,
                **_pool_args(pool_size),
            )
        # Reads share the pool, in autocommit: on SQLite the driver is in autocommit already
        # (isolation_level=None, see _configure_sqlite) and the flag tells the begin hook to
        # send no BEGIN; on PostgreSQL the driver is told not to open a transaction.
        read_options: dict[str, Any] = (
            {"resonite_readonly": True} if self.is_sqlite else {"isolation_level": "AUTOCOMMIT"}
        )
        self._reader = self.engine.execution_options(**read_options)
        # Units of work on a SQLite file run inline, on the event loop's thread (see
        # inline_sqlite); aiosqlite remains for an in-memory database and for migrations.
        self.is_postgresql = self.url.get_backend_name() == "postgresql"
        self._inline: tuple[Engine, Engine] | None = None
        self._inline_writer: Writer | None = None
        # Hot lookups run by the driver itself (see `first` and `lookup`).
        self._hot: SqliteHotReads | PostgresHotStatements | None = None
        if self.is_sqlite and not _in_memory(self.url.database):
            self._inline = (reader_engine(self.url, pool_size), writer_engine(self.url, 2))
            self._hot = SqliteHotReads(self._inline[0])
            writes = SqliteWrites(self._inline[1].dialect)
            self._inline_writer = Writer(self.engine, self._inline[1], writes)
        elif self.is_postgresql:
            self._hot = PostgresHotStatements(self.url, self.engine.dialect, max(pool_size // 2, 2))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One atomic unit of work: committed on success, rolled back on any exception."""
        if self._writer is None:
            async with self.engine.begin() as connection:
                yield connection
            return
        async with asyncio.timeout(SQLITE_BUSY_SECONDS):
            await self._writer.acquire()
        try:
            if self._inline_writer is None:
                async with self.engine.begin() as connection:
                    yield connection
                return
            inline, transaction = await self._inline_writer.begin(SQLITE_BUSY_SECONDS)
            cleanly = False
            try:
                with transaction:  # commits on success, rolls back on any exception
                    yield inline
                cleanly = True
            finally:
                self._inline_writer.end(inline, cleanly=cleanly)
        finally:
            self._writer.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only unit: it takes no lock and opens no transaction.

        Each statement sees the data committed when it starts, as every statement of a
        READ COMMITTED transaction (PostgreSQL's default) does anyway; leaving out BEGIN and
        COMMIT saves two round trips per read on PostgreSQL, a worker-thread hop on SQLite.
        """
        if self._inline is None:
            async with self._reader.connect() as connection:
                yield connection
            return
        sync_connection = self._inline[0].connect()
        try:
            yield InlineConnection(self.engine, sync_connection)
        finally:
            sync_connection.close()

    async def one_statement(
        self, statement: Select[Any], parameters: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """PostgreSQL: the one row of a unit of work that is one statement, run in autocommit by
        the driver (storage/driver.py). A statement is atomic by itself, so the unit needs no
        BEGIN and COMMIT round trips."""
        if not isinstance(self._hot, PostgresHotStatements):
            raise RuntimeError("single-statement units of work are for PostgreSQL")
        return await self._hot.one(statement, parameters)

    async def first(
        self, statement: Select[Any], parameters: Mapping[str, str | None]
    ) -> Mapping[str, Any] | None:
        """The first row of a hot read-only query, run by the driver itself (see storage/driver.py);
        the row is the one a SQLAlchemy execution gives. Parameters: text or None only."""
        if self._hot is not None:
            return await self._hot.first(statement, parameters)
        async with self.read() as connection:  # an in-memory SQLite database
            row = (await connection.execute(statement, parameters)).first()
        return None if row is None else row._mapping

    async def lookup(self, lookup: KeyedLookup, key: str) -> Mapping[str, Any] | None:
        """The row of a keyed lookup (storage/lookups.py). On PostgreSQL, lookups of one kind
        that a worker's requests ask for at the same time go in one statement; each still
        starts after its request asked, so it sees what was committed before."""
        if isinstance(self._hot, PostgresHotStatements):
            return await self._hot.lookup(lookup, key)
        return await self.first(lookup.one, {lookup.parameter: key})

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        if self._hot is not None:
            await self._hot.close()
        if self._inline_writer is not None:
            self._inline_writer.close()
        for engine in self._inline or ():
            engine.dispose()
        await self.engine.dispose()


def _pool_args(pool_size: int) -> dict[str, int]:
    """A pool as large as the requests one worker has in flight, and a small overflow.

    A connection opened beyond the pool size is closed again on return, so a pool smaller than
    the load reconnects all the time (measured: a fifth more CPU per request at 16 connections).
    """
    return {"pool_size": pool_size, "max_overflow": max(pool_size // 2, 1)}


def _in_memory(database: str | None) -> bool:
    return not database or database == ":memory:" or "mode=memory" in database


def _ensure_sqlite_folder(database: str | None) -> None:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE for writers.

    A deferred transaction that reads then writes fails at once with SQLITE_BUSY when another
    writer got there first; taking the write lock up front makes writers queue instead.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("resonite_readonly", False):
            return  # reads run in autocommit: no transaction, no lock (see Database.read)
        connection.exec_driver_sql("BEGIN IMMEDIATE")
