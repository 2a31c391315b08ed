"""Discovery and JWKS, answered before routing from pre-encoded bytes, over real HTTP."""

from __future__ import annotations

import json

import httpx

from tests.support.live import LiveServer

DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/.well-known/openid-configuration/jwks"


def test_discovery_is_json_with_cache_and_security_headers(server: LiveServer) -> None:
    response = httpx.get(server.url + DISCOVERY)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert int(response.headers["content-length"]) == len(response.content)
    document = json.loads(response.content)
    assert document["issuer"] == server.url
    assert document["jwks_uri"] == server.url + JWKS


def test_jwks_lists_public_keys_only(server: LiveServer) -> None:
    response = httpx.get(server.url + JWKS)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["x-content-type-options"] == "nosniff"
    keys = response.json()["keys"]
    assert keys
    kinds = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}
    for key in keys:
        assert kinds[key["alg"]] == key["kty"] and key["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    assert "RS256" in {key["alg"] for key in keys}  # always offered


def test_repeated_requests_get_the_same_bytes(server: LiveServer) -> None:
    with httpx.Client() as client:
        bodies = {client.get(server.url + DISCOVERY).content for _ in range(5)}
        jwks = {client.get(server.url + JWKS).content for _ in range(5)}
    assert len(bodies) == 1 and len(jwks) == 1


def test_head_has_the_headers_of_get_and_no_body(server: LiveServer) -> None:
    get = httpx.get(server.url + DISCOVERY)
    head = httpx.head(server.url + DISCOVERY)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["x-frame-options"] == "DENY"


def test_other_methods_are_refused_by_the_router(server: LiveServer) -> None:
    post = httpx.post(server.url + JWKS, data={"a": "b"})
    assert post.status_code == 405
    assert post.headers["x-frame-options"] == "DENY"


def test_documents_are_counted_in_the_metrics(server: LiveServer) -> None:
    httpx.get(server.url + DISCOVERY)
    metrics = httpx.get(server.url + "/metrics").text
    line = next(
        line
        for line in metrics.splitlines()
        if line.startswith("resonite_auth_http_requests_total")
        and f'route="{DISCOVERY}"' in line
        and 'status="200"' in line
    )
    assert float(line.rsplit(" ", 1)[1]) >= 1
