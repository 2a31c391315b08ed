"""Keep-alive connections spread evenly over the worker processes.

uvicorn's workers share one listening socket. The kernel wakes every worker when a connection
arrives and the first one to run accepts everything queued, so a client that opens a few
keep-alive connections at once (a reverse proxy's upstream pool, an API client's pool) can land
all of them on one worker: one core does all the work while the others idle.

Here each worker publishes how many connections it holds in a small table shared through a
file, and accepts a waiting connection only when no other live worker holds fewer. The busier
worker steps back for a millisecond, so the less busy one, woken by the same event, takes it;
if that one does not within `MOST_DEFERRAL_S` (busy, hung or gone), the busier one takes it
after all. Nothing changes per request: the table is read and written once per connection.

`serve --workers N` creates the table and names it in the environment (`TABLE_ENV`); uvicorn
makes each worker's event loop a `BalancedLoop` (its `loop` setting takes a loop factory as
"module:name"), whose `create_server` of the shared socket returns a `BalancedListener` instead
of the loop's own listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import mmap
import os
import socket
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvloop

log = logging.getLogger("resonite_auth")

TABLE_ENV = "RESONITE_AUTH_WORKER_TABLE"
SLOTS = 64  # workers one table can hold; a slot is (pid, open connections)
_SLOT = struct.Struct("<qq")
# A busier worker looks again after DEFERRAL_S: the less busy one, woken by the same event,
# has long accepted by then. A connection waits at most MOST_DEFERRAL_S for the less busy
# worker (stalled in a long task, or gone) before the busier one takes it after all.
DEFERRAL_S = 0.001
MOST_DEFERRAL_S = 0.010
_RESOURCE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkerTable:
    """The shared table, as one worker sees it: its own slot, and everyone's counts."""

    def __init__(self, path: Path, pid: int | None = None) -> None:
        self.pid = pid or os.getpid()
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), SLOTS * _SLOT.size)
        self.slot = self._claim()

    @staticmethod
    def create(directory: Path | None = None) -> Path:
        """A new, empty table file (mode 0600, a fresh name); the caller removes it when the
        workers are gone."""
        fd, name = tempfile.mkstemp(prefix="resonite-auth-workers-", dir=directory)
        with os.fdopen(fd, "wb") as table:
            table.write(bytes(SLOTS * _SLOT.size))
        return Path(name)

    @staticmethod
    def read(path: Path) -> dict[int, int]:
        """Every listening worker's pid and open connections, as the table says."""
        data = path.read_bytes()
        rows = (_SLOT.unpack_from(data, slot * _SLOT.size) for slot in range(SLOTS))
        return {pid: count for pid, count in rows if pid != 0}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)

    def _claim(self) -> int:
        """The first free slot, or one whose worker has died (uvicorn starts a replacement)."""
        with self._locked():
            for slot in range(SLOTS):
                pid, _ = _SLOT.unpack_from(self._map, slot * _SLOT.size)
                if pid == 0 or not _alive(pid):
                    _SLOT.pack_into(self._map, slot * _SLOT.size, self.pid, 0)
                    return slot
        raise RuntimeError(f"the worker table has no free slot of {SLOTS}")

    def publish(self, open_connections: int) -> None:
        _SLOT.pack_into(self._map, self.slot * _SLOT.size, self.pid, open_connections)

    def fewest_elsewhere(self) -> int | None:
        """The fewest connections any other worker holds; None when there is no other."""
        fewest: int | None = None
        for slot, (pid, count) in enumerate(_SLOT.iter_unpack(self._map)):
            if pid != 0 and slot != self.slot and (fewest is None or count < fewest):
                fewest = count
        return fewest

    def forget_dead(self) -> None:
        """Free the slots of workers that are gone, so their last count holds nobody back."""
        with self._locked():
            for slot in range(SLOTS):
                pid, _ = _SLOT.unpack_from(self._map, slot * _SLOT.size)
                if pid not in (0, self.pid) and not _alive(pid):
                    _SLOT.pack_into(self._map, slot * _SLOT.size, 0, 0)

    def close(self) -> None:
        with self._locked():
            pid, _ = _SLOT.unpack_from(self._map, self.slot * _SLOT.size)
            if pid == self.pid:  # not taken over by a replacement meanwhile
                _SLOT.pack_into(self._map, self.slot * _SLOT.size, 0, 0)
        self._map.close()
        self._file.close()


