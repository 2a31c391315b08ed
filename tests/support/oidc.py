"""The application's side of the flow, with Authlib (never project code), plus TOTP by pyotp."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey, JsonWebToken

from tests.support.live import LiveServer
from tests.support.user_agent import UserAgent

REDIRECT = "http://127.0.0.1:65500/callback"


@dataclass
class Started:
    oauth: OAuth2Client
    url: str
    state: str
    verifier: str
    nonce: str


def start(server: LiveServer, client: dict[str, Any], scope: str, **extra: str) -> Started:
    oauth = OAuth2Client(
        client["client_id"],
        client.get("client_secret"),
        scope=scope,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    )
    verifier, nonce = generate_token(64), generate_token(20)
    url, state = oauth.create_authorization_url(
        f"{server.url}/connect/authorize", code_verifier=verifier, nonce=nonce, **extra
    )
    return Started(oauth, url, state, verifier, nonce)


def callback_query(agent: UserAgent, response: httpx.Response) -> dict[str, str]:
    query = parse_qs(urlsplit(agent.redirect_target(response)).query)
    return {key: values[0] for key, values in query.items()}


def finish(server: LiveServer, started: Started, response: httpx.Response) -> dict[str, Any]:
    """Exchange the code the browser was sent back with; the token response."""
    callback = UserAgent.redirect_target(response)
    assert callback.startswith(REDIRECT), callback
    token = started.oauth.fetch_token(
        f"{server.url}/connect/token",
        authorization_response=callback,
        code_verifier=started.verifier,
    )
    return dict(token)


def id_token_claims(server: LiveServer, id_token: str) -> dict[str, Any]:
    jwks = httpx.get(f"{server.url}/.well-known/openid-configuration/jwks").json()
    claims = JsonWebToken(["RS256"]).decode(id_token, JsonWebKey.import_key_set(jwks))
    claims.validate()
    return dict(claims)


def through_pages(
    agent: UserAgent, response: httpx.Response, person: dict[str, Any], *, code: str | None = None
) -> httpx.Response:
    """Answer whatever the server shows (sign-in, code, consent) until it redirects away."""
    for _ in range(4):
        if 'name="password"' in response.text:
            response = agent.sign_in(response, person["username"], person["password"])
        elif 'name="code"' in response.text and code is not None:
            response = agent.submit(response, {"code": code})
        elif 'name="decision"' in response.text:
            response = agent.decide(response, "allow")
        else:
            return response
    return response


def profile_status(server: LiveServer, access_token: str) -> int:
    return httpx.get(
        f"{server.url}/api/user/profiles", headers={"Authorization": f"Bearer {access_token}"}
    ).status_code


def signed_in_agent(server: LiveServer, person: dict[str, Any]) -> UserAgent:
    agent = UserAgent(server.url)
    page = agent.go(f"{server.url}/signin")
    page = agent.sign_in(page, person["username"], person["password"])
    assert page.status_code == 200, page.text[:300]
    return agent


def totp_key(html: str) -> str:
    match = re.search(r'id="totp-key"[^>]*>([A-Z2-7]+)<', html)
    assert match, "no setup key on the page"
    return match.group(1)


def totp_now(key: str) -> str:
    return pyotp.TOTP(key).now()


def recovery_codes(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", html)


def enrol_totp(agent: UserAgent, server: LiveServer) -> tuple[str, list[str], str]:
    """Turn on two-step sign-in through the pages: (key, recovery codes, the code used)."""
    page = agent.go(f"{server.url}/account/security")
    page = agent.submit(page, {}, index=_form_index(page.text, "/account/security/totp/start"))
    key = totp_key(page.text)
    code = totp_now(key)
    page = agent.submit(page, {"code": code}, index=_form_index(page.text, "totp/confirm"))
    assert page.status_code == 200, page.text[:500]
    codes = recovery_codes(page.text)
    assert len(codes) == 10
    return key, codes, code


def _form_index(html: str, action_part: str) -> int:
    actions = re.findall(r'<form[^>]*action="([^"]*)"', html)
    return next(i for i, action in enumerate(actions) if action_part in action)


def form_index(html: str, action_part: str) -> int:
    return _form_index(html, action_part)
