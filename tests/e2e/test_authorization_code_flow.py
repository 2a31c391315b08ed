"""The whole authorization code flow, driven by Authlib's OAuth client against a live server."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey, JsonWebToken

from tests.support.live import LiveServer
from tests.support.oauth_flow import REDIRECT, authorize, oauth_client
from tests.support.user_agent import UserAgent


@pytest.fixture(scope="module")
def metadata(server: LiveServer) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    return document


@pytest.fixture(scope="module")
def person(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Flow{secrets.token_hex(3)}")


@pytest.fixture(scope="module")
def app_client(server: LiveServer) -> dict[str, Any]:
    return server.create_client([REDIRECT], name="Event Registration")


@pytest.fixture()
def agent(server: LiveServer) -> Iterator[UserAgent]:
    ua = UserAgent(server.url)
    yield ua
    ua.close()


def run_flow(
    server: LiveServer,
    metadata: dict[str, Any],
    client: dict[str, Any],
    person: dict[str, Any],
    agent: UserAgent,
    scope: str,
    *,
    auth_method: str = "client_secret_basic",
) -> tuple[OAuth2Client, dict[str, Any], str]:
    oauth = oauth_client(client, scope, auth_method=auth_method)
    done = authorize(server, oauth, person, agent)
    assert parse_qs(urlsplit(done.callback).query)["iss"] == [server.url]  # RFC 9207
    token = oauth.fetch_token(
        metadata["token_endpoint"],
        authorization_response=done.callback,
        code_verifier=done.verifier,
    )
    return oauth, dict(token), done.nonce


def verify_id_token(
    server: LiveServer, metadata: dict[str, Any], id_token: str, client_id: str, nonce: str | None
) -> dict[str, Any]:
    jwks = httpx.get(metadata["jwks_uri"]).json()
    claims = JsonWebToken(["RS256"]).decode(id_token, JsonWebKey.import_key_set(jwks))
    claims.validate()
    assert claims["iss"] == server.url
    assert claims["aud"] == client_id
    if nonce is not None:
        assert claims["nonce"] == nonce
    for name in ("sub", "exp", "iat", "auth_time", "at_hash"):
        assert name in claims
    return dict(claims)


def test_discovery_advertises_what_the_server_does(
    server: LiveServer, metadata: dict[str, Any]
) -> None:
    assert metadata["issuer"] == server.url
    assert metadata["authorization_endpoint"] == f"{server.url}/connect/authorize"
    assert metadata["token_endpoint"] == f"{server.url}/connect/token"
    assert metadata["jwks_uri"] == f"{server.url}/.well-known/openid-configuration/jwks"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "implicit" not in metadata["grant_types_supported"]
    assert "password" not in metadata["grant_types_supported"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    keys = httpx.get(metadata["jwks_uri"]).json()["keys"]
    assert keys and all("d" not in key and "p" not in key for key in keys)


@pytest.mark.parametrize(
    ("scope", "expect_email", "expect_patreon"),
    [
        ("openid profile", False, False),
        ("openid profile email", True, False),
        ("openid profile email patreon offline_access", True, True),
    ],
)
def test_flow_returns_profile_filtered_by_scope(
    server: LiveServer,
    metadata: dict[str, Any],
    app_client: dict[str, Any],
    person: dict[str, Any],
    agent: UserAgent,
    scope: str,
    expect_email: bool,
    expect_patreon: bool,
) -> None:
    oauth, token, nonce = run_flow(server, metadata, app_client, person, agent, scope)
    assert token["token_type"] == "Bearer"
    assert set(token["scope"].split()) == set(scope.split())

    profile_response = oauth.get(f"{server.url}/api/user/profiles")
    assert profile_response.status_code == 200
    assert profile_response.headers["cache-control"] == "no-store"
    profile = profile_response.json()
    assert profile["id"] == person["id"] and profile["id"].startswith("U-")
    assert profile["username"] == person["username"]
    assert profile["normalizedUsername"] == person["username"].lower()
    assert profile["registrationDate"].endswith("Z")
    for name in ("isVerified", "isLocked", "supressBanEvasion", "2fa_login", "tags", "profile"):
        assert name in profile
    assert set(profile["profile"]) == {
        "iconUrl",
        "tagline",
        "description",
        "pronouns",
        "displayBadges",
    }
    assert ("email" in profile) is expect_email
    assert ("isActiveSupporter" in profile) is expect_patreon
    assert ("supporterMetadata" in profile) is expect_patreon
    assert not any(
        "hash" in key.lower() or "password" in key.lower() or "totp" in key.lower()
        for key in profile
    )

    userinfo = oauth.get(metadata["userinfo_endpoint"]).json()
    assert userinfo["sub"] == person["id"]
    assert userinfo["preferred_username"] == person["username"]
    assert ("email" in userinfo) is expect_email

    claims = verify_id_token(server, metadata, token["id_token"], app_client["client_id"], nonce)
    assert claims["sub"] == person["id"]
    assert claims["amr"] == ["pwd"]

    if "offline_access" in scope:
        refreshed = oauth.refresh_token(
            metadata["token_endpoint"], refresh_token=token["refresh_token"]
        )
        assert refreshed["refresh_token"] != token["refresh_token"]
        assert refreshed["access_token"] != token["access_token"]
        assert oauth.get(f"{server.url}/api/user/profiles").status_code == 200
        verify_id_token(server, metadata, refreshed["id_token"], app_client["client_id"], None)
    else:
        assert "refresh_token" not in token


def test_remembered_consent_skips_the_consent_page(
    server: LiveServer,
    metadata: dict[str, Any],
    app_client: dict[str, Any],
    person: dict[str, Any],
    agent: UserAgent,
) -> None:
    run_flow(server, metadata, app_client, person, agent, "openid profile")
    oauth = oauth_client(app_client, "openid profile")
    url, _ = oauth.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=generate_token(64)
    )
    response = agent.go(url)
    assert "code=" in agent.redirect_target(response)


def test_client_secret_post_and_public_client(
    server: LiveServer, metadata: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    confidential = server.create_client([REDIRECT], name="Post Auth App")
    _, token, _ = run_flow(
        server,
        metadata,
        confidential,
        person,
        agent,
        "openid profile",
        auth_method="client_secret_post",
    )
    assert token["access_token"]
    public = server.create_client([REDIRECT], name="Native App", public=True)
    assert "client_secret" not in public
    oauth, token, _ = run_flow(
        server, metadata, public, person, agent, "profile offline_access", auth_method="none"
    )
    assert "id_token" not in token
    assert oauth.get(f"{server.url}/api/user/profiles").status_code == 200
    refreshed = oauth.refresh_token(
        metadata["token_endpoint"], refresh_token=token["refresh_token"]
    )
    assert refreshed["access_token"]
