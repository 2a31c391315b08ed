"""Lookups that wait together for one statement (storage/coalescing.py), driven by a fetch that
records each batch it is given and returns when the test lets it: concurrent keys go in one
batch, a batch never answers a request that asked after it started, failures and cancellations
stay with their own batch. On real PostgreSQL: tests/storage/test_lookups.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest

from resonite_auth.storage.coalescing import Coalescer


class Table:
    """A store whose fetches block until released, one gate per batch."""

    def __init__(self, rows: dict[str, int]) -> None:
        self.rows = rows
        self.batches: list[list[str]] = []
        self.gates: list[asyncio.Event] = []
        self.running = 0
        self.most_running = 0
        self.fail_next: Exception | None = None
        self.on_return: Callable[[], object] | None = None  # called as a fetch returns

    async def fetch(self, keys: list[str]) -> Mapping[str, int]:
        self.batches.append(keys)
        # What a statement sees is what was committed when it started.
        found = {key: self.rows[key] for key in keys if key in self.rows}
        gate = asyncio.Event()
        self.gates.append(gate)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await gate.wait()
            if self.fail_next is not None:
                error, self.fail_next = self.fail_next, None
                raise error
            if self.on_return is not None:
                self.on_return()
            return found
        finally:
            self.running -= 1

    async def started(self, count: int) -> None:
        """Until `count` batches have started."""
        for _ in range(1000):
            if len(self.batches) >= count:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"{len(self.batches)} batches started, not {count}")

    def release(self, index: int) -> None:
        self.gates[index].set()


def gets(coalescer: Coalescer[str, int], *keys: str) -> list[asyncio.Task[int | None]]:
    return [asyncio.create_task(coalescer.get(key)) for key in keys]


async def test_keys_asked_in_one_turn_go_in_one_batch_and_each_gets_its_own_row() -> None:
    table = Table({"a": 1, "b": 2, "c": 3})
    coalescer = Coalescer(table.fetch)
    tasks = gets(coalescer, "a", "b", "missing", "a")
    await table.started(1)
    table.release(0)
    assert await asyncio.gather(*tasks) == [1, 2, None, 1]
    assert table.batches == [["a", "b", "missing"]]  # a key asked twice is fetched once
    assert coalescer.batches == 1


async def test_the_leader_answers_with_the_others_of_its_batch_not_before_them() -> None:
    """The statement runs in the first request's task; that request resumes no earlier than
    the others it fetched for, so that the batch's responses leave together."""
    table = Table({"a": 1, "b": 2, "c": 3})
    coalescer = Coalescer(table.fetch)
    finished: list[str] = []

    async def ask(key: str) -> None:
        await coalescer.get(key)
        finished.append(key)

    tasks = [asyncio.create_task(ask(key)) for key in ("a", "b", "c")]
    await table.started(1)
    table.release(0)
    await asyncio.gather(*tasks)
    assert table.batches == [["a", "b", "c"]]
    assert finished == ["b", "c", "a"]


async def test_a_lone_request_goes_at_once() -> None:
    table = Table({"a": 1})
    coalescer = Coalescer(table.fetch)
    task = asyncio.create_task(coalescer.get("a"))
    await table.started(1)
    assert table.batches == [["a"]]
    table.release(0)
    assert await task == 1


async def test_requests_that_find_every_statement_in_flight_wait_and_go_together() -> None:
    table = Table({k: i for i, k in enumerate("abcdefg")})
    coalescer = Coalescer(table.fetch, max_in_flight=2)
    first = gets(coalescer, "a")
    await table.started(1)
    second = gets(coalescer, "b")
    await table.started(2)
    waiting = gets(coalescer, "c", "d")
    await asyncio.sleep(0)
    later = gets(coalescer, "e")  # asked in a later turn: still waits with c and d
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(table.batches) == 2 and table.running == 2  # no third statement yet
    table.release(1)
    assert await second[0] == 1
    await table.started(3)
    assert table.batches[2] == ["c", "d", "e"]
    table.release(0)
    table.release(2)
    assert await asyncio.gather(*first, *waiting, *later) == [0, 2, 3, 4]
    assert table.most_running == 2


async def test_a_request_never_gets_the_row_of_a_statement_that_started_before_it_asked() -> None:
    """Revocation stays immediate: a key asked again while its batch is in flight is fetched
    anew, after the change that batch may have missed."""
    table = Table({"token": 1})
    coalescer = Coalescer(table.fetch, max_in_flight=1)
    before = asyncio.create_task(coalescer.get("token"))
    await table.started(1)
    del table.rows["token"]  # revoked after the first statement started
    after = asyncio.create_task(coalescer.get("token"))
    await asyncio.sleep(0)
    table.release(0)
    await table.started(2)
    table.release(1)
    assert await before == 1  # asked before the revocation: may see the token
    assert await after is None  # asked after it: must not
    assert table.batches == [["token"], ["token"]]


