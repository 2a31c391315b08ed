"""The wire format between the workers and the password hashing process.

One request and one answer per connection, each a JSON object behind its length (4 bytes, big
endian). The worker keeps the connection open until the answer comes: a request whose
connection has ended by the time its turn comes is taken to be abandoned, and is not worked.
A frame longer than `MAX_FRAME` is refused before it is read, so a peer cannot make the other
side buffer without bound.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

# Far above any request of ours: passwords longer than the policy allows are never sent (see
# `Passwords.verify`), and an argon2 hash is under 200 characters.
MAX_FRAME = 64 * 1024
_LENGTH = struct.Struct(">I")


class FrameError(ValueError):
    """The peer sent something that is not a frame of this protocol."""


def encode_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    if len(body) > MAX_FRAME:
        raise FrameError(f"frame of {len(body)} bytes is over the {MAX_FRAME} byte limit")
    return _LENGTH.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    """The next frame's object; `asyncio.IncompleteReadError` when the peer closed early."""
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if length > MAX_FRAME:
        raise FrameError(f"frame of {length} bytes is over the {MAX_FRAME} byte limit")
    try:
        message = json.loads(await reader.readexactly(length))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise FrameError(f"frame is not JSON: {error}") from error
    if not isinstance(message, dict):
        raise FrameError("frame is not a JSON object")
    return message
