"""A worker's way to the password hashing process (`hashing_service`): one connection per call.

Sign-ins are rare beside the hash itself (tens of milliseconds), so a Unix socket connection per
call costs nothing worth pooling, and there is no connection state to repair after a failure.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, TypeVar

from resonite_auth.security.hashing_frames import FrameError, encode_frame, read_frame

# Longer than any queue of sign-ins a healthy process works through (each hash tens of
# milliseconds, `concurrency` at once); past it the process is taken to be stuck, and it drops
# the request unworked once it sees the connection closed.
ANSWER_TIMEOUT = 60.0

T = TypeVar("T")


class HashingUnavailable(Exception):
    """The hashing process could not answer: gone, stuck, or it refused the request."""


class HashingClient:
    def __init__(self, socket_path: Path, *, timeout: float = ANSWER_TIMEOUT) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    async def hash(self, password: str) -> str:
        answer = await self._call({"op": "hash", "password": password})
        return _field(answer, "hash", str)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        answer = await self._call({"op": "verify", "hash": stored_hash, "password": password})
        return _field(answer, "match", bool)

    async def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            frame = encode_frame(request)
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_unix_connection(str(self.socket_path))
                try:
                    writer.write(frame)
                    await writer.drain()
                    answer = await read_frame(reader)
                finally:
                    writer.close()
        except (OSError, TimeoutError, FrameError, asyncio.IncompleteReadError) as error:
            raise HashingUnavailable(f"{type(error).__name__}: {error}") from error
        if "error" in answer:
            raise HashingUnavailable(f"the hashing process refused the request: {answer['error']}")
        return answer


def _field(answer: dict[str, Any], name: str, kind: type[T]) -> T:
    value = answer.get(name)
    if not isinstance(value, kind):
        raise HashingUnavailable(f"the hashing process answered without a {kind.__name__} {name}")
    return value