async def test_a_burst_larger_than_a_batch_goes_in_several() -> None:
    table = Table({str(i): i for i in range(10)})
    coalescer = Coalescer(table.fetch, max_keys=4, max_in_flight=3)
    tasks = gets(coalescer, *(str(i) for i in range(10)))
    await table.started(3)
    assert [len(batch) for batch in table.batches] == [4, 4, 2]
    for index in range(3):
        table.release(index)
    assert await asyncio.gather(*tasks) == list(range(10))


async def test_a_failed_statement_fails_its_batch_only() -> None:
    table = Table({"a": 1, "b": 2, "c": 3})
    coalescer = Coalescer(table.fetch, max_in_flight=1)
    failing = gets(coalescer, "a", "b")
    await table.started(1)
    table.fail_next = ConnectionResetError("the server went away")
    following = gets(coalescer, "c")
    table.release(0)
    for task in failing:
        with pytest.raises(ConnectionResetError, match="went away"):
            await task
    await table.started(2)
    table.release(1)
    assert await following[0] == 3
    retry = gets(coalescer, "a")
    await table.started(3)
    table.release(2)
    assert await retry[0] == 1


async def test_a_request_cancelled_while_it_waits_leaves_the_others_their_rows() -> None:
    table = Table({"a": 1, "b": 2})
    coalescer = Coalescer(table.fetch)
    kept, cancelled = gets(coalescer, "a", "b")
    await table.started(1)
    cancelled.cancel()
    table.release(0)
    assert await kept == 1
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    again = gets(coalescer, "b")
    await table.started(2)
    table.release(1)
    assert await again[0] == 2


async def test_a_leader_cancelled_mid_statement_leaves_the_others_to_be_asked_anew() -> None:
    """The statement runs in the first request's task; its cancellation ends the statement, and
    the others of the batch go in a new one, which starts after they asked."""
    table = Table({"a": 1, "b": 2})
    coalescer = Coalescer(table.fetch)
    leader, other = gets(coalescer, "a", "b")
    await table.started(1)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    await table.started(2)
    assert table.batches == [["a", "b"], ["b"]]
    table.release(1)
    assert await other == 2
    assert table.running == 0


async def test_a_leader_cancelled_before_its_statement_starts_hands_the_lead_on() -> None:
    table = Table({"a": 1, "b": 2})
    coalescer = Coalescer(table.fetch)
    leader, other = gets(coalescer, "a", "b")
    await asyncio.sleep(0)  # the leader waits its one turn, the other has joined its batch
    leader.cancel()
    await table.started(1)
    assert table.batches == [["b"]]
    table.release(0)
    assert await other == 2
    with pytest.raises(asyncio.CancelledError):
        await leader


async def test_a_request_handed_the_lead_and_cancelled_hands_it_on() -> None:
    table = Table({"a": 1, "b": 2, "c": 3})
    coalescer = Coalescer(table.fetch, max_in_flight=1)
    first = gets(coalescer, "a")
    await table.started(1)
    handed, next_in_line = gets(coalescer, "b", "c")
    await asyncio.sleep(0)
    # Cancelled on the turn its first statement returns, before the lead it is handed runs.
    table.on_return = lambda: asyncio.get_running_loop().call_soon(handed.cancel)
    table.release(0)
    assert await first[0] == 1
    await table.started(2)
    assert table.batches[1] == ["c"]  # nobody waits for b any more: not fetched
    table.release(1)
    assert await next_in_line == 3
    with pytest.raises(asyncio.CancelledError):
        await handed


async def test_close_fails_what_waits_and_a_later_lookup_starts_afresh() -> None:
    table = Table({"a": 1})
    coalescer = Coalescer(table.fetch, max_in_flight=1)
    in_flight = gets(coalescer, "a")
    await table.started(1)
    queued = gets(coalescer, "a")
    await asyncio.sleep(0)
    await coalescer.close()
    with pytest.raises(RuntimeError, match="closed"):
        await queued[0]
    table.release(0)
    assert await in_flight[0] == 1  # the statement in flight ends for its own requests
    later = gets(coalescer, "a")
    await table.started(2)
    table.release(1)
    assert await later[0] == 1


def test_a_coalescer_needs_room_for_a_key_and_a_statement() -> None:
    table = Table({})
    with pytest.raises(ValueError):
        Coalescer(table.fetch, max_keys=0)
    with pytest.raises(ValueError):
        Coalescer(table.fetch, max_in_flight=0)
