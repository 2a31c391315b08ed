"""Hot statements run by the database driver itself: the lookups behind every API call, token
and authorization request, and the writes of the token endpoint (on SQLite inside its
transaction; on PostgreSQL its one-statement unit, in autocommit).

For a primary-key lookup or a one-row write, SQLAlchemy's execution and row layers cost more
than the statement (measured, profile API, worker CPU per request: SQLite 0.21 -> 0.11 ms;
PostgreSQL 0.41 -> 0.30 ms for the execution layer alone). Each statement is still written with
SQLAlchemy and compiled once by its dialect; rows come out with the values a SQLAlchemy
execution gives. Reads take text parameters as they are; writes pass theirs through SQLAlchemy's
bind processors, so they store what a SQLAlchemy execution stores.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson
from sqlalchemy import Engine, Executable, Select
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.pool import PoolProxiedConnection

from resonite_auth.storage.coalescing import Coalescer
from resonite_auth.storage.lookups import KEYS_PARAMETER, LOOKUP_KEY, KeyedLookup
from resonite_auth.storage.statement_pool import StatementPool

if TYPE_CHECKING:
    from sqlalchemy.sql.type_api import _BindProcessorType, _ResultProcessorType


def decode_json(text: str | bytes) -> Any:
    """A JSON column's value: JSON columns (scopes, tags, badges) are decoded on every lookup,
    and orjson reads a short array in a tenth of the standard library's time. Every engine and
    connection decodes with it; values are still written by the standard library's encoder.

    Anything but text raises TypeError, as `json.loads` does: SQLite hands a JSON number back as
    a number (the column has numeric affinity), which SQLAlchemy's SQLite dialect then returns
    as it is when the decoder raises TypeError.
    """
    if not isinstance(text, str | bytes):
        raise TypeError(f"JSON text must be str or bytes, not {type(text).__name__}")
    return orjson.loads(text)


# A column of a result: its key in the row, and SQLAlchemy's processor for its type.
_Column = tuple[str, "_ResultProcessorType[Any] | None"]


@dataclass(frozen=True)
class _Prepared:
    statement: Executable  # kept, so that its id is not reused while cached
    sql: str
    names: list[str]  # parameter names, in positional order
    binds: list[_BindProcessorType[Any] | None]  # SQLAlchemy's processor per parameter
    columns: list[_Column]  # a select's result columns

    def bound(self, parameters: Mapping[str, Any]) -> list[Any]:
        """The positional values, as a SQLAlchemy execution would send them."""
        return [
            value if process is None else process(value)
            for process, value in zip(
                self.binds, (parameters[name] for name in self.names), strict=True
            )
        ]

    def row(self, values: Sequence[Any]) -> dict[str, Any]:
        """A result row as a SQLAlchemy execution gives it: its columns' result processors
        applied (datetimes parsed and tagged UTC, JSON decoded, booleans)."""
        return {
            name: value if process is None else process(value)
            for (name, process), value in zip(self.columns, values, strict=True)
        }


def _first_row(
    connection: sqlite3.Connection, prepared: _Prepared, values: Sequence[Any]
) -> dict[str, Any] | None:
    cursor = connection.execute(prepared.sql, values)
    try:
        row = cursor.fetchone()
    finally:
        # Resets the statement at once: a statement left stepping would keep its read snapshot
        # open, and the next lookup would not see a revocation committed since.
        cursor.close()
    return None if row is None else prepared.row(row)


class _Compiled:
    """Statements compiled once per dialect, by the statement's identity (and, for an INSERT
    run with rows, the columns the rows name)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._known: dict[tuple[int, tuple[str, ...] | None], _Prepared] = {}

    def get(self, statement: Executable, column_keys: tuple[str, ...] | None = None) -> _Prepared:
        known = self._known.get((id(statement), column_keys))
        if known is None or known.statement is not statement:
            known = self._known[(id(statement), column_keys)] = self._prepare(
                statement, column_keys
            )
        return known

    def _prepare(self, statement: Executable, column_keys: tuple[str, ...] | None) -> _Prepared:
        compiled = statement.compile(  # type: ignore[attr-defined]
            dialect=self.dialect, column_keys=list(column_keys) if column_keys else None
        )
        names = list(compiled.positiontup or [])
        binds = [compiled.binds[name].type._cached_bind_processor(self.dialect) for name in names]
        columns = [
            (str(column.key), column.type._cached_result_processor(self.dialect, None))
            for column in getattr(statement, "selected_columns", ())
        ]
        return _Prepared(statement, str(compiled), names, binds, columns)


