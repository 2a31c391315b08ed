"""The device authorization grant (RFC 8628) over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.databases import execute, query, scalar
from tests.support.live import LiveServer
from tests.support.user_agent import UserAgent

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        database_url=database_url,
        workdir=tmp_path_factory.mktemp("server"),
        extra_env={
            "RESONITE_AUTH_DEVICE_POLL_INTERVAL": "1",
            "RESONITE_AUTH_DEVICE_GUESSES_PER_SESSION": "6",
            "RESONITE_AUTH_DEVICE_GUESSES_PER_ADDRESS": "100",
        },
    )
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def device_client(server: LiveServer) -> dict[str, Any]:
    args = [
        "clients",
        "create",
        "--name",
        "Headless Server",
        "--redirect-uri",
        "http://127.0.0.1/unused",
        "--scope",
        "openid profile offline_access",
        "--public",
        "--approve",
        "--device-grant",
    ]
    return dict(server.cli_json(*args))


@pytest.fixture(scope="module")
def person(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Dev{secrets.token_hex(3)}")


@pytest.fixture()
def agent(server: LiveServer) -> Iterator[UserAgent]:
    ua = UserAgent(server.url)
    yield ua
    ua.close()


def start(
    server: LiveServer, client: dict[str, Any], scope: str = "openid profile"
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/connect/deviceauthorization",
        data={"client_id": client["client_id"], "scope": scope},
    )


def poll(server: LiveServer, client: dict[str, Any], device_code: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/connect/token",
        data={
            "client_id": client["client_id"],
            "grant_type": DEVICE_GRANT,
            "device_code": device_code,
        },
    )


def error_of(response: httpx.Response) -> str:
    assert response.status_code in (400, 401), response.text
    return str(response.json()["error"])


def let_interval_pass(server: LiveServer) -> None:
    """Forget the last poll rather than sleeping through the interval."""
    execute(server.database_url, "UPDATE device_codes SET last_polled_at = NULL")


def confirm(
    server: LiveServer, agent: UserAgent, person: dict[str, Any], typed: str, decision: str
) -> httpx.Response:
    page = agent.go(f"{server.url}/device")
    if 'name="password"' in page.text:
        page = agent.sign_in(page, person["username"], person["password"])
    assert 'name="user_code"' in page.text
    confirmation = agent.submit(page, {"user_code": typed})
    assert confirmation.status_code == 200, confirmation.text[:300]
    assert "Headless Server" in confirmation.text
    return agent.decide(confirmation, decision)


def test_discovery_advertises_the_device_grant(server: LiveServer) -> None:
    metadata = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert metadata["device_authorization_endpoint"] == f"{server.url}/connect/deviceauthorization"
    assert DEVICE_GRANT in metadata["grant_types_supported"]


def test_device_authorization_response(server: LiveServer, device_client: dict[str, Any]) -> None:
    response = start(server, device_client)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert USER_CODE.match(body["user_code"])
    assert len(body["device_code"]) >= 43
    assert body["verification_uri"] == f"{server.url}/device"
    assert body["verification_uri_complete"] == f"{server.url}/device?user_code={body['user_code']}"
    assert body["expires_in"] == 600 and body["interval"] == 1
    stored = query(server.database_url, "SELECT * FROM device_codes")
    flat = repr(stored)
    assert body["device_code"] not in flat and body["user_code"].replace("-", "") not in flat


def test_device_authorization_errors(server: LiveServer, device_client: dict[str, Any]) -> None:
    url = f"{server.url}/connect/deviceauthorization"
    no_grant = server.create_client(["http://127.0.0.1/cb"], name="No Device", public=True)
    assert error_of(start(server, no_grant)) == "unauthorized_client"
    assert error_of(start(server, device_client, "openid email")) == "invalid_scope"
    assert error_of(start(server, device_client, "openid nonsense")) == "invalid_scope"
    assert (
        error_of(httpx.post(url, data={"client_id": "nope", "scope": "openid"})) == "invalid_client"
    )
    assert (
        error_of(httpx.post(url, json={"client_id": device_client["client_id"]}))
        == "invalid_request"
    )
    repeated = f"client_id={device_client['client_id']}&scope=openid&scope=profile"
    assert (
        error_of(
            httpx.post(
                url, content=repeated, headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
        )
        == "invalid_request"
    )
    confidential = server.create_client(["http://127.0.0.1/cb"], name="Conf Device")
    assert (
        error_of(httpx.post(url, data={"client_id": confidential["client_id"], "scope": "openid"}))
        == "invalid_client"
    )


def test_polling_pending_slow_down_then_tokens_once(
    server: LiveServer, device_client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    codes = start(server, device_client, "openid profile offline_access").json()
    assert error_of(poll(server, device_client, codes["device_code"])) == "authorization_pending"
    assert error_of(poll(server, device_client, codes["device_code"])) == "slow_down"
    interval = scalar(
        server.database_url,
        "SELECT interval FROM device_codes WHERE status = 'pending' "
        "ORDER BY created_at DESC LIMIT 1",
    )
    assert interval == 6
    done = confirm(server, agent, person, codes["user_code"].lower().replace("-", ""), "allow")
    assert "Device connected" in done.text
    let_interval_pass(server)
    tokens = poll(server, device_client, codes["device_code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["refresh_token"] and body["scope"] == "openid profile offline_access"
    profile = httpx.get(
        f"{server.url}/api/user/profiles",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert profile.json()["username"] == person["username"]
    let_interval_pass(server)
    assert error_of(poll(server, device_client, codes["device_code"])) == "invalid_grant"
    grants = scalar(
        server.database_url,
        "SELECT count(*) FROM grants WHERE client_id = :c AND account_id = :a",
        c=device_client["client_id"],
        a=person["id"],
    )
    assert grants == 1


def test_denied_expired_unknown_and_foreign_codes(
    server: LiveServer, device_client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    denied = start(server, device_client).json()
    assert "Request denied" in confirm(server, agent, person, denied["user_code"], "deny").text
    assert error_of(poll(server, device_client, denied["device_code"])) == "access_denied"

    expired = start(server, device_client).json()
    execute(
        server.database_url,
        "UPDATE device_codes SET expires_at = created_at WHERE status = 'pending'",
    )
    assert error_of(poll(server, device_client, expired["device_code"])) == "expired_token"

    assert error_of(poll(server, device_client, "not-a-device-code")) == "invalid_grant"
    fresh = start(server, device_client).json()
    thief = dict(
        server.cli_json(
            "clients",
            "create",
            "--name",
            "Thief",
            "--redirect-uri",
            "http://127.0.0.1/x",
            "--scope",
            "openid profile",
            "--public",
            "--approve",
            "--device-grant",
        )
    )
    assert error_of(poll(server, thief, fresh["device_code"])) == "invalid_grant"
    missing = httpx.post(
        f"{server.url}/connect/token",
        data={"client_id": device_client["client_id"], "grant_type": DEVICE_GRANT},
    )
    assert error_of(missing) == "invalid_request"


def test_the_device_page_explains_bad_codes(
    server: LiveServer, device_client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    page = agent.go(f"{server.url}/device")
    assert "/signin" in str(page.url)
    page = agent.sign_in(page, person["username"], person["password"])
    assert 'name="user_code"' in page.text
    for typed, message in (("hello", "not a device code"), ("BCDF-GHJK", "could not find")):
        answer = agent.submit(page, {"user_code": typed})
        assert answer.status_code == 400 and message in answer.text
    used = start(server, device_client).json()
    confirm(server, agent, person, used["user_code"], "deny")
    answer = agent.submit(agent.go(f"{server.url}/device"), {"user_code": used["user_code"]})
    assert "already used" in answer.text
    old = start(server, device_client).json()
    execute(
        server.database_url,
        "UPDATE device_codes SET expires_at = created_at WHERE status = 'pending'",
    )
    answer = agent.submit(agent.go(f"{server.url}/device"), {"user_code": old["user_code"]})
    assert "expired" in answer.text
    prefilled = agent.go(f"{server.url}/device?user_code={used['user_code'].lower()}")
    assert f'value="{used["user_code"]}"' in prefilled.text


def test_device_forms_need_csrf(
    server: LiveServer, device_client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    codes = start(server, device_client).json()
    page = agent.sign_in(agent.go(f"{server.url}/device"), person["username"], person["password"])
    assert (
        agent.submit(page, {"user_code": codes["user_code"], "csrf_token": "x"}).status_code == 403
    )
    confirmation = agent.submit(page, {"user_code": codes["user_code"]})
    assert agent.submit(confirmation, {"decision": "allow", "csrf_token": ""}).status_code == 403
    assert (
        scalar(
            server.database_url,
            "SELECT status FROM device_codes WHERE interval = 1 ORDER BY created_at DESC LIMIT 1",
        )
        == "pending"
    )


def test_qr_code_of_the_complete_uri(server: LiveServer) -> None:
    svg = httpx.get(f"{server.url}/device/qr", params={"user_code": "bcdf-ghjk"})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith("<svg")
    png = httpx.get(f"{server.url}/device/qr", params={"user_code": "BCDFGHJK", "format": "png"})
    assert png.content.startswith(b"\x89PNG")
    assert httpx.get(f"{server.url}/device/qr", params={"user_code": "AEIOU"}).status_code == 400


def guess(server: LiveServer, agent: UserAgent, person: dict[str, Any], typed: str) -> Any:
    page = agent.go(f"{server.url}/device")
    if 'name="password"' in page.text:
        page = agent.sign_in(page, person["username"], person["password"])
    return agent.submit(page, {"user_code": typed})


def test_code_guessing_is_limited_per_session(
    server: LiveServer, device_client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    for _ in range(6):
        assert guess(server, agent, person, "BCDF-BCDF").status_code == 400
    real = start(server, device_client).json()
    limited = guess(server, agent, person, real["user_code"])
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Too many wrong device codes" in limited.text
    other = UserAgent(server.url)  # another session is not held back by this one's guesses
    assert "Headless Server" in guess(server, other, person, real["user_code"]).text
    other.close()


def test_code_guessing_is_limited_per_address(
    server: LiveServer, device_client: dict[str, Any], person: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:  # fmt: skip
    strict = LiveServer(
        database_url=server.database_url,
        workdir=tmp_path_factory.mktemp("strict"),
        extra_env={"RESONITE_AUTH_DEVICE_GUESSES_PER_ADDRESS": "2"},
    )
    strict.start()
    try:
        statuses = []
        for _ in range(3):  # a fresh session each time: only the address is shared
            fresh = UserAgent(strict.url)
            statuses.append(guess(strict, fresh, person, "BCDF-BCDF").status_code)
            fresh.close()
        assert statuses == [400, 400, 429]
    finally:
        strict.stop()