class BalancedListener:
    """Accepts from a shared listening socket one connection at a time, when this worker holds
    no more connections than the least busy other worker. Quacks like `asyncio.Server` as far
    as uvicorn uses it: `close()` and `wait_closed()`."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        table: WorkerTable,
    ) -> None:
        self._loop, self._sock, self._table = loop, sock, table
        self._protocol_factory = protocol_factory
        self._open = 0
        self._deferring_since: float | None = None
        self._last_deferral = 0.0
        self._resume: asyncio.TimerHandle | None = None
        self._closed = False
        self._handoffs: set[asyncio.Task[None]] = set()
        sock.setblocking(False)
        table.publish(0)
        loop.add_reader(sock.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        fewest = self._table.fewest_elsewhere()
        if fewest is not None and self._open > fewest and self._may_defer():
            self._pause(DEFERRAL_S)
            return
        self._deferring_since = None
        try:
            conn, _ = self._sock.accept()
        except (BlockingIOError, InterruptedError):
            return  # another worker took it
        except OSError as exc:
            # Out of descriptors or buffers, or worse: trying again at once would only fail again.
            log.error("cannot accept a connection, pausing: %s", exc)
            self._pause(0.1 if exc.errno in _RESOURCE_ERRORS else 1.0)
            return
        conn.setblocking(False)
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._counted(+1)
        handoff = self._loop.create_task(self._serve(conn))
        self._handoffs.add(handoff)
        handoff.add_done_callback(self._handoffs.discard)

    def _may_defer(self) -> bool:
        """True while this connection has waited less than MOST_DEFERRAL_S for another worker.
        Deferrals of one waiting connection follow each other a millisecond or two apart; a
        longer gap means another worker took it, and the next deferral is a new wait."""
        now = time.monotonic()
        if self._deferring_since is None or now - self._last_deferral > 5 * DEFERRAL_S:
            self._deferring_since = now
            self._table.forget_dead()
        self._last_deferral = now
        return now - self._deferring_since < MOST_DEFERRAL_S

    def _pause(self, seconds: float) -> None:
        self._loop.remove_reader(self._sock.fileno())
        self._resume = self._loop.call_later(seconds, self._listen_again)

    def _listen_again(self) -> None:
        self._resume = None
        if not self._closed:
            self._loop.add_reader(self._sock.fileno(), self._on_readable)

    def _counted(self, change: int) -> None:
        self._open += change
        if not self._closed:
            self._table.publish(self._open)

    async def _serve(self, conn: socket.socket) -> None:
        counted = True

        def uncount() -> None:  # once, whichever way the connection ends
            nonlocal counted
            if counted:
                counted = False
                self._counted(-1)

        def protocol() -> asyncio.BaseProtocol:
            made = self._protocol_factory()
            lost = made.connection_lost

            def connection_lost(exc: Exception | None) -> None:
                uncount()
                lost(exc)

            # Once per connection, so the count drops when the connection ends.
            setattr(made, "connection_lost", connection_lost)  # noqa: B010
            return made

        try:
            await self._loop.connect_accepted_socket(protocol, conn)
        except Exception:
            log.exception("could not serve an accepted connection")
            conn.close()
            uncount()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._resume is not None:
            self._resume.cancel()
        else:
            self._loop.remove_reader(self._sock.fileno())
        self._table.close()

    async def wait_closed(self) -> None:
        return None


class BalancedLoop(uvloop.Loop):
    """uvloop, except that a server on an inherited listening socket balances its accepts
    when the supervisor made a worker table."""

    async def create_server(
        self, protocol_factory: Callable[[], asyncio.BaseProtocol], *args: Any, **kwargs: Any
    ) -> Any:
        sock = kwargs.get("sock")
        table = os.environ.get(TABLE_ENV)
        if sock is None or table is None or args or kwargs.get("ssl") is not None:
            return await super().create_server(protocol_factory, *args, **kwargs)
        sock.listen(kwargs.get("backlog", 100))  # uvicorn binds the socket; the server listens
        return BalancedListener(self, sock, protocol_factory, WorkerTable(Path(table)))
