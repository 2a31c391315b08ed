"""Two-step sign-in (TOTP) through the real pages, without JavaScript, on both backends."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.support.databases import query, scalar
from tests.support.live import LiveServer
from tests.support.oidc import (
    REDIRECT,
    callback_query,
    enrol_totp,
    finish,
    form_index,
    id_token_claims,
    recovery_codes,
    signed_in_agent,
    start,
)
from tests.support.user_agent import UserAgent


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        database_url=database_url,
        workdir=tmp_path_factory.mktemp("server"),
        extra_env={"RESONITE_AUTH_SIGNIN_ATTEMPTS_PER_ADDRESS": "1000"},
    )
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client(server: LiveServer) -> dict[str, Any]:
    return server.create_client([REDIRECT], name="Two Step App")


def next_code(key: str) -> str:
    """The code of the next 30-second step: accepted (one step of drift), never a replay."""
    return pyotp.TOTP(key).at(time.time() + 30)


def person(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Totp{secrets.token_hex(4)}")


def test_enrol_then_sign_in_needs_a_code_and_amr_says_otp(
    server: LiveServer, client: dict[str, Any], database_url: str
) -> None:
    user = person(server)
    agent = signed_in_agent(server, user)
    key, codes, _ = enrol_totp(agent, server)
    assert scalar(database_url, f"SELECT totp_enabled FROM accounts WHERE id = '{user['id']}'")
    stored = query(
        database_url, "SELECT digest FROM recovery_codes WHERE account_id = :a", a=user["id"]
    )
    assert len(stored) == 10 and not {row["digest"] for row in stored} & set(codes)

    fresh = UserAgent(server.url)
    started = start(server, client, "openid profile")
    page = fresh.sign_in(fresh.go(started.url), user["username"], user["password"])
    assert page.url.path == "/signin/2fa"
    assert "Two-step sign-in" in page.text
    wrong = fresh.submit(page, {"code": "000000" if next_code(key) != "000000" else "111111"})
    assert wrong.status_code == 401 and "not right" in wrong.text
    page = fresh.submit(wrong, {"code": next_code(key)})
    page = fresh.decide(page, "allow")
    token = finish(server, started, page)
    claims = id_token_claims(server, token["id_token"])
    assert claims["amr"] == ["pwd", "otp"]
    profile = started.oauth.get(f"{server.url}/api/user/profiles").json()
    assert profile["2fa_login"] is True


def test_a_used_code_is_refused_within_its_window(server: LiveServer) -> None:
    user = person(server)
    key, _, confirm_code = enrol_totp(signed_in_agent(server, user), server)
    agent = UserAgent(server.url)
    page = agent.sign_in(agent.go(f"{server.url}/signin"), user["username"], user["password"])
    replay = agent.submit(page, {"code": confirm_code})
    assert replay.status_code == 401, "the code used to confirm enrolment was accepted again"
    code = next_code(key)
    assert agent.submit(replay, {"code": code}).status_code == 200
    other = UserAgent(server.url)
    page = other.sign_in(other.go(f"{server.url}/signin"), user["username"], user["password"])
    assert other.submit(page, {"code": code}).status_code == 401


def test_recovery_code_works_once(server: LiveServer, database_url: str) -> None:
    user = person(server)
    _, codes, _ = enrol_totp(signed_in_agent(server, user), server)
    agent = UserAgent(server.url)
    page = agent.sign_in(agent.go(f"{server.url}/signin"), user["username"], user["password"])
    index = form_index(page.text, "/signin/2fa") + 1  # the recovery code form comes second
    home = agent.submit(page, {"code": codes[3].upper()}, index=index)
    assert home.status_code == 200 and user["username"] in home.text
    used = scalar(
        database_url,
        f"SELECT COUNT(*) FROM recovery_codes WHERE account_id = '{user['id']}' "
        "AND used_at IS NOT NULL",
    )
    assert used == 1
    again = UserAgent(server.url)
    page = again.sign_in(again.go(f"{server.url}/signin"), user["username"], user["password"])
    assert again.submit(page, {"code": codes[3]}, index=index).status_code == 401


def test_disable_needs_password_and_code_then_reset_by_cli(
    server: LiveServer, database_url: str
) -> None:
    user = person(server)
    agent = signed_in_agent(server, user)
    _, codes, _ = enrol_totp(agent, server)
    page = agent.go(f"{server.url}/account/security")
    index = form_index(page.text, "totp/disable")
    refused = agent.submit(page, {"password": "wrong password!", "code": codes[0]}, index=index)
    assert refused.status_code == 400
    done = agent.submit(page, {"password": user["password"], "code": codes[0]}, index=index)
    assert done.status_code == 200 and "Two-step sign-in is off" in done.text

    enrol_totp(agent, server)
    result = server.cli_json("users", "reset-2fa", user["username"])
    assert result["2fa_login"] is False
    row = query(
        database_url, "SELECT totp_enabled, totp_secret FROM accounts WHERE id = :a", a=user["id"]
    )
    assert row == [{"totp_enabled": False, "totp_secret": None}]
    assert (
        scalar(
            database_url, f"SELECT COUNT(*) FROM recovery_codes WHERE account_id = '{user['id']}'"
        )
        == 0
    )


def test_prompt_none_after_two_step_turned_on_elsewhere_is_interaction_required(
    server: LiveServer, client: dict[str, Any]
) -> None:
    user = person(server)
    old = signed_in_agent(server, user)  # a session from before two-step was on
    started = start(server, client, "openid profile")
    finish(server, started, old.decide(old.go(started.url), "allow"))
    enrol_totp(signed_in_agent(server, user), server)
    silent = start(server, client, "openid profile", prompt="none")
    answer = callback_query(old, old.go(silent.url))
    assert answer["error"] == "interaction_required"
    assert answer["state"] == silent.state
    page = old.go(start(server, client, "openid profile").url)
    assert 'name="password"' in page.text  # the old session must sign in again


def test_challenge_without_its_cookie_is_refused(server: LiveServer, tmp_path: Path) -> None:
    agent = UserAgent(server.url)
    page = agent.go(f"{server.url}/signin/2fa")
    assert page.status_code == 400 and "expired" in page.text


def test_new_recovery_codes_replace_the_old_ones(server: LiveServer) -> None:
    user = person(server)
    agent = signed_in_agent(server, user)
    _, old_codes, _ = enrol_totp(agent, server)
    page = agent.go(f"{server.url}/account/security")
    index = form_index(page.text, "recovery-codes")
    refused = agent.submit(page, {"password": "not my password"}, index=index)
    assert refused.status_code == 400 and "password is not right" in refused.text
    page = agent.submit(page, {"password": user["password"]}, index=index)
    assert "Your old recovery codes no longer work" in page.text
    new_codes = recovery_codes(page.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)

    fresh = UserAgent(server.url)
    step = fresh.sign_in(fresh.go(f"{server.url}/signin"), user["username"], user["password"])
    recovery_form = form_index(step.text, "/signin/2fa") + 1
    assert fresh.submit(step, {"code": old_codes[0]}, index=recovery_form).status_code == 401
    assert fresh.submit(step, {"code": new_codes[0]}, index=recovery_form).status_code == 200
