"""Brute-force defence against live servers: in-process limits, and Redis shared by two servers."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.databases import query
from tests.support.live import LiveServer
from tests.support.oidc import enrol_totp, signed_in_agent
from tests.support.user_agent import UserAgent

SMALL = {
    "RESONITE_AUTH_SIGNIN_ATTEMPTS_PER_ACCOUNT": "3",
    "RESONITE_AUTH_SIGNIN_ATTEMPTS_PER_ADDRESS": "1000",
    "RESONITE_AUTH_TOKEN_FAILURES_PER_ADDRESS": "3",
}


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(database_url, tmp_path_factory.mktemp("server"), extra_env=SMALL)
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def redis_pair(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    env = {
        "RESONITE_AUTH_REDIS_URL": "redis://127.0.0.1:6379/0",
        "RESONITE_AUTH_REDIS_PREFIX": f"test-{secrets.token_hex(6)}:",
        "RESONITE_AUTH_SIGNIN_ATTEMPTS_PER_ACCOUNT": "3",
        "RESONITE_AUTH_SIGNIN_ATTEMPTS_PER_ADDRESS": "5",
    }
    first = LiveServer(database_url, tmp_path_factory.mktemp("redis1"), extra_env=env)
    second = LiveServer(database_url, tmp_path_factory.mktemp("redis2"), extra_env=env)
    first.start()
    second.start()
    yield first, second
    first.stop()
    second.stop()


def attempt(server: LiveServer, username: str, password: str) -> httpx.Response:
    agent = UserAgent(server.url)
    try:
        return agent.sign_in(agent.go(f"{server.url}/signin"), username, password)
    finally:
        agent.close()


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.status_code
    assert 0 < int(response.headers["retry-after"]) <= 900
    assert "Too many sign-in attempts" in response.text


def test_account_limit_trips_and_a_success_resets_it(server: LiveServer, database_url: str) -> None:
    user = server.create_user(f"Limit{secrets.token_hex(3)}")
    for _ in range(2):
        assert attempt(server, user["username"], "wrong password").status_code == 401
    assert attempt(server, user["username"], user["password"]).status_code == 200
    for _ in range(3):  # the success started the count over: three more failures are answered
        assert attempt(server, user["username"], "wrong password").status_code == 401
    assert_limited(attempt(server, user["username"], user["password"]))
    tripped = query(
        database_url, "SELECT detail FROM audit_events WHERE event = 'ratelimit.tripped'"
    )
    assert any("signin-account" in str(row["detail"]) for row in tripped)
    assert_limited(attempt(server, f"{user['username'].lower()}@example.com", "x"))
    other = server.create_user(f"Other{secrets.token_hex(3)}")
    assert attempt(server, other["username"], other["password"]).status_code == 200


def test_unknown_and_known_usernames_get_the_same_answers(server: LiveServer) -> None:
    user = server.create_user(f"Known{secrets.token_hex(3)}")
    unknown = f"Nobody{secrets.token_hex(3)}"
    agent = UserAgent(server.url)  # one browser, so both pages carry the same CSRF token
    known_answer = agent.sign_in(agent.go(f"{server.url}/signin"), user["username"], "wrong pw")
    unknown_answer = agent.sign_in(agent.go(f"{server.url}/signin"), unknown, "wrong pw")
    assert known_answer.status_code == unknown_answer.status_code == 401
    assert known_answer.text.replace(user["username"], "X") == unknown_answer.text.replace(
        unknown, "X"
    )
    for _ in range(2):
        attempt(server, user["username"], "wrong password")
        attempt(server, unknown, "wrong password")
    limited_known = attempt(server, user["username"], "wrong password")
    limited_unknown = attempt(server, unknown, "wrong password")
    assert_limited(limited_known)
    assert_limited(limited_unknown)
    assert limited_known.text == limited_unknown.text


def test_two_step_codes_are_limited_per_account(server: LiveServer) -> None:
    user = server.create_user(f"Codes{secrets.token_hex(3)}")
    enrol_totp(signed_in_agent(server, user), server)
    agent = UserAgent(server.url)
    page = agent.sign_in(agent.go(f"{server.url}/signin"), user["username"], user["password"])
    for guess in ("000000", "999999", "nonsense-recovery"):
        page = agent.submit(page, {"code": guess})
        assert page.status_code in (401, 200)
        assert page.status_code == 401 or guess == "000000"
    assert_limited(agent.submit(page, {"code": "123456"}))


def test_token_endpoint_limits_refused_requests_per_address(server: LiveServer) -> None:
    body = {"grant_type": "authorization_code", "code": "guess", "client_id": "nobody"}
    for _ in range(3):
        answer = httpx.post(f"{server.url}/connect/token", data=body)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    limited = httpx.post(f"{server.url}/connect/token", data=body)
    assert limited.status_code == 429
    assert limited.json()["error"] == "temporarily_unavailable"
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert limited.headers["cache-control"] == "no-store"


def test_redis_limits_are_shared_by_instances(redis_pair: tuple[LiveServer, LiveServer]) -> None:
    first, second = redis_pair
    user: dict[str, Any] = first.create_user(f"Shared{secrets.token_hex(3)}")
    for _ in range(3):
        assert attempt(first, user["username"], "wrong password").status_code == 401
    assert_limited(attempt(second, user["username"], user["password"]))
    # Two more failures from this address on the other instance reach the address limit (5).
    other = second.create_user(f"Addr{secrets.token_hex(3)}")
    for _ in range(2):
        assert attempt(second, other["username"], "wrong password").status_code == 401
    third = first.create_user(f"Third{secrets.token_hex(3)}")
    assert_limited(attempt(first, third["username"], third["password"]))
