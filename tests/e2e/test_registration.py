"""Registration, email verification and password reset with a real SMTP server, live."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import query
from tests.support.live import LiveServer
from tests.support.oidc import form_index, signed_in_agent
from tests.support.smtp import SmtpServer, link_in
from tests.support.user_agent import UserAgent

PASSWORD = "a long and new secret"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer
) -> Iterator[LiveServer]:
    live = LiveServer(
        database_url,
        tmp_path_factory.mktemp("server"),
        extra_env={
            "RESONITE_AUTH_SMTP_URL": smtp.url,
            "RESONITE_AUTH_SIGNIN_ATTEMPTS_PER_ADDRESS": "1000",
        },
    )
    live.start()
    yield live
    live.stop()


def register(agent: UserAgent, server: LiveServer, **fields: str) -> Any:
    page = agent.go(f"{server.url}/register")
    return agent.submit(page, fields)


def test_register_verify_email_then_sign_in(
    server: LiveServer, smtp: SmtpServer, database_url: str
) -> None:
    name = f"New{secrets.token_hex(3)}"
    email = f"{name.lower()}@example.com"
    agent = UserAgent(server.url)
    page = register(agent, server, username=name, email=email, password=PASSWORD, confirm=PASSWORD)
    assert page.status_code == 200 and "Check your email" in page.text
    row = query(
        database_url,
        "SELECT email_verified, is_verified, normalized_username FROM accounts WHERE username = :u",
        u=name,
    )
    assert row == [
        {"email_verified": False, "is_verified": False, "normalized_username": name.lower()}
    ]

    first = link_in(smtp.inbox.wait_for(email, "Confirm your email address"), "/verify-email")
    agent = signed_in_agent(server, {"username": name, "password": PASSWORD})
    home = agent.go(f"{server.url}/account")
    assert "Not verified" in home.text
    home = agent.submit(home, {}, index=form_index(home.text, "/account/verify-email/resend"))
    assert "We sent a new confirmation link" in home.text
    smtp.inbox.messages.remove(smtp.inbox.wait_for(email, "Confirm your email address"))
    link = link_in(smtp.inbox.wait_for(email, "Confirm your email address"), "/verify-email")
    assert link != first
    assert agent.go(first).status_code == 400  # only the newest link works
    page = agent.go(link)
    assert "Confirm your email" in page.text  # a button, not an action on GET
    done = agent.submit(page, {})
    assert "Your email is confirmed" in done.text
    row = query(database_url, "SELECT is_verified FROM accounts WHERE username = :u", u=name)
    assert row == [{"is_verified": True}]
    again = agent.go(link)
    assert again.status_code == 400 and "not valid any more" in again.text
    assert "Not verified" not in agent.go(f"{server.url}/account").text


def test_registration_refuses_taken_names_any_case_and_weak_passwords(server: LiveServer) -> None:
    taken = server.create_user(f"Taken{secrets.token_hex(3)}")
    agent = UserAgent(server.url)
    page = register(
        agent,
        server,
        username=taken["username"].upper(),
        email=f"x{secrets.token_hex(3)}@example.com",
        password=PASSWORD,
        confirm=PASSWORD,
    )
    assert page.status_code == 400 and "That username is taken" in page.text
    page = register(
        agent,
        server,
        username="Fresh Name",
        email="fresh@example.com",
        password="qwerty123",
        confirm="qwerty123",
    )
    assert page.status_code == 400 and "common" in page.text
    page = register(
        agent,
        server,
        username="Fresh Name",
        email="fresh@example.com",
        password=PASSWORD,
        confirm="different one!",
    )
    assert page.status_code == 400 and "not the same" in page.text
    page = register(
        agent, server, username="!!", email="fresh@example.com", password=PASSWORD, confirm=PASSWORD
    )
    assert page.status_code == 400 and "Usernames are 3 to 32" in page.text


def test_a_taken_email_is_not_revealed_and_its_owner_is_told(
    server: LiveServer, smtp: SmtpServer, database_url: str
) -> None:
    owner = server.create_user(f"Owner{secrets.token_hex(3)}")
    email = f"{owner['username'].lower()}@example.com"
    name = f"Copycat{secrets.token_hex(3)}"
    agent = UserAgent(server.url)
    page = register(
        agent, server, username=name, email=email.upper(), password=PASSWORD, confirm=PASSWORD
    )
    fresh_email = f"{name.lower()}@example.com"
    fresh = register(
        agent, server, username=name, email=fresh_email, password=PASSWORD, confirm=PASSWORD
    )
    assert page.status_code == fresh.status_code == 200
    assert page.text.replace(email.upper(), "X") == fresh.text.replace(fresh_email, "X")
    assert smtp.inbox.wait_for(email, "You already have a Resonite account")
    rows = query(database_url, "SELECT email FROM accounts WHERE username = :u", u=name)
    assert rows == [{"email": fresh_email}]  # only the second, with its own address, exists


def test_password_reset_by_link_is_single_use_and_answers_alike(
    server: LiveServer, smtp: SmtpServer, database_url: str
) -> None:
    user = server.create_user(f"Reset{secrets.token_hex(3)}")
    email = f"{user['username'].lower()}@example.com"
    agent = signed_in_agent(server, user)
    fresh = UserAgent(server.url)
    known = fresh.submit(fresh.go(f"{server.url}/forgot-password"), {"login": email})
    unknown = fresh.submit(
        fresh.go(f"{server.url}/forgot-password"), {"login": "nobody@example.com"}
    )
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    link = link_in(smtp.inbox.wait_for(email, "Reset your password"), "/reset-password")
    page = fresh.go(link)
    weak = fresh.submit(page, {"new": "password1", "confirm": "password1"})
    assert weak.status_code == 400
    done = fresh.submit(page, {"new": PASSWORD, "confirm": PASSWORD})
    assert "Your password is changed" in done.text
    assert "Sign in to see" in agent.go(server.url + "/").text  # every session ended
    assert fresh.go(link).status_code == 400
    signed_in_agent(server, {**user, "password": PASSWORD})
    events = {
        r["event"]
        for r in query(
            database_url, "SELECT event FROM audit_events WHERE account_id = :a", a=user["id"]
        )
    }
    assert {"password.reset_requested", "password.reset"} <= events


def test_signup_can_be_turned_off(database_url: str, tmp_path: Path) -> None:
    live = LiveServer(database_url, tmp_path, extra_env={"RESONITE_AUTH_SIGNUP": "false"})
    live.start()
    try:
        agent = UserAgent(live.url)
        page = agent.go(f"{live.url}/register")
        assert page.status_code == 404 and "Registration is closed" in page.text
        assert "Create an account" not in agent.go(f"{live.url}/signin").text
    finally:
        live.stop()


def test_registration_survives_a_mail_server_that_is_down(
    database_url: str, tmp_path: Path
) -> None:
    live = LiveServer(
        database_url, tmp_path, extra_env={"RESONITE_AUTH_SMTP_URL": "smtp://127.0.0.1:1"}
    )
    live.start()
    try:
        name = f"NoMail{secrets.token_hex(3)}"
        page = register(
            UserAgent(live.url),
            live,
            username=name,
            email=f"{name.lower()}@example.com",
            password=PASSWORD,
            confirm=PASSWORD,
        )
        assert page.status_code == 200 and "Check your email" in page.text
        agent = signed_in_agent(live, {"username": name, "password": PASSWORD})
        home = agent.go(f"{live.url}/account")
        resent = agent.submit(home, {}, index=form_index(home.text, "verify-email/resend"))
        assert resent.status_code == 200 and "could not send mail" in resent.text
    finally:
        live.stop()
