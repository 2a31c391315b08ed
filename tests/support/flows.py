"""Building blocks for protocol tests: authorization URLs, codes and token requests over HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.support.live import LiveServer
from tests.support.user_agent import UserAgent


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(server: LiveServer, **params: str) -> str:
    return f"{server.url}/connect/authorize?{urlencode(params)}"


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@dataclass
class Code:
    code: str
    verifier: str | None
    redirect_uri: str
    state: str


def obtain_code(
    server: LiveServer,
    agent: UserAgent,
    client: dict[str, Any],
    person: dict[str, Any],
    redirect_uri: str,
    scope: str = "openid profile",
    *,
    use_pkce: bool = True,
    extra: dict[str, str] | None = None,
) -> Code:
    """Sign in and consent as needed, and return the code the client receives."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(8)
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        **(extra or {}),
    }
    if use_pkce:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    page = agent.go(authorize_url(server, **params))
    if 'name="password"' in page.text:
        page = agent.sign_in(page, person["username"], person["password"])
    if 'name="decision"' in page.text:
        page = agent.decide(page, "allow")
    query = query_of(agent.redirect_target(page))
    assert query["state"] == [state], query
    return Code(query["code"][0], verifier if use_pkce else None, redirect_uri, state)


def token_request(
    server: LiveServer, client: dict[str, Any], data: dict[str, str], *, basic: bool = True
) -> httpx.Response:
    """POST /connect/token, authenticating as `client` (Basic, or client_id for public ones)."""
    if basic and "client_secret" in client:
        return httpx.post(
            f"{server.url}/connect/token",
            data=data,
            auth=(client["client_id"], client["client_secret"]),
        )
    return httpx.post(
        f"{server.url}/connect/token", data={"client_id": client["client_id"], **data}
    )


def redeem(server: LiveServer, client: dict[str, Any], code: Code) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code.code,
        "redirect_uri": code.redirect_uri,
    }
    if code.verifier is not None:
        data["code_verifier"] = code.verifier
    return token_request(server, client, data)


def profile(server: LiveServer, access_token: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/user/profiles", headers={"Authorization": f"Bearer {access_token}"}
    )
