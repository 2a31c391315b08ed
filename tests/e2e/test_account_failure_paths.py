"""The failure paths of the account pages: each answers a readable page, changes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from tests.support.databases import execute, query, scalar, wait_for_rows
from tests.support.live import LiveServer
from tests.support.oidc import enrol_totp, form_index, signed_in_agent, totp_key
from tests.support.user_agent import UserAgent


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        database_url,
        tmp_path_factory.mktemp("server"),
        extra_env={"RESONITE_AUTH_SIGNIN_ATTEMPTS_PER_ADDRESS": "1000"},
    )
    live.start()
    yield live
    live.stop()


@pytest.fixture()
def user(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Fail{secrets.token_hex(4)}")


def test_wrong_code_does_not_turn_two_step_on(
    server: LiveServer, user: dict[str, Any], database_url: str
) -> None:
    agent = signed_in_agent(server, user)
    page = agent.go(f"{server.url}/account/security")
    page = agent.submit(page, {}, index=form_index(page.text, "totp/start"))
    key = totp_key(page.text)
    wrong = "123456" if pyotp.TOTP(key).now() != "123456" else "654321"
    refused = agent.submit(page, {"code": wrong}, index=form_index(page.text, "totp/confirm"))
    assert refused.status_code == 400 and "not right" in refused.text
    assert totp_key(refused.text) == key  # the same key, still waiting for a right code
    enabled = scalar(database_url, f"SELECT totp_enabled FROM accounts WHERE id = '{user['id']}'")
    assert not enabled


def test_setting_up_again_while_on_is_refused(server: LiveServer, user: dict[str, Any]) -> None:
    agent = signed_in_agent(server, user)
    enrol_totp(agent, server)
    csrf = agent.http.cookies["csrf"]
    answer = agent.http.post(f"{server.url}/account/security/totp/start", data={"csrf_token": csrf})
    assert answer.status_code == 400 and "already on" in answer.text


def test_revoking_or_ending_what_is_not_yours_changes_nothing(
    server: LiveServer, user: dict[str, Any], database_url: str
) -> None:
    agent = signed_in_agent(server, user)
    csrf = agent.http.cookies["csrf"]
    before = query(
        database_url, "SELECT COUNT(*) AS n FROM browser_sessions WHERE ended_at IS NULL"
    )
    for path, field in (
        ("/account/applications/revoke", "grant"),
        ("/account/sessions/end", "session"),
    ):
        answer = agent.http.post(server.url + path, data={"csrf_token": csrf, field: "nope"})
        assert answer.status_code == 303
    after = query(database_url, "SELECT COUNT(*) AS n FROM browser_sessions WHERE ended_at IS NULL")
    assert before == after


def test_expired_and_forged_links_are_refused(
    server: LiveServer, user: dict[str, Any], database_url: str
) -> None:
    agent = UserAgent(server.url)
    for path in ("/verify-email", "/reset-password"):
        page = agent.go(f"{server.url}{path}?token=forged")
        assert page.status_code == 400 and "not valid any more" in page.text
    csrf = agent.http.cookies["csrf"]
    for path in ("/verify-email", "/reset-password"):
        answer = agent.http.post(
            server.url + path,
            data={
                "csrf_token": csrf,
                "token": "forged",
                "new": "a long new secret",
                "confirm": "a long new secret",
            },
        )
        assert answer.status_code == 400 and "not valid any more" in answer.text


def test_an_expired_reset_link_is_refused(
    server: LiveServer, user: dict[str, Any], database_url: str
) -> None:
    agent = UserAgent(server.url)
    page = agent.go(f"{server.url}/forgot-password")
    agent.submit(page, {"login": user["username"]})
    rows = wait_for_rows(
        database_url,
        "SELECT body FROM outbox WHERE subject = 'Reset your password' AND recipient = :r",
        r=f"{user['username'].lower()}@example.com",
    )
    link = next(line for line in rows[0]["body"].splitlines() if "/reset-password?token=" in line)
    page = agent.go(link)
    mismatch = agent.submit(page, {"new": "a long new secret", "confirm": "another long one"})
    assert mismatch.status_code == 400 and "not the same" in mismatch.text
    execute(
        database_url,
        "UPDATE account_links SET expires_at = created_at WHERE account_id = :a",
        a=user["id"],
    )
    assert agent.go(link).status_code == 400
    assert (
        agent.submit(page, {"new": "a long new secret", "confirm": "a long new secret"}).status_code
        == 400
    )
    signed_in_agent(server, user)  # the old password still works


def test_endsession_confirmation_refuses_a_forged_hint(
    server: LiveServer, user: dict[str, Any]
) -> None:
    agent = signed_in_agent(server, user)
    page = agent.go(f"{server.url}/connect/endsession")
    answer = agent.submit(page, {"id_token_hint": "forged.token.value"})
    assert answer.status_code == 400
    assert user["username"] in agent.go(f"{server.url}/account").text
