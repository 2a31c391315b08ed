"""The password hashing process (security/hashing_service.py) as `serve` starts it: a real child
process on a real Unix socket, the client the workers use, and what happens when it is gone."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from resonite_auth.security.hashing_client import HashingClient, HashingUnavailable
from resonite_auth.security.hashing_frames import MAX_FRAME
from resonite_auth.security.hashing_service import HashingProcess, HashingService
from resonite_auth.security.password_policy import MAX_LENGTH
from resonite_auth.security.passwords import Passwords

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def hashing() -> Iterator[HashingProcess]:
    process = HashingProcess.start(2)
    try:
        yield process
    finally:
        process.stop()


class RefusingHasher(PasswordHasher):
    """A hasher that fails the test if this process is asked to hash or verify."""

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        raise AssertionError("hashed in the worker")

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        raise AssertionError("verified in the worker")


async def raw_call(socket_path: Path, payload: bytes, *, then_end: bool = False) -> Any:
    """Send `payload` as it is (and end the sending side, with `then_end`); the answer's object,
    or None when the process hung up."""
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    try:
        writer.write(payload)
        if then_end:
            writer.write_eof()
        head = await reader.read(4)
        if not head:
            return None
        (length,) = struct.unpack(">I", head)
        return json.loads(await reader.readexactly(length))
    finally:
        writer.close()


def framed(message: object) -> bytes:
    body = json.dumps(message).encode()
    return struct.pack(">I", len(body)) + body


async def test_hashes_and_verifies_in_the_process(hashing: HashingProcess) -> None:
    client = HashingClient(hashing.socket_path)
    stored = await client.hash(PASSWORD)
    # RFC 9106's second recommended option, as argon2-cffi's defaults give it.
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert await client.verify(stored, PASSWORD) is True
    assert await client.verify(stored, "wrong password") is False
    assert await client.verify(None, PASSWORD) is False  # the dummy verify, for unknown users
    assert await client.verify("not a hash", PASSWORD) is False
    assert await Passwords().verify(stored, PASSWORD)  # a hash any process can check


async def test_passwords_given_the_process_do_no_hashing_themselves(
    hashing: HashingProcess,
) -> None:
    passwords = Passwords(RefusingHasher(), service=HashingClient(hashing.socket_path))
    stored = await passwords.hash(PASSWORD)
    assert await passwords.verify(stored, PASSWORD)
    assert not await passwords.verify(stored, "wrong password")
    assert not await passwords.verify(None, PASSWORD)


async def test_concurrent_requests_all_get_their_own_answer(hashing: HashingProcess) -> None:
    client = HashingClient(hashing.socket_path)
    stored = await client.hash(PASSWORD)
    tries = [PASSWORD, "wrong one", PASSWORD, "another wrong", PASSWORD, PASSWORD]
    answers = await asyncio.gather(*(client.verify(stored, tried) for tried in tries))
    assert answers == [tried == PASSWORD for tried in tries]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (struct.pack(">I", MAX_FRAME + 1), "over the"),
        (struct.pack(">I", 3) + b"\xff\xfe{", "not JSON"),
        (struct.pack(">I", 60_000) + b"[" * 60_000, "not JSON"),  # nested past the recursion limit
        (framed(["hash", PASSWORD]), "not a JSON object"),
        (framed({"op": "hash"}), "password must be a string"),
        (framed({"op": "verify", "hash": 5, "password": PASSWORD}), "hash must be a string"),
        (framed({"op": "delete", "password": PASSWORD}), "unknown operation"),
    ],
)
async def test_malformed_requests_get_a_specific_error_and_the_process_keeps_serving(
    hashing: HashingProcess, payload: bytes, error: str
) -> None:
    answer = await raw_call(hashing.socket_path, payload)
    assert error in answer["error"]
    assert await HashingClient(hashing.socket_path).verify(None, PASSWORD) is False


async def test_a_request_cut_short_is_dropped_and_the_process_keeps_serving(
    hashing: HashingProcess,
) -> None:
    cut_short = struct.pack(">I", 100) + b"{"
    assert await raw_call(hashing.socket_path, cut_short, then_end=True) is None
    assert await HashingClient(hashing.socket_path).verify(None, PASSWORD) is False


async def test_a_request_too_large_to_send_is_refused_by_the_client(
    hashing: HashingProcess,
) -> None:
    with pytest.raises(HashingUnavailable, match="over the"):
        await HashingClient(hashing.socket_path).hash("x" * (MAX_FRAME + 1))


async def test_without_the_process_passwords_are_hashed_here_and_the_failure_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    passwords = Passwords(service=HashingClient(tmp_path / "gone.sock"))
    with caplog.at_level(logging.WARNING, logger="resonite_auth.security.passwords"):
        stored = await passwords.hash(PASSWORD)
        assert await passwords.verify(stored, PASSWORD)
    assert [record.getMessage().split(":")[0] for record in caplog.records] == [
        "password hashing process unavailable, hashing here",
        "password hashing process unavailable, verifying here",
    ]


async def test_a_process_that_does_not_answer_in_time_counts_as_unavailable(
    tmp_path: Path,
) -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # holds the connection open and says nothing

    socket_path = tmp_path / "stuck.sock"
    server = await asyncio.start_unix_server(never_answer, path=str(socket_path))
    async with server:
        with pytest.raises(HashingUnavailable, match="TimeoutError"):
            await HashingClient(socket_path, timeout=0.3).verify(None, PASSWORD)


async def test_an_answer_without_the_expected_field_counts_as_unavailable(
    tmp_path: Path,
) -> None:
    async def odd_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(struct.unpack(">I", await reader.readexactly(4))[0])
        writer.write(framed({"match": "yes"}))
        await writer.drain()
        writer.close()

    socket_path = tmp_path / "odd.sock"
    server = await asyncio.start_unix_server(odd_answer, path=str(socket_path))
    async with server:
        with pytest.raises(HashingUnavailable, match="without a bool match"):
            await HashingClient(socket_path).verify(None, PASSWORD)


async def test_a_connection_that_sends_no_request_is_dropped(tmp_path: Path) -> None:
    service = HashingService(Passwords(), concurrency=1, request_timeout=0.2)
    socket_path = tmp_path / "service.sock"
    server = await asyncio.start_unix_server(service.handle, path=str(socket_path))
    async with server:
        reader, writer = await asyncio.open_unix_connection(str(socket_path))
        assert await asyncio.wait_for(reader.read(), timeout=10) == b""  # closed, no answer
        writer.close()


def test_the_process_ends_when_its_parent_closes_its_input_and_ignores_signals_to_the_group() -> (
    None
):
    process = HashingProcess.start(1, watch_every=None)
    assert process.process is not None
    try:
        for sent in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, a service manager's stop
            process.process.send_signal(sent)
        assert asyncio.run(HashingClient(process.socket_path).verify(None, PASSWORD)) is False
        assert process.process.stdin is not None
        process.process.stdin.close()  # what the kernel does when the server dies
        assert process.process.wait(timeout=30) == 0
        assert not process.directory.exists()  # it cleaned up after itself
    finally:
        process.stop()


def test_a_process_that_dies_is_started_again_on_the_same_socket(
    caplog: pytest.LogCaptureFixture,
) -> None:
    process = HashingProcess.start(1, watch_every=0.1)
    assert process.process is not None
    first = process.process
    try:
        with caplog.at_level(logging.ERROR, logger="resonite_auth.security.hashing_service"):
            first.kill()  # as the kernel's OOM killer would
            deadline = time.monotonic() + 30
            while process.process is first or process.process.poll() is not None:
                assert time.monotonic() < deadline, "no new hashing process"
                time.sleep(0.05)
        assert asyncio.run(HashingClient(process.socket_path).verify(None, PASSWORD)) is False
        assert "exited (status -9); starting a new one" in caplog.text
    finally:
        process.stop()
    assert process.process.poll() is not None and not process.directory.exists()


def test_the_process_gets_none_of_the_servers_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESONITE_AUTH_SMTP_URL", "smtp://user:secret@mail.example")
    process = HashingProcess.start(1, watch_every=None)
    assert process.process is not None
    try:
        environment = Path(f"/proc/{process.process.pid}/environ").read_bytes()
        assert b"PATH=" in environment and b"RESONITE_AUTH_" not in environment
    finally:
        process.stop()


class BlockingHasher(PasswordHasher):
    """A small real argon2id hasher whose verify waits for `release` and counts its calls."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8192, parallelism=1)
        self.entered, self.release = threading.Event(), threading.Event()
        self.calls = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.calls += 1
        self.entered.set()
        assert self.release.wait(timeout=30)
        return super().verify(hash, password)


