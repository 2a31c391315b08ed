"""Revocation (RFC 7009), introspection (RFC 7662) and JWT access tokens (RFC 9068).

Authlib's OAuth client revokes and introspects against a live server on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from authlib.jose import JsonWebKey, JsonWebToken

from tests.support.databases import scalar
from tests.support.live import LiveServer
from tests.support.oauth_flow import REDIRECT, oauth_client, obtain_tokens, profile_status
from tests.support.timestamps import set_column
from tests.support.user_agent import UserAgent

SCOPE = "openid profile offline_access"


@pytest.fixture(scope="module")
def person(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Revoke{secrets.token_hex(3)}")


@pytest.fixture(scope="module")
def app_client(server: LiveServer) -> dict[str, Any]:
    return server.create_client([REDIRECT], name="Revoking App")


@pytest.fixture(scope="module")
def other_client(server: LiveServer) -> dict[str, Any]:
    return server.create_client([REDIRECT], name="Another App")


@pytest.fixture(scope="module")
def resource_server(server: LiveServer) -> dict[str, Any]:
    client = server.create_client([REDIRECT], name="Profile Resource Server")
    updated = server.cli_json("clients", "update", client["client_id"], "--resource-server")
    assert updated["is_resource_server"] is True
    return client


@pytest.fixture()
def agent(server: LiveServer) -> Iterator[UserAgent]:
    ua = UserAgent(server.url)
    yield ua
    ua.close()


def endpoint(server: LiveServer, name: str) -> str:
    return str(httpx.get(f"{server.url}/.well-known/openid-configuration").json()[name])


def introspect(server: LiveServer, client: dict[str, Any], token: str, **kw: str) -> Any:
    oauth = oauth_client(client, SCOPE)
    response = oauth.introspect_token(endpoint(server, "introspection_endpoint"), token=token, **kw)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def test_revoking_an_access_token_leaves_the_refresh_token(
    server: LiveServer, app_client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    oauth = oauth_client(app_client, SCOPE)
    token, _ = obtain_tokens(server, oauth, person, agent)
    response = oauth.revoke_token(
        endpoint(server, "revocation_endpoint"),
        token=token["access_token"],
        token_type_hint="access_token",
    )
    assert response.status_code == 200
    assert profile_status(server, token["access_token"]) == 401
    refreshed = oauth.refresh_token(
        f"{server.url}/connect/token", refresh_token=token["refresh_token"]
    )
    assert profile_status(server, refreshed["access_token"]) == 200
    assert (
        scalar(
            server.database_url,
            "SELECT count(*) FROM audit_events WHERE event = 'token.revoked' AND client_id = :c",
            c=app_client["client_id"],
        )
        >= 1
    )


def test_revoking_a_refresh_token_ends_every_token_of_its_grant(
    server: LiveServer, app_client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    oauth = oauth_client(app_client, SCOPE)
    token, _ = obtain_tokens(server, oauth, person, agent)
    # A wrong hint only says where to look first (RFC 7009 §2.1).
    response = oauth.revoke_token(
        endpoint(server, "revocation_endpoint"),
        token=token["refresh_token"],
        token_type_hint="access_token",
    )
    assert response.status_code == 200
    assert profile_status(server, token["access_token"]) == 401
    refused = httpx.post(
        f"{server.url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(app_client["client_id"], app_client["client_secret"]),
    )
    assert refused.json()["error"] == "invalid_grant"


def test_unknown_and_foreign_tokens_get_200_and_nothing_happens(
    server: LiveServer,
    app_client: dict[str, Any],
    other_client: dict[str, Any],
    person: dict[str, Any],
    agent: UserAgent,
) -> None:
    url = endpoint(server, "revocation_endpoint")
    other = oauth_client(other_client, SCOPE)
    assert other.revoke_token(url, token="no-such-token").status_code == 200
    assert other.revoke_token(url, token="x", token_type_hint="weird_type").status_code == 200

    token, _ = obtain_tokens(server, oauth_client(app_client, SCOPE), person, agent)
    assert other.revoke_token(url, token=token["access_token"]).status_code == 200
    assert other.revoke_token(url, token=token["refresh_token"]).status_code == 200
    assert profile_status(server, token["access_token"]) == 200  # still alive


def test_a_public_client_revokes_its_own_token(
    server: LiveServer, person: dict[str, Any], agent: UserAgent
) -> None:
    public = server.create_client([REDIRECT], name="Native Revoker", public=True)
    oauth = oauth_client(public, "profile offline_access", auth_method="none")
    token, _ = obtain_tokens(server, oauth, person, agent)
    response = oauth.revoke_token(
        endpoint(server, "revocation_endpoint"), token=token["refresh_token"]
    )
    assert response.status_code == 200
    assert profile_status(server, token["access_token"]) == 401


@pytest.mark.parametrize("path", ["/connect/revocation", "/connect/introspect"])
def test_bad_requests_get_rfc_errors(
    server: LiveServer, app_client: dict[str, Any], path: str
) -> None:
    auth = (app_client["client_id"], app_client["client_secret"])
    url = f"{server.url}{path}"

    no_auth = httpx.post(url, data={"token": "abc"})
    assert no_auth.status_code == 401 and no_auth.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in no_auth.headers

    bad_secret = httpx.post(url, data={"token": "abc"}, auth=(app_client["client_id"], "wrong"))
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"

    missing = httpx.post(url, data={"token_type_hint": "access_token"}, auth=auth)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"

    as_json = httpx.post(url, json={"token": "abc"}, auth=auth)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"

    repeated = httpx.post(
        url,
        content="token=a&token=b",
        auth=auth,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert repeated.status_code == 400 and repeated.json()["error"] == "invalid_request"

    get = httpx.get(url)
    assert get.status_code == 405 and "error" in get.json()


def test_introspection_describes_a_live_token(
    server: LiveServer, app_client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    token, _ = obtain_tokens(server, oauth_client(app_client, SCOPE), person, agent)
    info = introspect(server, app_client, token["access_token"], token_type_hint="access_token")
    assert info["active"] is True
    assert info["scope"] == SCOPE
    assert info["client_id"] == app_client["client_id"]
    assert info["username"] == person["username"]
    assert info["sub"] == person["id"]
    assert info["token_type"] == "Bearer"
    assert info["iss"] == server.url
    assert 3500 <= info["exp"] - info["iat"] <= 3600

    refresh = introspect(server, app_client, token["refresh_token"])
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"

    oauth_client(app_client, SCOPE).revoke_token(
        endpoint(server, "revocation_endpoint"), token=token["refresh_token"]
    )
    assert introspect(server, app_client, token["access_token"]) == {"active": False}
    assert introspect(server, app_client, token["refresh_token"]) == {"active": False}
    assert introspect(server, app_client, "never-issued") == {"active": False}


def test_expired_and_rotated_tokens_are_inactive(
    server: LiveServer, app_client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    oauth = oauth_client(app_client, SCOPE)
    token, _ = obtain_tokens(server, oauth, person, agent)
    oauth.refresh_token(f"{server.url}/connect/token", refresh_token=token["refresh_token"])
    assert introspect(server, app_client, token["refresh_token"]) == {"active": False}

    digest = hashlib.sha256(token["access_token"].encode()).hexdigest()
    past = datetime.now(UTC) - timedelta(seconds=1)
    set_column(server.database_url, "tokens", "expires_at", past, "digest = :d", d=digest)
    assert introspect(server, app_client, token["access_token"]) == {"active": False}


def test_only_resource_servers_introspect_other_clients_tokens(
    server: LiveServer,
    app_client: dict[str, Any],
    other_client: dict[str, Any],
    resource_server: dict[str, Any],
    person: dict[str, Any],
    agent: UserAgent,
) -> None:
    token, _ = obtain_tokens(server, oauth_client(app_client, SCOPE), person, agent)
    assert introspect(server, other_client, token["access_token"]) == {"active": False}
    seen = introspect(server, resource_server, token["access_token"])
    assert seen["active"] is True and seen["client_id"] == app_client["client_id"]


def test_a_public_client_cannot_introspect(
    server: LiveServer, person: dict[str, Any], agent: UserAgent
) -> None:
    public = server.create_client([REDIRECT], name="Native Introspector", public=True)
    oauth = oauth_client(public, "profile", auth_method="none")
    token, _ = obtain_tokens(server, oauth, person, agent)
    response = httpx.post(
        f"{server.url}/connect/introspect",
        data={"token": token["access_token"], "client_id": public["client_id"]},
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_jwt_access_tokens_verify_and_stay_revocable(
    server: LiveServer, resource_server: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    client = server.create_client([REDIRECT], name="JWT Access App")
    updated = server.cli_json(
        "clients", "update", client["client_id"], "--access-token-format", "jwt"
    )
    assert updated["access_token_format"] == "jwt"
    oauth = oauth_client(client, SCOPE)
    token, _ = obtain_tokens(server, oauth, person, agent)
    access = token["access_token"]

    header = json.loads(base64.urlsafe_b64decode(access.split(".")[0] + "=="))
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256"  # RFC 9068 §2.1
    jwks = httpx.get(endpoint(server, "jwks_uri")).json()
    claims = JsonWebToken(["RS256"]).decode(access, JsonWebKey.import_key_set(jwks))
    claims.validate()
    assert claims["iss"] == server.url
    assert claims["aud"] == server.url
    assert claims["sub"] == person["id"]
    assert claims["client_id"] == client["client_id"]
    assert claims["scope"] == SCOPE
    assert claims["jti"] and claims["exp"] > claims["iat"]

    assert profile_status(server, access) == 200
    assert introspect(server, resource_server, access)["active"] is True

    refreshed = oauth.refresh_token(
        f"{server.url}/connect/token", refresh_token=token["refresh_token"]
    )
    assert refreshed["access_token"].count(".") == 2

    assert (
        oauth.revoke_token(endpoint(server, "revocation_endpoint"), token=access).status_code == 200
    )
    assert profile_status(server, access) == 401
    assert introspect(server, resource_server, access) == {"active": False}
    assert profile_status(server, refreshed["access_token"]) == 200
