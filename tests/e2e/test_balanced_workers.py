"""`serve --workers 2` for real: keep-alive connections spread evenly over the workers, a dead
worker holds no connection back, and the shared table is gone when the server stops."""

from __future__ import annotations

import http.client
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from resonite_auth.web.balanced_accept import WorkerTable
from tests.support.live import LiveServer


def workers_of(pid: int) -> list[int]:
    """uvicorn's worker processes: the children that run `spawn_main`."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def established_inodes(port: int) -> set[str]:
    """Socket inodes of the server side of established TCP connections on 127.0.0.1:`port`."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if local == f"0100007F:{port:04X}" and state == "01":
            inodes.add(inode)
    return inodes


def connections_held(pid: int, inodes: set[str]) -> int:
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        held += target.startswith("socket:[") and target[8:-1] in inodes
    return held


def served(connection: http.client.HTTPConnection) -> int:
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    return response.status


def until(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def two_workers(tmp_path: Path, short_tmp: Path) -> Iterator[LiveServer]:
    server = LiveServer(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/balanced.db",
        workdir=tmp_path,
        workers=2,
        extra_env={"TMPDIR": str(short_tmp)},  # where the worker table goes
    )
    server.start()
    try:
        (table,) = short_tmp.glob("resonite-auth-workers-*")
        until(lambda: len(WorkerTable.read(table)) == 2)  # both workers listen
        yield server
    finally:
        server.stop()


def test_keep_alive_connections_are_spread_evenly(two_workers: LiveServer, short_tmp: Path) -> None:
    assert two_workers.process is not None
    (table,) = short_tmp.glob("resonite-auth-workers-*")
    for _ in range(3):  # each round on fresh connections
        connections = []
        for _ in range(4):  # one at a time, as a client pool opens them
            connection = http.client.HTTPConnection("127.0.0.1", two_workers.port, timeout=10)
            assert served(connection) == 200
            connections.append(connection)
        inodes = established_inodes(two_workers.port)
        held = [connections_held(w, inodes) for w in workers_of(two_workers.process.pid)]
        assert sorted(held) == [2, 2]
        assert sorted(WorkerTable.read(table).values()) == [2, 2]  # as the workers published
        assert all(served(connection) == 200 for connection in connections)  # still kept alive
        for connection in connections:
            connection.close()
        until(lambda: not established_inodes(two_workers.port))
    two_workers.stop()
    assert not list(short_tmp.glob("resonite-auth-workers-*"))  # the table goes with the server


@pytest.mark.parametrize(
    "stop",
    [signal.SIGKILL, signal.SIGSTOP],
    ids=["dead: its slot is freed", "stalled: the wait is bounded"],
)
def test_a_dead_or_stalled_worker_holds_no_connection_back(
    two_workers: LiveServer, stop: signal.Signals
) -> None:
    assert two_workers.process is not None
    first = http.client.HTTPConnection("127.0.0.1", two_workers.port, timeout=10)
    assert served(first) == 200
    inodes = established_inodes(two_workers.port)
    workers = workers_of(two_workers.process.pid)
    idle = [w for w in workers if not connections_held(w, inodes)]
    assert len(idle) == 1
    # The worker with no connection dies or stops; its last published count, 0, says it has
    # room, so the busy worker steps back each time, but not for good.
    os.kill(idle[0], stop)
    try:
        more = [
            http.client.HTTPConnection("127.0.0.1", two_workers.port, timeout=10) for _ in range(3)
        ]
        assert [served(connection) for connection in more] == [200, 200, 200]
        assert served(first) == 200
        if stop == signal.SIGSTOP:
            inodes = established_inodes(two_workers.port)
            busy = [w for w in workers if w != idle[0]]
            assert connections_held(busy[0], inodes) == 4
    finally:
        if stop == signal.SIGSTOP:
            os.kill(idle[0], signal.SIGCONT)
    for connection in [first, *more]:
        connection.close()