async def test_a_request_whose_worker_hung_up_while_it_waited_is_not_worked(
    tmp_path: Path,
) -> None:
    hasher = BlockingHasher()
    stored = hasher.hash(PASSWORD)
    service = HashingService(Passwords(hasher), concurrency=1)
    socket_path = tmp_path / "service.sock"
    server = await asyncio.start_unix_server(service.handle, path=str(socket_path))
    async with server:
        first = asyncio.create_task(HashingClient(socket_path).verify(stored, PASSWORD))
        assert await asyncio.to_thread(hasher.entered.wait, 30)  # it holds the only turn
        _reader, writer = await asyncio.open_unix_connection(str(socket_path))
        writer.write(framed({"op": "verify", "hash": stored, "password": PASSWORD}))
        await writer.drain()
        writer.close()  # the worker gives up on the second one while it waits
        await writer.wait_closed()
        await asyncio.sleep(0.05)  # let the service's loop see the hang-up
        hasher.release.set()
        assert await first is True
        await asyncio.sleep(0.05)
    assert hasher.calls == 1


class FailingHasher(PasswordHasher):
    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        raise MemoryError("cannot allocate the hash's memory")


async def test_a_request_that_fails_inside_gets_an_error_and_no_password_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = HashingService(Passwords(FailingHasher()), concurrency=1)
    socket_path = tmp_path / "service.sock"
    server = await asyncio.start_unix_server(service.handle, path=str(socket_path))
    async with server:
        with caplog.at_level(logging.ERROR):
            answer = await raw_call(socket_path, framed({"op": "hash", "password": PASSWORD}))
    assert answer == {"error": "the request failed in the hashing process"}
    assert "password hashing request failed" in caplog.text and PASSWORD not in caplog.text


async def test_a_password_longer_than_any_that_can_be_set_is_refused_without_hashing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stored = await Passwords().hash(PASSWORD)
    passwords = Passwords(RefusingHasher(), service=HashingClient(tmp_path / "unused.sock"))
    assert await passwords.verify(stored, "x" * (MAX_LENGTH + 1)) is False
    assert await passwords.verify(None, "x" * (MAX_LENGTH + 1)) is False
    assert caplog.records == []  # the hashing process was not even asked


def test_a_process_that_cannot_start_is_reported_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(RuntimeError, match="did not start"):
        HashingProcess.start(0)  # the process refuses a concurrency below one
    assert list(tmp_path.iterdir()) == []
