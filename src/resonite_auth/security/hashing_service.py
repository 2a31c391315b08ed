"""The password hashing process: argon2id for every worker of one server, in one place.

`resonite-auth serve` starts it before uvicorn's workers and stops it after them. An argon2id
hash holds 64 MiB of memory while it runs. Hashed inside the workers, every sign-in grows the
worker that takes it by that much, and each worker bounds only its own hashes, so N workers can
run 2N hashes at once on a machine with two cores. Here at most `concurrency` hashes run for the
whole server, and the workers stay the size of their code.

The process holds no secret. It hashes a password it is given and checks a password against a
hash it is given, which any local process could do by itself. The socket sits in a directory
only the server's user can enter (0700), which is protection enough.

Run as `python -m resonite_auth.security.hashing_service SOCKET --concurrency N`, it imports no
more than argon2 and the standard library. It writes `ready` on stdout once it listens, and it
exits when its standard input closes, so it never outlives the server that started it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from resonite_auth.security.hashing_frames import FrameError, encode_frame, read_frame
from resonite_auth.security.passwords import Passwords

MODULE = "resonite_auth.security.hashing_service"
SOCKET_NAME = "hashing.sock"
REQUEST_TIMEOUT = 10.0  # a worker writes its request at once; an idle connection is dropped


class HashingService:
    """Answers one request per connection: `hash` a password or `verify` one against a hash."""

    def __init__(self, passwords: Passwords, *, request_timeout: float = REQUEST_TIMEOUT) -> None:
        self._passwords = passwords
        self._request_timeout = request_timeout

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                async with asyncio.timeout(self._request_timeout):
                    request = await read_frame(reader)
                answer = await self.answer(request)
            except FrameError as error:
                answer = {"error": str(error)}
            writer.write(encode_frame(answer))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass  # the peer went away, or never sent its request; nothing was stored anywhere
        finally:
            writer.close()

    async def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        operation, password = request.get("op"), request.get("password")
        if not isinstance(password, str):
            return {"error": "password must be a string"}
        if operation == "hash":
            return {"hash": await self._passwords.hash(password)}
        if operation == "verify":
            stored_hash = request.get("hash")
            if stored_hash is not None and not isinstance(stored_hash, str):
                return {"error": "hash must be a string or null"}
            # With no stored hash, the dummy verify runs here: the process's own dummy hash.
            return {"match": await self._passwords.verify(stored_hash, password)}
        return {"error": f"unknown operation {operation!r}"}


async def serve(socket_path: Path, concurrency: int) -> None:
    """Listen on `socket_path` until standard input reaches its end."""
    service = HashingService(Passwords(concurrency=concurrency))
    server = await asyncio.start_unix_server(service.handle, path=str(socket_path))
    loop = asyncio.get_running_loop()
    parent = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(parent), sys.stdin)
    print("ready", flush=True)
    async with server:
        await parent.read()  # the server closes our stdin when it stops, or the kernel when it dies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m resonite_auth.security.hashing_service")
    parser.add_argument("socket", type=Path)
    parser.add_argument("--concurrency", type=int, default=2)
    arguments = parser.parse_args(argv)
    if arguments.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    # Ctrl-C in a terminal reaches the whole process group; the server stops us when it stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(serve(arguments.socket, arguments.concurrency))


class HashingProcess:
    """One server's hashing process: `start` it before the workers, `stop` it after them."""

    def __init__(self, process: subprocess.Popen[bytes], directory: Path) -> None:
        self.process = process
        self.directory = directory

    @property
    def socket_path(self) -> Path:
        return self.directory / SOCKET_NAME

    @classmethod
    def start(cls, concurrency: int, *, timeout: float = 30) -> HashingProcess:
        """Started and listening, or `RuntimeError` saying why not (nothing left behind)."""
        directory = Path(tempfile.mkdtemp(prefix="resonite-auth-hashing-"))  # mode 0700
        arguments = [str(directory / SOCKET_NAME), "--concurrency", str(concurrency)]
        process = subprocess.Popen(  # noqa: S603 (our interpreter, our module, our arguments)
            [sys.executable, "-m", MODULE, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        started = cls(process, directory)
        assert process.stdout is not None
        try:
            line = _first_line(process, timeout)
        except BaseException:
            started.stop()
            raise
        if line != b"ready\n":
            started.stop()
            raise RuntimeError(
                f"the password hashing process did not start (exit status {process.returncode})"
            )
        return started

    def stop(self, timeout: float = 10) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The child's first line of output, or b"" when it exits or `timeout` passes first."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            process.wait()
            return b""
    line = process.stdout.readline()
    if not line:
        process.wait()
    return line


if __name__ == "__main__":
    main()
