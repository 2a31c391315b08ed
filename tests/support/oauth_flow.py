"""Driving the authorization code flow with Authlib's client (never the project's own code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from tests.support.live import LiveServer
from tests.support.user_agent import UserAgent

REDIRECT = "http://127.0.0.1:65500/callback"


def discovery(server: LiveServer) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    return document


def oauth_client(
    client: dict[str, Any], scope: str, *, auth_method: str = "client_secret_basic", **kw: Any
) -> OAuth2Client:
    return OAuth2Client(
        client["client_id"],
        kw.pop("secret", client.get("client_secret")),
        scope=scope,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
        revocation_endpoint_auth_method=auth_method,
        **kw,
    )


@dataclass
class Authorized:
    """A code fresh from the authorization endpoint, not yet redeemed."""

    oauth: OAuth2Client
    callback: str
    code: str
    verifier: str
    nonce: str


def authorize(
    server: LiveServer, oauth: OAuth2Client, person: dict[str, Any], agent: UserAgent
) -> Authorized:
    """Sign in and consent as `person` in `agent`; return the callback with the code."""
    verifier, nonce = generate_token(64), generate_token(20)
    url, state = oauth.create_authorization_url(
        f"{server.url}/connect/authorize", code_verifier=verifier, nonce=nonce
    )
    page = agent.go(url)
    if 'name="password"' in page.text:
        page = agent.sign_in(page, person["username"], person["password"])
    if 'name="decision"' in page.text:
        page = agent.decide(page, "allow")
    callback = agent.redirect_target(page)
    query = parse_qs(urlsplit(callback).query)
    assert query["state"] == [state], query
    return Authorized(oauth, callback, query["code"][0], verifier, nonce)


def obtain_tokens(
    server: LiveServer, oauth: OAuth2Client, person: dict[str, Any], agent: UserAgent
) -> tuple[dict[str, Any], str]:
    """The whole flow: the token response and the nonce sent."""
    done = authorize(server, oauth, person, agent)
    token = oauth.fetch_token(
        f"{server.url}/connect/token",
        authorization_response=done.callback,
        code_verifier=done.verifier,
    )
    return dict(token), done.nonce


def profile_status(server: LiveServer, access_token: str) -> int:
    response = httpx.get(
        f"{server.url}/api/user/profiles", headers={"Authorization": f"Bearer {access_token}"}
    )
    return response.status_code
