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
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from resonite_auth.security.hashing_frames import FrameError, encode_frame, read_frame
from resonite_auth.security.passwords import Passwords

MODULE = "resonite_auth.security.hashing_service"
SOCKET_NAME = "hashing.sock"
PREFIX = "RESONITE_AUTH_"  # the server's settings in the environment
log = logging.getLogger(MODULE)  # the same name when run as __main__

REQUEST_TIMEOUT = 10.0  # a worker writes its request at once; an idle connection is dropped


class HashingService:
    """Answers one request per connection: `hash` a password or `verify` one against a hash.

    At most `concurrency` requests are worked on at once; the rest wait in arrival order. A
    request whose worker hung up while it waited (it gave up, or died) is dropped unworked, so
    a backlog does not grow with work nobody will read.
    """

    def __init__(
        self, passwords: Passwords, *, concurrency: int, request_timeout: float = REQUEST_TIMEOUT
    ) -> None:
        self._passwords = passwords
        self._turn = asyncio.Semaphore(concurrency)
        self._request_timeout = request_timeout

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                async with asyncio.timeout(self._request_timeout):
                    request = await read_frame(reader)
                async with self._turn:
                    if reader.at_eof():
                        return
                    answer = await self.answer(request)
            except FrameError as error:
                answer = {"error": str(error)}
            except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
                return  # the peer went away, or never sent its request; nothing was stored
            except Exception:
                # Never the request in the log: it holds a password.
                log.exception("password hashing request failed")
                answer = {"error": "the request failed in the hashing process"}
            writer.write(encode_frame(answer))
            await writer.drain()
        except ConnectionError:
            pass  # the peer went away before its answer
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
        return {"error": f"unknown operation {str(operation)[:40]!r}"}


async def serve(socket_path: Path, concurrency: int) -> None:
    """Listen on `socket_path` until standard input reaches its end, then remove the socket's
    directory (the server that made it may be gone: killed, it cleans up nothing)."""
    passwords = Passwords(concurrency=concurrency)  # the service's turns bound it already
    service = HashingService(passwords, concurrency=concurrency)
    server = await asyncio.start_unix_server(service.handle, path=str(socket_path))
    loop = asyncio.get_running_loop()
    parent = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(parent), sys.stdin)
    print("ready", flush=True)
    try:
        async with server:
            await parent.read()  # the server closes our stdin when it stops, the kernel if it dies
    finally:
        shutil.rmtree(socket_path.parent, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m resonite_auth.security.hashing_service")
    parser.add_argument("socket", type=Path)
    parser.add_argument("--concurrency", type=int, default=2)
    arguments = parser.parse_args(argv)
    if arguments.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    # Ctrl-C in a terminal and a service manager's SIGTERM reach the whole process group; the
    # workers may still be finishing sign-ins then. The server closes our stdin once they have.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(name)s: %(message)s")
    asyncio.run(serve(arguments.socket, arguments.concurrency))


class HashingProcess:
    """One server's hashing process: `start` it before the workers, `stop` it after them.

    A watcher thread starts it again on the same socket should it die (the kernel's OOM killer
    may pick it while it holds its hashes' memory); meanwhile the workers hash by themselves.
    """

    def __init__(self, concurrency: int, directory: Path) -> None:
        self.concurrency = concurrency
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def socket_path(self) -> Path:
        return self.directory / SOCKET_NAME

    @classmethod
    def start(
        cls, concurrency: int, *, timeout: float = 30, watch_every: float | None = 1.0
    ) -> HashingProcess:
        """Started and listening, or `RuntimeError` saying why not (nothing left behind).
        With `watch_every` seconds, a dead process is replaced that often at most."""
        started = cls(concurrency, Path(tempfile.mkdtemp(prefix="resonite-auth-hashing-")))
        try:
            started.process = started._spawn(timeout)
        except BaseException:
            started.stop()
            raise
        if watch_every is not None:
            threading.Thread(
                target=started._watch, args=(watch_every, timeout), daemon=True
            ).start()
        return started

    def _spawn(self, timeout: float) -> subprocess.Popen[bytes]:
        self.directory.mkdir(mode=0o700, exist_ok=True)  # the last process may have removed it
        arguments = [str(self.socket_path), "--concurrency", str(self.concurrency)]
        process = subprocess.Popen(  # noqa: S603 (our interpreter, our module, our arguments)
            [sys.executable, "-m", MODULE, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # It needs none of the server's settings (database and mail credentials among them).
            env={name: value for name, value in os.environ.items() if not name.startswith(PREFIX)},
        )
        if _first_line(process, timeout) != b"ready\n":
            _end(process, timeout)
            raise RuntimeError(
                f"the password hashing process did not start (exit status {process.returncode})"
            )
        return process

    def _watch(self, every: float, timeout: float) -> None:
        while not self._stopping.wait(every):
            with self._lock:
                if self._stopping.is_set() or self.process is None:
                    return
                if self.process.poll() is None:
                    continue
                log.error(
                    "the password hashing process exited (status %s); starting a new one",
                    self.process.returncode,
                )
                _end(self.process, timeout)
                try:
                    self.process = self._spawn(timeout)
                except (RuntimeError, OSError):
                    log.exception("the password hashing process could not be started again")

    def stop(self, timeout: float = 10) -> None:
        self._stopping.set()
        with self._lock:
            if self.process is not None:
                _end(self.process, timeout)
            shutil.rmtree(self.directory, ignore_errors=True)


def _end(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Close its input (it exits by itself then), wait for it, kill it if it does not go."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


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
