"""Lookups by key that wait together for one round trip.

On PostgreSQL every request of the profile API, userinfo and introspection looks its token up
in the database, so that a revocation counts on the very next request. Each lookup on its own
costs a round trip: a wake-up of the worker and of a database backend, per request. Under load
many requests of one worker wait for their lookup at the same moment; a `Coalescer` sends the
keys of all of them in one statement and hands each request its own row.

Freshness is unchanged: a request's key is only ever sent in a statement that starts after the
request asked, so it sees every revocation committed before it asked, as a lookup of its own
would. A lone request goes at once (on the event loop's next turn); requests that ask while a
statement is in flight go together in the next one, when it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Fetch = Callable[[list[K]], Awaitable[Mapping[K, V]]]

MAX_KEYS = 64  # per statement: a burst larger than this goes in several
MAX_IN_FLIGHT = 2  # statements at once, so that two requests never wait for each other


class Coalescer(Generic[K, V]):
    """`get(key)` is `fetch([key]).get(key)`, with concurrent keys fetched together.

    Up to `max_in_flight` statements run at once; a request that finds them all in flight waits
    with the others for the first to return, and they go together in the next. A failed fetch
    fails every request of its batch (each sees the error); the next batch is fetched anew. A
    request cancelled while it waits leaves its batch to run for the others.
    """

    def __init__(
        self, fetch: Fetch[K, V], max_keys: int = MAX_KEYS, max_in_flight: int = MAX_IN_FLIGHT
    ) -> None:
        if max_keys < 1 or max_in_flight < 1:
            raise ValueError("a batch holds at least one key, and one batch at least runs")
        self._fetch = fetch
        self.max_keys = max_keys
        self.max_in_flight = max_in_flight
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._in_flight = 0
        self._starting = False  # a batch is due to start on the loop's next turn
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # statements sent, for tests and benchmarks

    async def get(self, key: K) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        self._start_if_free()
        return await future

    async def close(self) -> None:
        """Stop the statements in flight and fail whatever waits (at shutdown). A lookup asked
        for afterwards starts afresh."""
        self._closing = True  # a batch that ends meanwhile starts no other
        try:
            while self._tasks:
                tasks = list(self._tasks)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            self._fail(self._take(len(self._waiting)), RuntimeError("the database was closed"))
        finally:
            self._starting = False  # a batch cancelled before its start never cleared it
            self._closing = False

    def _start_if_free(self) -> None:
        if (
            self._starting
            or self._closing
            or self._in_flight >= self.max_in_flight
            or not self._waiting
        ):
            return
        self._starting = True
        # A task, so that the statement outlives any one request's cancellation. It starts on
        # the loop's next turn: the requests read in this turn join its batch.
        task = asyncio.create_task(self._run_batch())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_batch(self) -> None:
        self._starting = False
        batch = self._take(self.max_keys)
        if not batch:
            return
        self._in_flight += 1
        self.batches += 1
        try:
            self._start_if_free()  # more than max_keys waited: the rest go in a batch of their own
            rows = await self._fetch(list(batch))
        except asyncio.CancelledError:
            self._fail(batch, RuntimeError("the lookup was cancelled"))
            raise
        except Exception as error:
            self._fail(batch, error)
        else:
            for key, futures in batch.items():
                row = rows.get(key)
                for future in futures:
                    if not future.done():  # a request cancelled meanwhile
                        future.set_result(row)
        finally:
            self._in_flight -= 1
            self._start_if_free()

    def _take(self, count: int) -> dict[K, list[asyncio.Future[V | None]]]:
        if len(self._waiting) <= count:
            batch, self._waiting = self._waiting, {}
            return batch
        keys = list(self._waiting)[:count]  # the longest waiting first (dicts keep order)
        return {key: self._waiting.pop(key) for key in keys}

    @staticmethod
    def _fail(batch: Mapping[K, list[asyncio.Future[V | None]]], error: BaseException) -> None:
        for futures in batch.values():
            for future in futures:
                if not future.done():
                    future.set_exception(error)
