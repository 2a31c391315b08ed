"""The balanced listener on a real socket and a real uvloop loop: it serves what it accepts,
and an accept that fails pauses listening instead of spinning on the error."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from resonite_auth.web.balanced_accept import BalancedListener, BalancedLoop, WorkerTable


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


async def echoed(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ping")
    await writer.drain()
    answer = await asyncio.wait_for(reader.readexactly(4), 5)
    writer.close()
    await writer.wait_closed()
    return answer


def test_a_failing_accept_pauses_then_listening_resumes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # bound, not yet listening: accept() fails with EINVAL
        port = sock.getsockname()[1]
        path = WorkerTable.create(tmp_path)
        listener = BalancedListener(asyncio.get_running_loop(), sock, Echo, WorkerTable(path))
        await asyncio.sleep(0.3)
        failures = [r for r in caplog.records if "cannot accept" in r.getMessage()]
        assert len(failures) == 1  # one error, then a pause: no busy loop on the error
        sock.listen(8)
        assert await echoed(port) == b"ping"  # listening again after the pause
        listener.close()
        await listener.wait_closed()
        assert WorkerTable.read(path) == {}  # its slot is free again
        sock.close()

    with (
        caplog.at_level(logging.ERROR, logger="resonite_auth"),
        asyncio.Runner(loop_factory=BalancedLoop) as runner,
    ):
        runner.run(scenario())
