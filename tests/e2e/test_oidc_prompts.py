"""OIDC request parameters (prompt, max_age, login_hint) and RP-initiated logout, live."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.databases import scalar
from tests.support.live import LiveServer
from tests.support.oidc import (
    REDIRECT,
    callback_query,
    finish,
    id_token_claims,
    signed_in_agent,
    start,
    through_pages,
)
from tests.support.user_agent import UserAgent

LOGOUT = "http://127.0.0.1:65500/signed-out"


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


@pytest.fixture(scope="module")
def client(server: LiveServer) -> dict[str, Any]:
    return server.cli_json(
        "clients",
        "create",
        "--name",
        "Prompt App",
        "--redirect-uri",
        REDIRECT,
        "--post-logout-redirect-uri",
        LOGOUT,
        "--scope",
        "openid profile email",
        "--approve",
    )


@pytest.fixture()
def user(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Prompt{secrets.token_hex(4)}")


def connected(
    server: LiveServer, client: dict[str, Any], user: dict[str, Any]
) -> tuple[UserAgent, dict[str, Any]]:
    agent = signed_in_agent(server, user)
    started = start(server, client, "openid profile")
    return agent, finish(server, started, through_pages(agent, agent.go(started.url), user))


def test_prompt_none_not_signed_in_is_login_required(
    server: LiveServer, client: dict[str, Any]
) -> None:
    agent = UserAgent(server.url)
    started = start(server, client, "openid", prompt="none")
    answer = callback_query(agent, agent.go(started.url))
    assert answer["error"] == "login_required"
    assert answer["state"] == started.state and answer["iss"] == server.url


def test_prompt_none_without_consent_is_consent_required(
    server: LiveServer, client: dict[str, Any], user: dict[str, Any]
) -> None:
    agent = signed_in_agent(server, user)
    answer = callback_query(agent, agent.go(start(server, client, "openid", prompt="none").url))
    assert answer["error"] == "consent_required"


def test_prompt_none_with_session_and_consent_answers_a_code(
    server: LiveServer, client: dict[str, Any], user: dict[str, Any]
) -> None:
    agent, _ = connected(server, client, user)
    started = start(server, client, "openid profile", prompt="none")
    token = finish(server, started, agent.go(started.url))
    assert id_token_claims(server, token["id_token"])["sub"] == user["id"]
    wider = callback_query(
        agent, agent.go(start(server, client, "openid email", prompt="none").url)
    )
    assert wider["error"] == "consent_required"  # a new scope needs a page


def test_prompt_none_with_max_age_zero_is_login_required(
    server: LiveServer, client: dict[str, Any], user: dict[str, Any]
) -> None:
    agent, _ = connected(server, client, user)
    answer = callback_query(
        agent, agent.go(start(server, client, "openid", prompt="none", max_age="0").url)
    )
    assert answer["error"] == "login_required"


def test_prompt_none_cannot_be_combined(server: LiveServer, client: dict[str, Any]) -> None:
    agent = UserAgent(server.url)
    answer = callback_query(
        agent, agent.go(start(server, client, "openid", prompt="none login").url)
    )
    assert answer["error"] == "invalid_request"


@pytest.mark.parametrize("extra", [{"prompt": "login"}, {"max_age": "0"}])
def test_fresh_sign_in_is_asked_and_auth_time_moves(
    server: LiveServer,
    client: dict[str, Any],
    user: dict[str, Any],
    database_url: str,
    extra: dict[str, str],
) -> None:
    agent, first = connected(server, client, user)
    first_auth = id_token_claims(server, first["id_token"])["auth_time"]
    started = start(server, client, "openid profile", **extra)
    page = agent.go(started.url)
    assert 'name="password"' in page.text, "a fresh sign-in was not asked for"
    token = finish(server, started, through_pages(agent, page, user))
    claims = id_token_claims(server, token["id_token"])
    assert claims["auth_time"] >= first_auth
    sessions = scalar(
        database_url, f"SELECT COUNT(*) FROM browser_sessions WHERE account_id = '{user['id']}'"
    )
    assert sessions == 2  # the fresh sign-in made a new session; auth_time comes from it


def test_recent_sign_in_satisfies_max_age(
    server: LiveServer, client: dict[str, Any], user: dict[str, Any]
) -> None:
    agent, _ = connected(server, client, user)
    started = start(server, client, "openid profile", max_age="3600")
    token = finish(server, started, agent.go(started.url))
    assert "auth_time" in id_token_claims(server, token["id_token"])


def test_signed_in_with_a_covering_grant_gets_the_code_from_authorize_itself(
    server: LiveServer, client: dict[str, Any], user: dict[str, Any], database_url: str
) -> None:
    """No page would ask anything, so /connect/authorize answers with the code at once: no
    pending interaction is written, no extra redirect through the server."""
    agent, _ = connected(server, client, user)
    interactions = (
        "SELECT COUNT(*) FROM interactions "
        f"WHERE CAST(params AS TEXT) LIKE '%{client['client_id']}%'"
    )
    before = scalar(database_url, interactions)
    started = start(server, client, "openid profile")
    answer = agent.http.get(started.url)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(REDIRECT + "?code=")
    assert scalar(database_url, interactions) == before
    token = finish(server, started, answer)
    assert id_token_claims(server, token["id_token"])["sub"] == user["id"]
    # A scope beyond the grant still goes through the consent page.
    wider = agent.http.get(start(server, client, "openid email").url)
    assert wider.headers["location"].startswith("/interaction/")


def test_prompt_consent_asks_again_even_with_a_grant(
    server: LiveServer, client: dict[str, Any], user: dict[str, Any]
) -> None:
    agent, _ = connected(server, client, user)
    page = agent.go(start(server, client, "openid profile", prompt="consent").url)
    assert 'name="decision"' in page.text and "You already allowed" in page.text


def test_bad_max_age_is_invalid_request(server: LiveServer, client: dict[str, Any]) -> None:
    agent = UserAgent(server.url)
    answer = callback_query(agent, agent.go(start(server, client, "openid", max_age="soon").url))
    assert answer["error"] == "invalid_request"


def test_login_hint_fills_in_the_username(server: LiveServer, client: dict[str, Any]) -> None:
    agent = UserAgent(server.url)
    page = agent.go(start(server, client, "openid", login_hint="HintedPerson").url)
    assert 'value="HintedPerson"' in page.text


def test_discovery_advertises_end_session(server: LiveServer) -> None:
    document = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert document["end_session_endpoint"] == f"{server.url}/connect/endsession"


def test_endsession_with_hint_signs_out_and_returns_with_state(
    server: LiveServer, client: dict[str, Any], user: dict[str, Any]
) -> None:
    agent, token = connected(server, client, user)
    query = {"id_token_hint": token["id_token"], "post_logout_redirect_uri": LOGOUT, "state": "xyz"}
    answer = agent.go(
        f"{server.url}/connect/endsession?" + "&".join(f"{k}={v}" for k, v in query.items())
    )
    target = agent.redirect_target(answer)
    assert target.startswith(LOGOUT) and parse_qs(urlsplit(target).query)["state"] == ["xyz"]
    assert "Sign in to see" in agent.go(server.url + "/").text


def test_endsession_refuses_unregistered_uri_and_bad_hint(
    server: LiveServer, client: dict[str, Any], user: dict[str, Any]
) -> None:
    agent, token = connected(server, client, user)
    page = agent.go(
        f"{server.url}/connect/endsession?id_token_hint={token['id_token']}"
        "&post_logout_redirect_uri=https://attacker.example/"
    )
    assert page.status_code == 400 and "Unregistered sign-out address" in page.text
    page = agent.go(f"{server.url}/connect/endsession?id_token_hint=not.a.token")
    assert page.status_code == 400
    page = agent.go(f"{server.url}/connect/endsession?post_logout_redirect_uri={LOGOUT}")
    assert page.status_code == 400  # no client named: nobody to trust the address for
    assert user["username"] in agent.go(server.url + "/").text  # still signed in


def test_endsession_without_hint_asks_first(
    server: LiveServer, client: dict[str, Any], user: dict[str, Any]
) -> None:
    agent, _ = connected(server, client, user)
    page = agent.go(f"{server.url}/connect/endsession")
    assert "Sign out of Resonite?" in page.text
    assert user["username"] in agent.go(server.url + "/").text
    done = agent.submit(page, {})
    assert "You are signed out" in done.text
    assert "Sign in to see" in agent.go(server.url + "/").text


def test_endsession_hint_for_someone_else_asks_first(
    server: LiveServer, client: dict[str, Any], user: dict[str, Any]
) -> None:
    _, token = connected(server, client, user)
    other = server.create_user(f"Other{secrets.token_hex(4)}")
    agent = signed_in_agent(server, other)
    page = agent.go(f"{server.url}/connect/endsession?id_token_hint={token['id_token']}")
    assert "Sign out of Resonite?" in page.text and "Prompt App" in page.text
