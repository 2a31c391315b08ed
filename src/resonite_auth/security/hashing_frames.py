"""The wire format between the workers and the password hashing process.

One request and one answer per connection, each a JSON object behind its length (4 bytes, big
endian). A frame longer than `MAX_FRAME` is refused before it is read, so a peer cannot make the
other side buffer without bound.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

MAX_FRAME = 1024 * 1024  # a password form field is capped at this size by the form parser too
_LENGTH = struct.Struct(">I")


class FrameError(ValueError):
    """The peer sent something that is not a frame of this protocol."""


def encode_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
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
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FrameError(f"frame is not JSON: {error}") from error
    if not isinstance(message, dict):
        raise FrameError("frame is not a JSON object")
    return message
