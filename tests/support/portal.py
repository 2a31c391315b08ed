"""Driving the developer portal and the review queue over HTTP, as people do (no project code)."""

from __future__ import annotations

import html
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from tests.support.databases import query
from tests.support.live import LiveServer
from tests.support.user_agent import UserAgent

PASSWORD = "correct horse battery"


def signed_in_agent(
    server: LiveServer, user: dict[str, Any], path: str
) -> tuple[UserAgent, httpx.Response]:
    """A browser signed in as `user`, showing `path` (sign-in happens on the way)."""
    agent = UserAgent(server.url)
    page = agent.go(server.url + path)
    if 'name="password"' in page.text:
        page = agent.sign_in(page, user["username"], user["password"])
    return agent, page


def person(server: LiveServer, prefix: str, *, admin: bool = False) -> dict[str, Any]:
    return server.create_user(f"{prefix}{secrets.token_hex(3)}", admin=admin)


def application_form(**overrides: str) -> dict[str, str]:
    values = {
        "contact_name": "Ada Developer",
        "reason": "An event calendar that shows who is going.",
        "name": "Event Calendar",
        "redirect_uris": "http://127.0.0.1:65501/callback",
        "client_type": "confidential",
        "scope_openid": "on",
        "scope_profile": "on",
        "homepage_url": "",
        "logo_url": "",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def post(agent: UserAgent, url: str, values: dict[str, str]) -> httpx.Response:
    """Post exactly `values` (like a browser: unchecked boxes absent) with the CSRF token."""
    token = agent.http.cookies.get("csrf")
    assert token, "open a page first: it sets the CSRF cookie"
    data = {key: value for key, value in values.items() if value != ""}
    return agent.go(url, method="POST", data={"csrf_token": token, **data})


def apply(agent: UserAgent, server: LiveServer, **overrides: str) -> str:
    """Submit an application; return its client id."""
    agent.go(server.url + "/developers/applications")
    response = post(agent, server.url + "/developers/applications", application_form(**overrides))
    assert response.status_code == 200, response.text[:2000]
    client_id = str(response.url).rsplit("/", 1)[-1]
    assert re.fullmatch(r"[0-9a-f]{32}", client_id), response.url
    return client_id


def field_errors(page: httpx.Response) -> list[str]:
    return [
        html.unescape(message)
        for message in re.findall(r'<p class="field-error"[^>]*>(.*?)</p>', page.text, re.S)
    ]


def revealed_secret(page: httpx.Response) -> str | None:
    found = re.search(r'<code class="secret" id="client-secret"[^>]*>([^<]+)</code>', page.text)
    return found.group(1) if found else None


def client_row(url: str, client_id: str) -> dict[str, Any]:
    rows = query(url, "SELECT * FROM clients WHERE client_id = :c", c=client_id)
    return rows[0] if rows else {}


def state_of(url: str, client_id: str) -> dict[str, Any]:
    """Everything a form could change, to compare before and after a refused request."""
    return {
        "client": client_row(url, client_id),
        "secrets": query(
            url,
            "SELECT digest, expires_at, revoked_at FROM client_secrets WHERE client_id = :c "
            "ORDER BY digest",
            c=client_id,
        ),
        "settings": query(url, "SELECT key, value FROM server_settings ORDER BY key"),
        "clients": query(url, "SELECT count(*) AS n FROM clients")[0]["n"],
        "audit": query(url, "SELECT count(*) AS n FROM audit_events")[0]["n"],
    }


def secret_accepted(server: LiveServer, client_id: str, secret: str) -> bool:
    """Whether the token endpoint authenticates these credentials.

    A bogus refresh token after good credentials is invalid_grant; bad credentials are
    invalid_client (RFC 6749 §5.2) — so the error tells which check failed.
    """
    response = httpx.post(
        f"{server.url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": "not-a-real-token"},
        auth=(client_id, secret),
    )
    error = response.json()["error"]
    assert error in ("invalid_grant", "invalid_client"), response.text
    return bool(error == "invalid_grant")


def run_flow(
    server: LiveServer,
    agent: UserAgent,
    user: dict[str, Any],
    client_id: str,
    secret: str | None,
    redirect_uri: str,
    scope: str = "openid profile",
) -> tuple[OAuth2Client, dict[str, Any]]:
    """The authorization code flow with Authlib's client; `agent` is the person's browser."""
    oauth = OAuth2Client(
        client_id,
        secret,
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
    )
    verifier = generate_token(64)
    url, state = oauth.create_authorization_url(
        f"{server.url}/connect/authorize", code_verifier=verifier
    )
    page = agent.go(url)
    if 'name="password"' in page.text:
        page = agent.sign_in(page, user["username"], user["password"])
    if 'name="decision"' in page.text:
        page = agent.decide(page, "allow")
    callback = agent.redirect_target(page)
    assert parse_qs(urlsplit(callback).query)["state"] == [state]
    token = oauth.fetch_token(
        f"{server.url}/connect/token", authorization_response=callback, code_verifier=verifier
    )
    return oauth, dict(token)
