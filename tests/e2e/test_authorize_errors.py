"""RFC 6749 §4.1.2.1 errors at /connect/authorize, and the pages shown when no redirect is safe."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.databases import execute, scalar
from tests.support.flows import authorize_url, obtain_code, pkce_pair, query_of
from tests.support.live import LiveServer
from tests.support.user_agent import UserAgent

REDIRECT = "http://127.0.0.1:65501/cb"


@pytest.fixture(scope="module")
def person(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Err{secrets.token_hex(3)}")


@pytest.fixture(scope="module")
def confidential(server: LiveServer) -> dict[str, Any]:
    return server.create_client([REDIRECT], name="Confidential App", scope="openid profile email")


@pytest.fixture(scope="module")
def public(server: LiveServer) -> dict[str, Any]:
    return server.create_client([REDIRECT], name="Public App", scope="openid profile", public=True)


@pytest.fixture()
def agent(server: LiveServer) -> Iterator[UserAgent]:
    ua = UserAgent(server.url)
    yield ua
    ua.close()


def base(client: dict[str, Any], **overrides: str) -> dict[str, str]:
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT,
        "scope": "openid profile",
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value != "<omit>"}


def rows(server: LiveServer, table: str) -> int:
    return int(scalar(server.database_url, f"SELECT count(*) FROM {table}"))


def assert_error_redirect(
    response: httpx.Response, error: str, state: str | None = "xyz"
) -> dict[str, list[str]]:
    assert response.status_code == 303, response.text[:300]
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    query = query_of(location)
    assert query["error"] == [error], query
    assert query["error_description"][0]
    assert ("state" in query) is (state is not None)
    if state is not None:
        assert query["state"] == [state]
    return query


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "<omit>"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"scope": "<omit>"}, "invalid_scope"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"scope": "openid patreon"}, "invalid_scope"),  # known, but not allowed for this client
        ({"scope": "openid  profile"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": "<omit>"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"code_challenge": "<omit>"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"request_uri": "https://example.com/r"}, "request_uri_not_supported"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "select_account"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"max_age": "ten"}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"state": "s" * 3000}, "invalid_request"),
    ],
)
def test_invalid_requests_redirect_with_the_rfc_error(
    server: LiveServer, public: dict[str, Any], overrides: dict[str, str], error: str
) -> None:
    """Against a public client, so that a missing challenge is an error too."""
    before = rows(server, "interactions")
    params = base(public, **overrides)
    response = httpx.get(authorize_url(server, **params))
    query = assert_error_redirect(response, error, params.get("state"))
    assert query["iss"] == [server.url]
    assert rows(server, "interactions") == before


def test_repeated_parameter_is_invalid_request_without_echoing_a_repeated_state(
    server: LiveServer, public: dict[str, Any]
) -> None:
    url = authorize_url(server, **base(public)) + "&scope=email"
    assert_error_redirect(httpx.get(url), "invalid_request")
    url = authorize_url(server, **base(public)) + "&state=other"
    assert_error_redirect(httpx.get(url), "invalid_request", state=None)


def test_confidential_client_may_omit_pkce(
    server: LiveServer, confidential: dict[str, Any]
) -> None:
    params = base(confidential, code_challenge="<omit>", code_challenge_method="<omit>")
    response = httpx.get(authorize_url(server, **params))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/interaction/")


@pytest.mark.parametrize(
    ("mutate", "title"),
    [
        (lambda p: p.pop("client_id"), "Unknown application"),
        (lambda p: p.update(client_id="no-such-client"), "Unknown application"),
        (lambda p: p.pop("redirect_uri"), "Missing redirect address"),
        (
            lambda p: p.update(redirect_uri="https://evil.example/cb"),
            "Unregistered redirect address",
        ),
        (lambda p: p.update(redirect_uri=REDIRECT + "/"), "Unregistered redirect address"),
        (lambda p: p.update(redirect_uri=REDIRECT + "?x=1"), "Unregistered redirect address"),
    ],
)
def test_unverified_client_or_redirect_shows_a_page(
    server: LiveServer, public: dict[str, Any], mutate: Any, title: str
) -> None:
    params = base(public)
    mutate(params)
    response = httpx.get(authorize_url(server, **params), headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert "location" not in response.headers
    assert title in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_repeated_client_id_or_redirect_uri_shows_a_page(
    server: LiveServer, public: dict[str, Any]
) -> None:
    for name, value in (("client_id", public["client_id"]), ("redirect_uri", REDIRECT)):
        response = httpx.get(authorize_url(server, **base(public)) + f"&{name}={value}")
        assert response.status_code == 400 and "location" not in response.headers


@pytest.mark.parametrize("status", ["pending", "rejected", "suspended"])
def test_clients_that_are_not_approved_cannot_start_a_flow(server: LiveServer, status: str) -> None:
    client = server.create_client([REDIRECT], name=f"{status} app", approve=False)
    if status != "pending":
        execute(
            server.database_url,
            "UPDATE clients SET status = :s WHERE client_id = :c",
            s=status,
            c=client["client_id"],
        )
    response = httpx.get(authorize_url(server, **base(client)))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "not approved" in response.text


def test_post_to_authorize_is_accepted(server: LiveServer, confidential: dict[str, Any]) -> None:
    response = httpx.post(f"{server.url}/connect/authorize", data=base(confidential))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/interaction/")


def test_prompt_none_answers_without_pages(
    server: LiveServer, confidential: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    response = agent.go(authorize_url(server, **base(confidential, prompt="none")))
    assert_error_redirect(response, "login_required")
    obtain_code(server, agent, confidential, person, REDIRECT, "openid profile")
    response = agent.go(
        authorize_url(server, **base(confidential, prompt="none", scope="openid email"))
    )
    assert_error_redirect(response, "consent_required")
    response = agent.go(authorize_url(server, **base(confidential, prompt="none")))
    assert "code" in query_of(agent.redirect_target(response))


def test_prompt_login_and_max_age_zero_ask_for_the_password_again(
    server: LiveServer, confidential: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    obtain_code(server, agent, confidential, person, REDIRECT)
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        page = agent.go(authorize_url(server, **base(confidential, **extra)))
        assert 'name="password"' in page.text
        page = agent.sign_in(page, person["username"], person["password"])
        assert "code" in query_of(agent.redirect_target(page))
    page = agent.go(authorize_url(server, **base(confidential, max_age="3600")))
    assert "code" in query_of(agent.redirect_target(page))


def test_prompt_consent_shows_the_consent_page_again(
    server: LiveServer, confidential: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    obtain_code(server, agent, confidential, person, REDIRECT)
    page = agent.go(authorize_url(server, **base(confidential, prompt="consent")))
    assert 'name="decision"' in page.text
    assert "You already allowed" in page.text


def test_login_hint_prefills_the_username(
    server: LiveServer, confidential: dict[str, Any], agent: UserAgent
) -> None:
    page = agent.go(authorize_url(server, **base(confidential, login_hint="SomeoneSpecial")))
    assert 'value="SomeoneSpecial"' in page.text


def test_interaction_belongs_to_the_browser_that_started_it(
    server: LiveServer, confidential: dict[str, Any], agent: UserAgent
) -> None:
    page = agent.go(authorize_url(server, **base(confidential)))
    other = httpx.get(str(page.url))
    assert other.status_code == 400
    assert "another browser" in other.text
    assert httpx.get(f"{server.url}/interaction/unknown").status_code == 400


def test_forms_without_csrf_token_are_refused(
    server: LiveServer, confidential: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    page = agent.go(authorize_url(server, **base(confidential, prompt="consent")))
    before = rows(server, "browser_sessions")
    refused = agent.submit(
        page,
        {"username": person["username"], "password": person["password"], "csrf_token": "forged"},
    )
    assert refused.status_code == 403
    assert rows(server, "browser_sessions") == before
    consent = agent.sign_in(page, person["username"], person["password"])
    assert 'name="decision"' in consent.text
    codes = rows(server, "authorization_codes")
    refused = agent.submit(consent, {"decision": "allow", "csrf_token": ""})
    assert refused.status_code == 403
    missing_choice = agent.submit(consent, {"decision": "maybe"})
    assert missing_choice.status_code == 400
    assert rows(server, "authorization_codes") == codes


def test_wrong_password_and_unknown_user_read_the_same(
    server: LiveServer, confidential: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    page = agent.go(authorize_url(server, **base(confidential)))
    wrong = agent.sign_in(page, person["username"], "not the password")
    unknown = agent.sign_in(page, "nobody-by-this-name", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.text.replace(person["username"], "X") == unknown.text.replace(
        "nobody-by-this-name", "X"
    )


def test_interaction_is_single_use(
    server: LiveServer, confidential: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    page = agent.go(authorize_url(server, **base(confidential, prompt="consent")))
    consent = agent.sign_in(page, person["username"], person["password"])
    agent.decide(consent, "allow")
    again = agent.submit(consent, {"decision": "allow"})
    assert again.status_code == 400
    assert "expired" in again.text
