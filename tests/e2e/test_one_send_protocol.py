"""HTTP/1.1 through `serve`'s protocol, whose responses leave in one send (web/one_send.py), on a
raw socket: pipelined requests are answered in order, a HEAD answer (a head with no body) is
not held back, an `Expect: 100-continue` request gets its interim answer before it sends its
body, and a connection the server closes gets its whole answer first."""

from __future__ import annotations

import json
import socket

from tests.support.live import LiveServer

DISCOVERY = "/.well-known/openid-configuration"
TIMEOUT = 10


def connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    return sock


def read_response(sock: socket.socket, buffer: bytearray, *, head_only: bool = False) -> bytes:
    """One whole response from `sock` (by its content-length), leaving what follows in
    `buffer`. A socket timeout fails the test: the answer was held back."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection before answering"
        buffer += chunk
    head_end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:head_end]).decode("latin-1")
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    total = head_end + (0 if head_only else length)
    while len(buffer) < total:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-answer"
        buffer += chunk
    response = bytes(buffer[:total])
    del buffer[:total]
    return response


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def body_of(response: bytes) -> bytes:
    return response.split(b"\r\n\r\n", 1)[1]


def get(path: str, *, method: str = "GET", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{extra}\r\n".encode()


def test_pipelined_requests_are_answered_in_order(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(get(DISCOVERY) + get("/healthz") + get(DISCOVERY))
        buffer = bytearray()
        first, second, third = (read_response(sock, buffer) for _ in range(3))
    assert [status_of(r) for r in (first, second, third)] == [200, 200, 200]
    assert json.loads(body_of(first))["issuer"] == server.url
    assert json.loads(body_of(second)) == {"status": "ok"}
    assert body_of(third) == body_of(first)
    assert buffer == b""


def test_a_head_answer_is_sent_and_the_connection_goes_on(server: LiveServer) -> None:
    with connect(server) as sock:
        buffer = bytearray()
        sock.sendall(get(DISCOVERY, method="HEAD"))
        head = read_response(sock, buffer, head_only=True)
        sock.sendall(get(DISCOVERY))
        full = read_response(sock, buffer)
    assert status_of(head) == 200 and body_of(head) == b""
    assert status_of(full) == 200
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    assert length == len(body_of(full))


def test_expect_100_continue_gets_its_interim_answer_first(server: LiveServer) -> None:
    body = b"grant_type=urn%3Aexample%3Anot-a-grant&client_id=nobody"
    with connect(server) as sock:
        buffer = bytearray()
        sock.sendall(
            get(
                "/connect/token",
                method="POST",
                extra=(
                    "content-type: application/x-www-form-urlencoded\r\n"
                    f"content-length: {len(body)}\r\nexpect: 100-continue\r\n"
                ),
            )
        )
        # The server asks for the body only when the endpoint reads it; until then the
        # request is incomplete, so the 100 must not wait for a later write.
        interim = read_response(sock, buffer, head_only=True)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(body)
        final = read_response(sock, buffer)
    assert status_of(final) in (400, 401)
    assert json.loads(body_of(final))["error"] in ("unsupported_grant_type", "invalid_client")


def test_a_closed_connection_gets_its_whole_answer_first(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(get("/healthz", extra="connection: close\r\n"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert status_of(data) == 200
    assert json.loads(body_of(data)) == {"status": "ok"}
