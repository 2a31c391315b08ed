"""The outermost layer on its own: endpoints answered before routing keep the security
headers and metrics, and an endpoint's unexpected error becomes a 500 JSON answer."""

from __future__ import annotations

import httpx
from starlette.types import Receive, Scope, Send

from resonite_auth.web.middleware import Edge, Metrics, send_json


async def framework(scope: Scope, receive: Receive, send: Send) -> None:
    await send_json(send, 200, b'{"from":"framework"}', [])


async def hot(scope: Scope, receive: Receive, send: Send) -> None:
    await send_json(send, 200, b'{"from":"hot"}', [(b"cache-control", b"no-store")])


async def broken(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("the database went away")


def sample(metrics: Metrics, route: str, status: str) -> float | None:
    return metrics.registry.get_sample_value(
        "resonite_auth_http_requests_total", {"route": route, "status": status}
    )


async def test_endpoints_are_answered_before_the_app_with_headers_and_metrics() -> None:
    metrics = Metrics()
    edge = Edge(framework, metrics, endpoints={"/hot": hot, "/broken": broken})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=edge), base_url="http://edge"
    ) as client:
        answer = await client.get("/hot")
        assert answer.json() == {"from": "hot"}
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-frame-options"] == "DENY"
        assert (await client.get("/elsewhere")).json() == {"from": "framework"}

        failed = await client.post("/broken")
        assert failed.status_code == 500
        assert failed.json()["error"] == "server_error"
        assert "database" not in failed.text  # nothing internal leaks
        assert failed.headers["x-content-type-options"] == "nosniff"
    assert sample(metrics, "/hot", "200") == 1
    assert sample(metrics, "/broken", "500") == 1
    assert sample(metrics, "unmatched", "200") == 1
