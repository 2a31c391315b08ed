"""The corked transport under uvicorn's protocol (web/one_send.py), on real loopback TCP with
asyncio's and uvloop's event loops: what is written during one turn of the loop goes out
together when the turn ends, in order; large writes, close(), write_eof() and abort() behave as
the transport's own; a peer that has gone is no error."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, cast

import pytest
import uvloop

from resonite_auth.web.one_send import SEND_AT, CorkedTransport

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


@pytest.fixture(params=sorted(LOOPS))
def loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = LOOPS[request.param]()
    errors: list[dict[str, Any]] = []
    event_loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield event_loop
    event_loop.close()
    assert errors == [], "the loop reported an error"


Scenario = Callable[[CorkedTransport, socket.socket], Awaitable[None]]


def run(loop: asyncio.AbstractEventLoop, scenario: Scenario) -> None:
    """`scenario(corked, peer)`: a corked transport of a TCP connection, and the socket of its
    other end (non-blocking)."""

    async def connected() -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            port = listener.getsockname()[1]
            transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
            peer, _ = listener.accept()
        peer.setblocking(False)
        # uvloop's transports do not derive from asyncio.Transport; they have its methods.
        corked = CorkedTransport(cast(asyncio.Transport, transport), loop)
        try:
            await scenario(corked, peer)
        finally:
            transport.abort()
            peer.close()

    loop.run_until_complete(asyncio.wait_for(connected(), 10))


def nothing_yet(peer: socket.socket) -> bool:
    try:
        peer.recv(1 << 20)
    except BlockingIOError:
        return True
    return False


async def received(peer: socket.socket, size: int) -> bytes:
    """What the peer reads until `size` bytes or end of stream, waiting on the loop."""
    data = b""
    while len(data) < size:
        try:
            chunk = peer.recv(1 << 20)
        except BlockingIOError:
            await asyncio.sleep(0.001)
            continue
        if not chunk:
            break
        data += chunk
    return data


async def end_of_stream(peer: socket.socket) -> bool:
    for _ in range(2000):
        try:
            return peer.recv(1) == b""
        except BlockingIOError:
            await asyncio.sleep(0.001)
        except ConnectionResetError:
            return True
    return False


def test_writes_of_one_turn_leave_together_at_its_end(loop: asyncio.AbstractEventLoop) -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"
    pipelined = b"HTTP/1.1 204 No Content\r\n\r\n"

    async def scenario(corked: CorkedTransport, peer: socket.socket) -> None:
        corked.write(head)
        corked.write(b"{}")
        corked.writelines([pipelined])
        assert corked.get_write_buffer_size() == len(head) + 2 + len(pipelined)
        # Still in the same turn: the kernel has nothing for the peer yet.
        assert nothing_yet(peer)
        expected = head + b"{}" + pipelined
        assert await received(peer, len(expected)) == expected
        assert corked.get_write_buffer_size() == 0

    run(loop, scenario)


def test_a_buffer_reused_after_its_write_is_sent_as_written(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def scenario(corked: CorkedTransport, peer: socket.socket) -> None:
        buffer = bytearray(b"as written")
        corked.write(buffer)
        corked.write(memoryview(b" and then"))
        buffer[:] = b"overwritten"
        assert await received(peer, 19) == b"as written and then"

    run(loop, scenario)


def test_a_later_turn_starts_a_new_send(loop: asyncio.AbstractEventLoop) -> None:
    async def scenario(corked: CorkedTransport, peer: socket.socket) -> None:
        corked.write(b"first")
        assert await received(peer, 5) == b"first"
        corked.write(b"second")
        assert nothing_yet(peer)
        assert await received(peer, 6) == b"second"

    run(loop, scenario)


def test_a_large_response_is_sent_as_it_is_written(loop: asyncio.AbstractEventLoop) -> None:
    """Past SEND_AT bytes the writes go to the transport at once, so its flow control sees them."""

    async def scenario(corked: CorkedTransport, peer: socket.socket) -> None:
        corked.write(b"h" * 100)
        corked.write(b"b" * SEND_AT)
        assert corked.get_write_buffer_size() < SEND_AT  # handed to the transport
        assert not nothing_yet(peer)  # and in the kernel before the turn ends

    run(loop, scenario)


def test_close_sends_what_was_kept_then_ends_the_stream(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def scenario(corked: CorkedTransport, peer: socket.socket) -> None:
        corked.write(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
        corked.close()
        assert corked.is_closing()
        data = await received(peer, 1 << 16)
        assert data == b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"

    run(loop, scenario)


def test_write_eof_sends_what_was_kept_first(loop: asyncio.AbstractEventLoop) -> None:
    async def scenario(corked: CorkedTransport, peer: socket.socket) -> None:
        assert corked.can_write_eof()
        corked.write(b"last words")
        corked.write_eof()
        assert await received(peer, 1 << 16) == b"last words"

    run(loop, scenario)


def test_abort_drops_what_was_kept(loop: asyncio.AbstractEventLoop) -> None:
    async def scenario(corked: CorkedTransport, peer: socket.socket) -> None:
        corked.write(b"never sent")
        corked.abort()
        await asyncio.sleep(0)  # the turn ends: the scheduled send finds nothing
        assert await end_of_stream(peer)

    run(loop, scenario)


def test_a_peer_that_has_gone_is_no_error(loop: asyncio.AbstractEventLoop) -> None:
    """The connection is lost before the turn ends: what was kept is dropped, as the
    transport drops writes after a lost connection, and the loop reports nothing."""

    async def scenario(corked: CorkedTransport, peer: socket.socket) -> None:
        corked.write(b"too late")
        corked._transport.abort()  # the connection ends under the corked transport
        await asyncio.sleep(0.01)
        assert corked.is_closing()
        assert await end_of_stream(peer)

    run(loop, scenario)


def test_the_rest_of_the_transport_is_the_transports(loop: asyncio.AbstractEventLoop) -> None:
    async def scenario(corked: CorkedTransport, peer: socket.socket) -> None:
        assert corked.get_extra_info("peername") == peer.getsockname()
        assert corked.is_reading()
        corked.pause_reading()
        assert not corked.is_reading()
        corked.resume_reading()
        assert corked.is_reading()
        corked.set_write_buffer_limits(high=1000, low=10)
        assert corked.get_write_buffer_limits() == (10, 1000)
        protocol = corked.get_protocol()
        replacement = asyncio.Protocol()
        corked.set_protocol(replacement)
        assert corked.get_protocol() is replacement
        corked.set_protocol(protocol)

    run(loop, scenario)


def test_serve_names_the_protocol_as_uvicorn_imports_it() -> None:
    from uvicorn.importer import import_from_string

    from resonite_auth.web.one_send import UVICORN_HTTP, OneSendHttpToolsProtocol

    assert import_from_string(UVICORN_HTTP) is OneSendHttpToolsProtocol


def test_a_complete_response_does_not_wait_for_the_rest_of_the_turn(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """The app finishes its response, then holds the loop's thread (as a SQLite write unit of
    another request does): the client has the whole response before the thread is released."""
    import threading

    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from resonite_auth.web.one_send import OneSendHttpToolsProtocol

    released = threading.Event()  # set by the client once it has the whole answer
    held_until_released = threading.Event()  # set by the app when it lets the thread go
    body = b'{"ok":true}'

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        released.wait(5)  # the loop's thread is held until the client has read the answer
        held_until_released.set()

    config = Config(app, http=OneSendHttpToolsProtocol, lifespan="off", log_level="warning")
    state = ServerState()
    answered_first: list[bool] = []

    def client(port: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            data = b""
            while not data.endswith(body):
                data += sock.recv(65536)
            answered_first.append(not held_until_released.is_set())
            released.set()

    async def scenario() -> None:
        server = await loop.create_server(
            lambda: OneSendHttpToolsProtocol(config, state, {}, _loop=loop), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        reader = threading.Thread(target=client, args=(port,))
        reader.start()
        try:
            await asyncio.to_thread(reader.join, 15)
        finally:
            released.set()
            server.close()
            for task in list(state.tasks):
                await task
            for protocol in list(state.connections):
                protocol.shutdown()  # type: ignore[union-attr]
            await server.wait_closed()

    loop.run_until_complete(asyncio.wait_for(scenario(), 20))
    assert answered_first == [True]
