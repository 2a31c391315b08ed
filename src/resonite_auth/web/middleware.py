"""The outermost ASGI layer: security headers and request metrics on every response, the
public metadata documents answered from pre-encoded bytes, and the hot API endpoints answered
before the framework's routing.

One layer instead of one per concern: every request of the server passes here, so each
wrapper, closure and label lookup costs on every request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("resonite_auth")

# DESIGN: every page `frame-ancestors 'none'`; no third-party resources anywhere.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


@dataclass(frozen=True)
class Document:
    """A public JSON document served as is: its current bytes, and how long caches keep it."""

    body: Callable[[], Awaitable[bytes]]
    cache_control: bytes


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "resonite_auth_http_requests",
            "HTTP requests by route and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "resonite_auth_http_request_seconds",
            "HTTP request latency by route.",
            ["route"],
            registry=self.registry,
        )
        # Label children, looked up once: `labels()` takes a lock and builds a tuple each time.
        self._counters: dict[tuple[str, int], Counter] = {}
        self._histograms: dict[str, Histogram] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        counter = self._counters.get((route, status))
        if counter is None:
            counter = self._counters[(route, status)] = self.requests.labels(route, str(status))
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self._histograms[route] = self.latency.labels(route)
        counter.inc()
        histogram.observe(seconds)


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    """One whole JSON response, for ASGI endpoints that need no framework."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


SERVER_ERROR = b'{"error":"server_error","error_description":"An unexpected error occurred."}'
METHOD_NOT_ALLOWED = b'{"error":"invalid_request","error_description":"Method Not Allowed"}'


async def send_method_not_allowed(send: Send, allow: bytes) -> None:
    """RFC 9110 §15.5.6: 405 with the methods the resource takes."""
    await send_json(send, 405, METHOD_NOT_ALLOWED, [(b"allow", allow)])


class Edge:
    """Security headers and metrics for every HTTP response; `documents` (path → Document)
    answered to GET and HEAD here, before routing, since they are the same bytes for everyone;
    `endpoints` (path → ASGI app) called here, before routing, for every method: the hot API
    paths, which need none of the framework's layers."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        documents: Mapping[str, Document] | None = None,
        endpoints: Mapping[str, ASGIApp] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.documents = dict(documents or {})
        self.endpoints = dict(endpoints or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        document = self.documents.get(path) if method in ("GET", "HEAD") else None
        if document is not None:
            await self._send_document(document, send, with_body=method == "GET")
            self.metrics.observe(path, 200, time.perf_counter() - started)
            return
        endpoint = self.endpoints.get(path)
        status = 500
        started_response = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        try:
            if endpoint is None:
                await self.app(scope, receive, send_with_headers)
                return
            try:
                await endpoint(scope, receive, send_with_headers)
            except Exception:
                # The framework's last-resort handler is not on this path: log, answer 500.
                log.exception("unhandled error on %s", path)
                if started_response:
                    raise
                await send_json(send_with_headers, 500, SERVER_ERROR, [])
        finally:
            route = path if endpoint is not None else getattr(scope.get("route"), "path", None)
            self.metrics.observe(route or "unmatched", status, time.perf_counter() - started)

    @staticmethod
    async def _send_document(document: Document, send: Send, *, with_body: bool) -> None:
        body = await document.body()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", document.cache_control),
            *SECURITY_HEADERS,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body if with_body else b""})
