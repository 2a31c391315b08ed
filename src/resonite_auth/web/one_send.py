"""Each HTTP response leaves in one send instead of two.

uvicorn's httptools protocol writes a response's head (status line and headers) and its body
with two `transport.write` calls, and uvloop sends each at once: two loopback or network sends
per response, and the client is woken twice, once for a head it cannot use without the body.
Here the protocol's transport is wrapped in a `CorkedTransport`, which keeps what is written and
sends it in one write as soon as the response is complete (the protocol's
`on_response_complete`), or else at the end of the event loop's turn (a `call_soon` callback,
for what is written outside a response: `100 Continue`, a streamed chunk). A complete response
never waits for the rest of the turn, where other requests' work (a SQLite write unit runs on
the loop's thread) would delay it. Nothing else changes:
the bytes, their order, flow control and closing are the protocol's own. Writes that add up to
`SEND_AT` bytes in one turn are sent at once, so that a large response still meets the
transport's flow control (its high-water mark pauses the protocol) as it is written.

`serve` passes `OneSendHttpToolsProtocol` to uvicorn as its `http` protocol (`UVICORN_HTTP`,
"module:name", which uvicorn's worker processes import).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

SEND_AT = 64 * 1024  # the default high-water mark of asyncio's and uvloop's transports


class CorkedTransport(asyncio.Transport):
    """A transport whose writes go out together in one write: when `send_kept()` is called, or
    else by a callback scheduled with the first of them, at the end of the event loop's turn.

    `close()` and `write_eof()`
    send what is kept first, so nothing written before them is lost or reordered. `abort()`
    drops it, as the transport's own `abort()` drops its buffer.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._kept: list[bytes] = []
        self._kept_size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._kept:
            self._loop.call_soon(self.send_kept)
        # A mutable buffer is copied, as the transport copies what it cannot send at once:
        # the writer may reuse it before the turn ends.
        kept = data if isinstance(data, bytes) else bytes(data)
        self._kept.append(kept)
        self._kept_size += len(kept)
        if self._kept_size >= SEND_AT:
            self.send_kept()

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def send_kept(self) -> None:
        """Send what is kept now, in one write."""
        if not self._kept:
            return  # sent already
        kept = self._kept[0] if len(self._kept) == 1 else b"".join(self._kept)
        self._kept, self._kept_size = [], 0
        # The peer may have gone meanwhile: its transport is closing or closed, and what was
        # kept is dropped, as the transport itself drops writes after the connection is lost.
        if not self._transport.is_closing():
            self._transport.write(kept)

    def close(self) -> None:
        self.send_kept()
        self._transport.close()

    def write_eof(self) -> None:
        self.send_kept()
        self._transport.write_eof()

    def abort(self) -> None:
        self._kept, self._kept_size = [], 0
        self._transport.abort()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._kept_size

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()


class OneSendHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a `CorkedTransport`, which sends each response when it is
    complete."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.corked = CorkedTransport(transport, self.loop)
        super().connection_made(self.corked)

    def on_response_complete(self) -> None:
        # Called by the request's cycle right after the last of the response is written (or,
        # for HEAD, not written): the moment the stock protocol's last send would have left.
        self.corked.send_kept()
        super().on_response_complete()


UVICORN_HTTP = f"{__name__}:{OneSendHttpToolsProtocol.__name__}"
