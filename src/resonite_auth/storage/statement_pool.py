"""A pool of asyncpg connections for single statements in autocommit.

asyncpg's own pool wraps every checkout in a timeout, a shield and a connection holder with
idle-timer bookkeeping: about 20 µs of CPU per query here (measured: a one-row SELECT through
`Pool.fetchrow` 30 µs, through the connection itself 11 µs). The hot lookups need none of it: a
statement holds its connection for one round trip and leaves nothing behind (no transaction, SET
or LISTEN), so an idle connection is simply kept in a list until the next statement.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class StatementPool:
    """At most `max_size` connections, opened on demand; a statement waits for a free one.
    `close()` closes them all, as SQLAlchemy's `dispose()` does: a later statement opens anew."""

    def __init__(self, connect: Connect, max_size: int) -> None:
        if max_size < 1:
            raise ValueError("a pool needs room for one connection")
        self._connect = connect
        self.max_size = max_size
        self._idle: list[asyncpg.Connection] = []
        self._open = 0  # connections open or being opened
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._in_use: set[asyncpg.Connection] = set()
        self._retiring: set[asyncpg.Connection] = set()  # in use when the pool was closed

    @property
    def size(self) -> int:
        return self._open

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._run(asyncpg.Connection.fetchrow, sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._run(asyncpg.Connection.fetch, sql, args)

    async def _run(self, method: Callable[..., Awaitable[T]], sql: str, args: tuple[Any, ...]) -> T:
        connection = await self._acquire()
        try:
            result = await method(connection, sql, *args)
        except asyncpg.PostgresError as error:
            # The server refused the statement and said so: the connection is as good as before
            # (autocommit leaves no failed transaction behind), unless the error ends it.
            if _ends_the_connection(error):
                self._discard(connection)
            else:
                self._release(connection)
            raise
        except BaseException:
            # Lost, or cancelled mid-statement: what the connection holds is unknown.
            self._discard(connection)
            raise
        self._release(connection)
        return result

    async def close(self) -> None:
        self._retiring |= self._in_use
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        for connection in idle:
            await connection.close()

    async def _acquire(self) -> asyncpg.Connection:
        woken = False
        while True:
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():  # the server may have ended it meanwhile
                    self._in_use.add(connection)
                    return connection
                self._open -= 1
            if self._open < self.max_size:
                self._open += 1
                try:
                    connection = await self._connect()
                    self._in_use.add(connection)
                    return connection
                except BaseException:
                    self._open -= 1
                    self._wake_one()
                    raise
            waiter = asyncio.get_running_loop().create_future()
            # Woken, but another statement took the connection first: still first in line.
            (self._waiting.appendleft if woken else self._waiting.append)(waiter)
            try:
                await waiter
                woken = True
            except asyncio.CancelledError:
                if waiter in self._waiting:
                    self._waiting.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake_one()  # the turn it was given goes to the next in line
                raise

    def _release(self, connection: asyncpg.Connection) -> None:
        self._in_use.discard(connection)
        if connection in self._retiring:
            self._discard(connection)
            return
        self._idle.append(connection)
        self._wake_one()

    def _discard(self, connection: asyncpg.Connection) -> None:
        self._in_use.discard(connection)
        self._retiring.discard(connection)
        connection.terminate()
        self._open -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        """The longest waiting statement looks again: a connection is free, or room to open one."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _ends_the_connection(error: asyncpg.PostgresError) -> bool:
    """SQLSTATE class 08 (connection exception) and 57P (the server shutting down or ending
    this backend: `pg_terminate_backend`, a restart)."""
    sqlstate = str(getattr(error, "sqlstate", "") or "")
    return sqlstate.startswith(("08", "57P"))