class SqliteHotReads:
    """pysqlite on the event loop's thread; rows pass through the per-column result processors
    SQLAlchemy applies (datetimes parsed and tagged UTC, JSON decoded, booleans). One connection
    is enough: a statement runs to completion before the loop moves on."""

    def __init__(self, reader: Engine) -> None:
        self.reader = reader
        self._compiled = _Compiled(reader.dialect)
        self._checked_out: PoolProxiedConnection | None = None

    async def first(
        self, statement: Select[Any], parameters: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        prepared = self._compiled.get(statement)
        values = [parameters[name] for name in prepared.names]
        return _first_row(self._connection(), prepared, values)

    async def close(self) -> None:
        if self._checked_out is not None:
            self._checked_out.close()  # back to the reader pool, which its engine disposes of
            self._checked_out = None

    def _connection(self) -> sqlite3.Connection:
        if self._checked_out is None:
            # A reader pool's connection, so with its pragmas (query_only included), checked
            # out for as long as this object lives.
            self._checked_out = self.reader.raw_connection()
        connection = self._checked_out.dbapi_connection
        assert isinstance(connection, sqlite3.Connection)
        return connection


class SqliteWrites:
    """The hot statements of an inline SQLite unit of work (see inline_sqlite), its writes and
    the reads it makes before them, run by pysqlite on the unit's own connection, so inside its
    transaction."""

    def __init__(self, dialect: Dialect) -> None:
        self._compiled = _Compiled(dialect)

    def first(
        self, connection: sqlite3.Connection, statement: Select[Any], parameters: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The first row of a select, as SqliteHotReads.first gives it."""
        prepared = self._compiled.get(statement)
        return _first_row(connection, prepared, prepared.bound(parameters))

    def run(
        self, connection: sqlite3.Connection, statement: Executable, parameters: Mapping[str, Any]
    ) -> int:
        """Run one statement; the number of rows it changed."""
        prepared = self._compiled.get(statement)
        cursor = connection.execute(prepared.sql, prepared.bound(parameters))
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def run_many(
        self,
        connection: sqlite3.Connection,
        statement: Executable,
        rows: Sequence[Mapping[str, Any]],
    ) -> None:
        """Run an INSERT once per row; every row names the same columns."""
        prepared = self._compiled.get(statement, tuple(rows[0]))
        connection.executemany(prepared.sql, [prepared.bound(row) for row in rows]).close()


# How long a hot statement stays prepared on a connection, so how long its plan lives (seconds).
PLAN_LIFETIME = 5
# The planner settings of the hot connections (see PostgresHotStatements).
HOT_SETTINGS = {"plan_cache_mode": "force_generic_plan", "enable_seqscan": "off"}


class PostgresHotStatements:
    """Lookups on asyncpg connections of their own (`StatementPool`), beside SQLAlchemy's: a
    checkout from SQLAlchemy's pool passes through its greenlet bridge and reset-on-return,
    which cost as much as the query. A lookup holds a connection for one statement only, so a
    small pool serves a worker's whole load. JSON arrives decoded (the codecs SQLAlchemy sets
    on its own connections) and timestamptz as aware UTC datetimes, as from SQLAlchemy.

    Plans: every statement here finds its rows by a primary or unique key, so one generic plan
    fits every value, and the connections make no other (`plan_cache_mode`): a batch, whose
    number of keys varies, would otherwise be planned afresh on every run. A plan is made from
    the tables' size when it is made, and PostgreSQL keeps it until the next ANALYZE, however
    much a table grows meanwhile: a plan made while `tokens` held a few rows scans the table
    (measured: profile API, PostgreSQL CPU 25 -> 340 µs per request once `tokens` grew to 20,000
    rows). So statements are prepared anew every `plan_lifetime` seconds, and each new plan sees
    the tables as they are (the planner reads a table's current number of pages).

    And no plan here reads a whole table (`enable_seqscan = off`): a generic plan of a batch
    assumes ten keys, and for ten the planner finds a scan cheaper than ten index probes on a
    table of up to some 2,000 rows, while in fact the scan compares every row's key (measured:
    the code exchange's lookup of one code, 81 µs on 821 codes by a scan, 12 µs by the primary
    key, as auto_explain timed them). Authorization codes live a minute, so their table stays
    that small on many a real server."""

    def __init__(
        self, url: URL, dialect: Dialect, max_size: int, plan_lifetime: int = PLAN_LIFETIME
    ) -> None:
        self.dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.plan_lifetime = plan_lifetime
        self._compiled = _Compiled(dialect)
        self.pool = StatementPool(self._connect, max_size)
        self._coalescers: dict[KeyedLookup, Coalescer[str, dict[str, Any]]] = {}

    async def first(
        self, statement: Select[Any], parameters: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        prepared = self._compiled.get(statement)
        args = (parameters[name] for name in prepared.names)
        record = await self.pool.fetchrow(prepared.sql, *args)
        return None if record is None else dict(record.items())

    async def lookup(self, lookup: KeyedLookup, key: str) -> dict[str, Any] | None:
        """The row of `key`, fetched together with the keys other requests of this worker ask
        for meanwhile (storage/coalescing.py)."""
        coalescer = self._coalescers.get(lookup)
        if coalescer is None:
            coalescer = self._coalescers[lookup] = Coalescer(self._batch_fetcher(lookup))
        return await coalescer.get(key)

    def _batch_fetcher(
        self, lookup: KeyedLookup
    ) -> Callable[[list[str]], Awaitable[dict[str, dict[str, Any]]]]:
        prepared = self._compiled.get(lookup.many)
        if prepared.names != [KEYS_PARAMETER]:
            raise ValueError("a keyed lookup binds its keys and nothing else")

        async def fetch(keys: list[str]) -> dict[str, dict[str, Any]]:
            rows = {}
            for record in await self.pool.fetch(prepared.sql, keys):
                row = dict(record.items())
                rows[row.pop(LOOKUP_KEY)] = row
            return rows

        return fetch

    async def one(self, statement: Select[Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
        """The one row of a statement that may write (a data-modifying CTE), in autocommit; its
        parameters pass through SQLAlchemy's bind processors, as in an execution."""
        prepared = self._compiled.get(statement)
        record = await self.pool.fetchrow(prepared.sql, *prepared.bound(parameters))
        if record is None:
            raise LookupError("the statement returned no row")
        return dict(record.items())

    async def close(self) -> None:
        for coalescer in self._coalescers.values():
            await coalescer.close()
        await self.pool.close()

    async def _connect(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(
            self.dsn,
            max_cached_statement_lifetime=self.plan_lifetime,
            server_settings=HOT_SETTINGS,
        )
        try:
            await _json_codecs(connection)
        except BaseException:
            connection.terminate()
            raise
        return connection


async def _json_codecs(connection: asyncpg.Connection) -> None:
    # Text format, as SQLAlchemy's own codecs: a JSON parameter arrives as text already (its
    # bind processor serialised it), a JSON value leaves decoded.
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=str, decoder=decode_json, schema="pg_catalog"
        )
