"""Signing key rotation (`resonite-auth keys …`) and per-client ID token algorithms.

Two server instances share one database (SQLite file or PostgreSQL): a rotation made with the
CLI is seen by both without a restart. Tokens are verified with Authlib against the JWKS.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.jose import JsonWebKey, JsonWebToken

from tests.support.databases import scalar
from tests.support.live import LiveServer
from tests.support.oauth_flow import REDIRECT, oauth_client, obtain_tokens
from tests.support.timestamps import set_column
from tests.support.user_agent import UserAgent

ID_TOKEN_TTL = 900
ENV = {
    # Read the keys on every request, so that the test sees a rotation at once; the default
    # (10 s) only delays it.
    "RESONITE_AUTH_KEYRING_CACHE_SECONDS": "0",
    "RESONITE_AUTH_ID_TOKEN_TTL": str(ID_TOKEN_TTL),
    "RESONITE_AUTH_ACCESS_TOKEN_TTL": "600",
    "RESONITE_AUTH_GC_INTERVAL": "0",
}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


def start(database_url: str, workdir: Path) -> LiveServer:
    live = LiveServer(database_url=database_url, workdir=workdir, extra_env=ENV)
    live.start()
    return live


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start(database_url, tmp_path_factory.mktemp("server"))
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def second(
    server: LiveServer, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Another instance on the same database (its issuer is its own URL)."""
    live = start(database_url, tmp_path_factory.mktemp("second"))
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def person(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Keys{secrets.token_hex(3)}")


@pytest.fixture()
def agent(server: LiveServer) -> Iterator[UserAgent]:
    ua = UserAgent(server.url)
    yield ua
    ua.close()


def jwks(live: LiveServer) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{live.url}/.well-known/openid-configuration/jwks").json()
    return document


def kids(live: LiveServer) -> set[str]:
    return {key["kid"] for key in jwks(live)["keys"]}


def header_of(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


def verify(live: LiveServer, token: str, alg: str, audience: str) -> dict[str, Any]:
    claims = JsonWebToken([alg]).decode(token, JsonWebKey.import_key_set(jwks(live)))
    claims.validate()
    assert claims["aud"] == audience
    return dict(claims)


def keys_by_status(live: LiveServer, alg: str) -> dict[str, list[str]]:
    listed = live.cli_json("keys", "list")
    found: dict[str, list[str]] = {"next": [], "current": [], "retired": []}
    for key in listed:
        if key["alg"] == alg:
            found[key["status"]].append(key["kid"])
    return found


def test_every_algorithm_has_a_current_and_a_next_key_and_no_secret_leaks(
    server: LiveServer,
) -> None:
    listed = server.cli_json("keys", "list")
    for alg in ("RS256", "ES256", "EdDSA"):
        statuses = sorted(k["status"] for k in listed if k["alg"] == alg)
        assert statuses == ["current", "next"], (alg, statuses)
    assert all(set(key) >= {"kid", "alg", "status", "published"} for key in listed)
    assert "private_jwk" not in json.dumps(listed)
    published = jwks(server)["keys"]
    assert {key["kid"] for key in published} == {key["kid"] for key in listed}
    assert all(not (PRIVATE_MEMBERS & set(key)) for key in published)
    text = server.cli("keys", "list").stdout
    assert "current" in text and "next" in text


def test_rotation_keeps_earlier_id_tokens_verifiable_until_they_expire(
    server: LiveServer, second: LiveServer, person: dict[str, Any], agent: UserAgent
) -> None:
    client = server.create_client([REDIRECT], name="Rotation App")
    oauth = oauth_client(client, "openid profile offline_access")
    token, _ = obtain_tokens(server, oauth, person, agent)
    old_kid = header_of(token["id_token"])["kid"]
    before = keys_by_status(server, "RS256")
    assert before["current"] == [old_kid]
    upcoming = before["next"][0]
    assert upcoming in kids(server) and upcoming in kids(second)  # published before it signs

    rotation = server.cli_json("keys", "rotate", "--alg", "RS256")
    assert rotation["retired"] == old_kid and rotation["current"] == upcoming
    assert (
        scalar(server.database_url, "SELECT count(*) FROM audit_events WHERE event = 'key.rotated'")
        >= 1
    )

    # Both instances: the retired key is still published and the old ID token verifies.
    for live in (server, second):
        assert {old_kid, upcoming, rotation["next"]} <= kids(live)
        verify(live, token["id_token"], "RS256", client["client_id"])

    # New ID tokens are signed by the promoted key, on either instance, without a restart.
    refreshed = oauth.refresh_token(
        f"{server.url}/connect/token", refresh_token=token["refresh_token"]
    )
    assert header_of(refreshed["id_token"])["kid"] == upcoming
    verify(server, refreshed["id_token"], "RS256", client["client_id"])

    # Once everything the retired key signed has expired, it leaves the JWKS (moved clock:
    # the rotation happened longer ago than the longest token lifetime).
    long_ago = datetime.now(UTC) - timedelta(seconds=ID_TOKEN_TTL + 5)
    set_column(server.database_url, "signing_keys", "retired_at", long_ago, "kid = :k", k=old_kid)
    for live in (server, second):
        assert old_kid not in kids(live)
        assert upcoming in kids(live)
    listed = {k["kid"]: k for k in server.cli_json("keys", "list")}
    assert listed[old_kid]["published"] is False

    deleted = server.cli_json("gc")
    assert deleted["signing_keys"] >= 1
    assert old_kid not in {k["kid"] for k in server.cli_json("keys", "list")}


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_a_client_may_choose_its_id_token_algorithm(
    server: LiveServer, person: dict[str, Any], agent: UserAgent, alg: str
) -> None:
    client = server.create_client([REDIRECT], name=f"{alg} Tokens App")
    updated = server.cli_json("clients", "update", client["client_id"], "--id-token-alg", alg)
    assert updated["id_token_signed_response_alg"] == alg
    oauth = oauth_client(client, "openid profile offline_access")
    token, nonce = obtain_tokens(server, oauth, person, agent)
    header = header_of(token["id_token"])
    assert header["alg"] == alg
    assert header["kid"] == keys_by_status(server, alg)["current"][0]
    claims = verify(server, token["id_token"], alg, client["client_id"])
    assert claims["nonce"] == nonce and claims["sub"] == person["id"]

    rotation = server.cli_json("keys", "rotate", "--alg", alg)
    refreshed = oauth.refresh_token(
        f"{server.url}/connect/token", refresh_token=token["refresh_token"]
    )
    assert header_of(refreshed["id_token"])["kid"] == rotation["current"]
    verify(server, refreshed["id_token"], alg, client["client_id"])
    verify(server, token["id_token"], alg, client["client_id"])  # the old one still verifies


def test_bad_key_and_client_options_are_refused(server: LiveServer) -> None:
    result = server.cli("keys", "rotate", "--alg", "HS256", check=False)
    assert result.returncode == 1 and "Unsupported algorithm" in result.stderr
    client = server.create_client([REDIRECT], name="Options App")
    result = server.cli(
        "clients", "update", client["client_id"], "--id-token-alg", "none", check=False
    )
    assert result.returncode == 1 and "ID token algorithm" in result.stderr
    result = server.cli("clients", "update", "no-such-client", "--resource-server", check=False)
    assert result.returncode == 1 and "No application" in result.stderr
    result = server.cli(
        "clients", "update", client["client_id"], "--access-token-format", "paseto", check=False
    )
    assert result.returncode == 1 and "Access token format" in result.stderr
