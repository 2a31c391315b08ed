"""The person in control: connected apps, incremental consent, sessions, password; operators'
lock, unlock and list. Live server, Authlib as the application, both backends."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.databases import query, scalar
from tests.support.live import LiveServer
from tests.support.oidc import (
    REDIRECT,
    finish,
    form_index,
    profile_status,
    signed_in_agent,
    start,
    through_pages,
)
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
    return server.create_user(f"Ctl{secrets.token_hex(4)}")


def connect(
    server: LiveServer, agent: UserAgent, client: dict[str, Any], user: dict[str, Any], scope: str
) -> dict[str, Any]:
    started = start(server, client, scope)
    return finish(server, started, through_pages(agent, agent.go(started.url), user))


def test_revoke_access_cuts_tokens_and_asks_consent_again(
    server: LiveServer, user: dict[str, Any], database_url: str
) -> None:
    client = server.create_client([REDIRECT], name="Event Planner")
    agent = signed_in_agent(server, user)
    token = connect(server, agent, client, user, "openid profile email offline_access")
    page = agent.go(f"{server.url}/account/applications")
    assert "Event Planner" in page.text
    for words in ("Your public profile", "Your email address", "Stay connected", "Granted"):
        assert words in page.text
    assert "Last used" in page.text  # tokens were issued under the grant
    assert profile_status(server, token["access_token"]) == 200

    page = agent.submit(page, {}, index=form_index(page.text, "/account/applications/revoke"))
    assert "Event Planner can no longer access your account" in page.text
    forged = agent.go(f"{server.url}/account/applications?revoked=Your%20bank")
    assert "can no longer access" not in forged.text  # the notice never echoes the query
    assert profile_status(server, token["access_token"]) == 401
    refreshed = httpx.post(
        f"{server.url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert (
        scalar(
            database_url,
            f"SELECT COUNT(*) FROM tokens WHERE account_id = '{user['id']}' AND revoked_at IS NULL",
        )
        == 0
    )
    again = agent.go(start(server, client, "openid profile").url)
    assert 'name="decision"' in again.text  # consent is asked again


def test_incremental_consent_asks_only_for_the_new_scope(
    server: LiveServer, user: dict[str, Any]
) -> None:
    client = server.create_client([REDIRECT], name="Growing App")
    agent = signed_in_agent(server, user)
    connect(server, agent, client, user, "openid profile")
    page = agent.go(start(server, client, "openid profile email").url)
    new_list = re.search(r'aria-label="Requested permissions">(.*?)</ul>', page.text, re.S)
    kept_list = re.search(r'aria-label="Permissions already granted">(.*?)</ul>', page.text, re.S)
    assert new_list and kept_list
    assert "Your email address" in new_list.group(1)
    assert "Your public profile" not in new_list.group(1)
    assert "Your public profile" in kept_list.group(1)


def test_sign_out_another_session_and_all_others(
    server: LiveServer, user: dict[str, Any], database_url: str
) -> None:
    mine, other, third = (signed_in_agent(server, user) for _ in range(3))
    page = mine.go(f"{server.url}/account/sessions")
    assert page.text.count("This browser") == 1
    assert page.text.count('action="/account/sessions/end"') == 2
    page = mine.submit(page, {}, index=form_index(page.text, "/account/sessions/end"))
    assert "That session is signed out" in page.text
    signed_out = [a for a in (other, third) if "Sign in to see" in a.go(server.url + "/").text]
    assert len(signed_out) == 1
    page = mine.submit(page, {}, index=form_index(page.text, "end-others"))
    assert "All your other sessions are signed out" in page.text
    assert all("Sign in to see" in a.go(server.url + "/").text for a in (other, third))
    assert user["username"] in mine.go(f"{server.url}/account").text
    live = scalar(
        database_url,
        f"SELECT COUNT(*) FROM browser_sessions WHERE account_id = '{user['id']}' "
        "AND ended_at IS NULL",
    )
    assert live == 1


def test_password_change_revokes_refresh_tokens_and_other_sessions(
    server: LiveServer, user: dict[str, Any]
) -> None:
    client = server.create_client([REDIRECT], name="Offline App")
    agent, other = signed_in_agent(server, user), signed_in_agent(server, user)
    token = connect(server, agent, client, user, "profile offline_access")
    page = agent.go(f"{server.url}/account/security")
    index = form_index(page.text, "/account/security/password")
    weak = agent.submit(
        page,
        {"password": user["password"], "new": "password123", "confirm": "password123"},
        index=index,
    )
    assert weak.status_code == 400 and "common" in weak.text
    wrong = agent.submit(
        page,
        {"password": "not it at all", "new": "a new long secret", "confirm": "a new long secret"},
        index=index,
    )
    assert wrong.status_code == 400 and "current password is not right" in wrong.text
    done = agent.submit(
        page,
        {"password": user["password"], "new": "a new long secret", "confirm": "a new long secret"},
        index=index,
    )
    assert done.status_code == 200 and "Your password was changed" in done.text
    refreshed = httpx.post(
        f"{server.url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert refreshed.json()["error"] == "invalid_grant"
    assert "Sign in to see" in other.go(server.url + "/").text
    assert user["username"] in agent.go(f"{server.url}/account").text
    signed_in_agent(server, {**user, "password": "a new long secret"})


def test_lock_refuses_sign_in_tokens_and_sessions_then_unlock(
    server: LiveServer, user: dict[str, Any], database_url: str
) -> None:
    client = server.create_client([REDIRECT], name="Lock Watch")
    agent = signed_in_agent(server, user)
    token = connect(server, agent, client, user, "openid profile offline_access")
    locked = server.cli_json("users", "lock", user["username"])
    assert locked["isLocked"] is True
    assert profile_status(server, token["access_token"]) == 401
    refreshed = httpx.post(
        f"{server.url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert refreshed.json()["error"] == "invalid_grant"
    assert "Sign in to see" in agent.go(server.url + "/").text
    fresh = UserAgent(server.url)
    refused = fresh.sign_in(fresh.go(f"{server.url}/signin"), user["username"], user["password"])
    assert refused.status_code == 401 and "not right, or the account is locked" in refused.text
    assert (
        scalar(
            database_url,
            f"SELECT COUNT(*) FROM browser_sessions WHERE account_id = '{user['id']}' "
            "AND ended_at IS NULL",
        )
        == 0
    )
    events = query(
        database_url, "SELECT event, actor FROM audit_events WHERE account_id = :a", a=user["id"]
    )
    assert {"event": "account.locked", "actor": "cli"} in events

    listed = {row["username"]: row for row in server.cli_json("users", "list")}
    assert listed[user["username"]]["isLocked"] is True
    assert server.cli_json("users", "unlock", user["id"])["isLocked"] is False
    signed_in_agent(server, user)
    assert profile_status(server, token["access_token"]) == 200  # a lock, not a revocation
    plain = server.cli("users", "list").stdout
    assert user["username"] in plain and "active" in plain


def test_cli_names_an_unknown_user(server: LiveServer) -> None:
    result = server.cli("users", "lock", "NoSuchPerson", check=False)
    assert result.returncode == 1 and "No account" in result.stderr
