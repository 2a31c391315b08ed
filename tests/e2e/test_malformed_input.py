"""Arbitrary input never produces a 500 and never writes anything."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.databases import scalar
from tests.support.live import LiveServer

NAMES = st.sampled_from(
    [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
        "nonce",
        "grant_type",
        "code",
        "refresh_token",
        "code_verifier",
        "client_secret",
        "request",
    ]
)
VALUES = st.text(max_size=80) | st.sampled_from(["code", "S256", "plain", "none", "openid profile"])
PARAMS = st.lists(st.tuples(NAMES, VALUES), max_size=8)
TABLES = ("interactions", "authorization_codes", "tokens", "grants", "browser_sessions")


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The per-address limit on refused token requests would stop the fuzzing: lift it."""
    live = LiveServer(
        database_url=database_url,
        workdir=tmp_path_factory.mktemp("server"),
        extra_env={"RESONITE_AUTH_TOKEN_FAILURES_PER_ADDRESS": "100000"},
    )
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client(server: LiveServer) -> dict[str, Any]:
    return server.create_client(["http://127.0.0.1:65503/cb"], name="Fuzzed")


def counts(server: LiveServer) -> dict[str, int]:
    return {t: int(scalar(server.database_url, f"SELECT count(*) FROM {t}")) for t in TABLES}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=PARAMS)
def test_authorize_never_fails_with_a_server_error(
    server: LiveServer, client: dict[str, Any], params: list[tuple[str, str]]
) -> None:
    before = counts(server)
    for method in ("GET", "POST"):
        if method == "GET":
            response = httpx.get(f"{server.url}/connect/authorize", params=params)
        else:
            response = httpx.post(f"{server.url}/connect/authorize", data=dict(params))
        assert response.status_code in (303, 400), response.text[:200]
    after = counts(server)
    after["interactions"] = before["interactions"]  # a fully valid request may start one
    assert after == before


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=PARAMS, body=st.binary(max_size=200))
def test_token_endpoint_answers_rfc_errors(
    server: LiveServer, client: dict[str, Any], params: list[tuple[str, str]], body: bytes
) -> None:
    before = counts(server)
    auth = (client["client_id"], client["client_secret"])
    for response in (
        httpx.post(f"{server.url}/connect/token", data=dict(params), auth=auth),
        httpx.post(
            f"{server.url}/connect/token",
            content=body,
            auth=auth,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ):
        assert response.status_code in (400, 401), response.text[:200]
        assert set(response.json()) == {"error", "error_description"}
    assert counts(server) == before
