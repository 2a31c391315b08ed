"""Every form refuses a missing or wrong CSRF token; every page sends the security headers and
loads nothing from another site. Live server, both backends."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.databases import scalar
from tests.support.live import LiveServer
from tests.support.oidc import REDIRECT, finish, signed_in_agent, start, through_pages
from tests.support.user_agent import UserAgent, forms_in

FORMS = [
    "/signin",
    "/signout",
    "/signin/2fa",
    "/account/security/totp/start",
    "/account/security/totp/confirm",
    "/account/security/totp/disable",
    "/account/security/password",
    "/account/security/recovery-codes",
    "/account/applications/revoke",
    "/account/sessions/end",
    "/account/sessions/end-others",
    "/account/verify-email/resend",
    "/register",
    "/verify-email",
    "/forgot-password",
    "/reset-password",
    "/connect/endsession",
    "/interaction/{id}/login",
    "/interaction/{id}/consent",
]
PAGES = [
    "/",
    "/account",
    "/account/security",
    "/account/applications",
    "/account/sessions",
    "/signin",
    "/register",
    "/forgot-password",
    "/connect/endsession",
]


@pytest.fixture(scope="module")
def client(server: LiveServer) -> dict[str, Any]:
    return server.create_client([REDIRECT], name="Forms App")


@pytest.fixture(scope="module")
def person(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Forms{secrets.token_hex(3)}")


@pytest.fixture()
def agent(
    server: LiveServer, person: dict[str, Any], client: dict[str, Any]
) -> Iterator[UserAgent]:
    ua = signed_in_agent(server, person)
    started = start(server, client, "openid profile")
    finish(server, started, through_pages(ua, ua.go(started.url), person))
    yield ua
    ua.close()


def interaction_id(agent: UserAgent, server: LiveServer, client: dict[str, Any]) -> str:
    first = agent.http.get(start(server, client, "openid profile", prompt="consent").url)
    match = re.search(r"/interaction/([^/?#]+)", first.headers["location"])
    assert match
    return match.group(1)


@pytest.mark.parametrize("path", FORMS)
@pytest.mark.parametrize("token", [None, "forged-token-value"])
def test_every_form_refuses_a_bad_csrf_token(
    server: LiveServer,
    agent: UserAgent,
    client: dict[str, Any],
    person: dict[str, Any],
    database_url: str,
    path: str,
    token: str | None,
) -> None:
    if "{id}" in path:
        path = path.replace("{id}", interaction_id(agent, server, client))
    data = {"username": person["username"], "password": person["password"], "decision": "allow"}
    if token is not None:
        data["csrf_token"] = token
    sessions = (
        f"SELECT COUNT(*) FROM browser_sessions WHERE account_id = '{person['id']}' "
        "AND ended_at IS NULL"
    )
    before = scalar(database_url, sessions)
    answer = agent.http.post(server.url + path, data=data)
    assert answer.status_code == 403, (path, answer.status_code)
    assert "This form has expired" in answer.text
    assert scalar(database_url, sessions) == before  # no sign-in, no sign-out
    assert agent.go(f"{server.url}/account/applications").text.count("Revoke access") >= 1


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_csrf_in_every_form_and_security_headers(
    server: LiveServer, agent: UserAgent, path: str
) -> None:
    page = agent.go(server.url + path)
    assert page.status_code == 200, (path, page.status_code)
    for form in forms_in(page.text):
        assert form.fields.get("csrf_token"), (path, form.action)
    assert_security_headers(page)
    assert_nothing_third_party(server, page.text)


def test_authorization_pages_send_the_headers(server: LiveServer, client: dict[str, Any]) -> None:
    agent = UserAgent(server.url)
    page = agent.go(start(server, client, "openid profile").url)
    assert 'name="password"' in page.text
    assert_security_headers(page)
    assert page.headers["cache-control"] == "no-store"
    assert_nothing_third_party(server, page.text)


def assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"


def assert_nothing_third_party(server: LiveServer, html: str) -> None:
    for url in re.findall(r'(?:src|href|action)="([^"]+)"', html):
        assert url.startswith(("/", "#", "data:image/", server.url)), url
