"""private_key_jwt client authentication (RFC 7523) with Authlib's PrivateKeyJWT, live server."""

from __future__ import annotations

import json
import secrets
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from tests.support.live import LiveServer
from tests.support.oauth_flow import REDIRECT, obtain_tokens, profile_status
from tests.support.user_agent import UserAgent

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE = "openid profile offline_access"
AnyKey = RSAKey | ECKey | OKPKey


def new_key(alg: str) -> AnyKey:
    params = {"kid": secrets.token_hex(6), "alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=params, private=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=params, private=True)
    return OKPKey.generate_key("Ed25519", parameters=params, private=True)


def register(server: LiveServer, workdir: Path, key: AnyKey, name: str) -> dict[str, Any]:
    jwks_file = workdir / f"{secrets.token_hex(4)}.json"
    jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    client: dict[str, Any] = server.cli_json(
        "clients", "create", "--name", name, "--scope", SCOPE,
        "--redirect-uri", REDIRECT, "--approve", "--jwks-file", str(jwks_file),
    )  # fmt: skip
    return client


def sign(key: AnyKey, claims: dict[str, Any], alg: str = "RS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


def claims_for(client_id: str, audience: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture()
def agent(server: LiveServer) -> Iterator[UserAgent]:
    ua = UserAgent(server.url)
    yield ua
    ua.close()


@pytest.fixture(scope="module")
def person(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Pkjwt{secrets.token_hex(3)}")


@pytest.fixture(scope="module")
def rsa_key() -> AnyKey:
    return new_key("RS256")


@pytest.fixture(scope="module")
def rsa_client(server: LiveServer, workdir: Path, rsa_key: AnyKey) -> dict[str, Any]:
    return register(server, workdir, rsa_key, "Signed Assertion App")


def test_discovery_advertises_private_key_jwt(server: LiveServer) -> None:
    metadata = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert set(metadata["token_endpoint_auth_signing_alg_values_supported"]) == {
        "RS256",
        "ES256",
        "EdDSA",
    }


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")  # Authlib signing with EdDSA
@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_flow_refresh_revoke_and_introspect_with_signed_assertions(
    server: LiveServer, workdir: Path, person: dict[str, Any], agent: UserAgent, alg: str
) -> None:
    key = new_key(alg)
    client = register(server, workdir, key, f"{alg} Assertion App")
    assert "client_secret" not in client
    assert client["token_endpoint_auth_method"] == "private_key_jwt"
    oauth = OAuth2Client(
        client["client_id"],
        key,
        scope=SCOPE,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="private_key_jwt",
        revocation_endpoint_auth_method="private_key_jwt",
    )
    # No fixed audience: each assertion names the endpoint it is sent to.
    oauth.register_client_auth_method(PrivateKeyJWT(alg=alg))
    token, _ = obtain_tokens(server, oauth, person, agent)
    assert profile_status(server, token["access_token"]) == 200
    refreshed = oauth.refresh_token(
        f"{server.url}/connect/token", refresh_token=token["refresh_token"]
    )
    info = oauth.introspect_token(
        f"{server.url}/connect/introspect", token=refreshed["access_token"]
    )
    assert info.status_code == 200 and info.json()["active"] is True
    revoked = oauth.revoke_token(
        f"{server.url}/connect/revocation", token=refreshed["access_token"]
    )
    assert revoked.status_code == 200
    assert profile_status(server, refreshed["access_token"]) == 401


def test_a_replayed_assertion_is_refused(
    server: LiveServer, rsa_client: dict[str, Any], rsa_key: AnyKey
) -> None:
    url = f"{server.url}/connect/introspect"
    assertion = private_key_jwt_sign(rsa_key, rsa_client["client_id"], url)
    form = {
        "token": "anything",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    first = httpx.post(url, data=form)
    assert first.status_code == 200 and first.json() == {"active": False}
    replay = httpx.post(url, data=form)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    # The same replay at another endpoint is refused too.
    other = httpx.post(f"{server.url}/connect/revocation", data=form)
    assert other.status_code == 401


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "https://elsewhere.example/token"},
        {"exp": -5},
        {"exp": 7200},
        {"iss": "someone-else"},
        {"jti": None},
        {"exp": None},
        {"nbf": 600},
    ],
    ids=["audience", "expired", "too-long", "issuer", "no-jti", "no-exp", "not-yet"],
)
def test_bad_assertions_are_refused(
    server: LiveServer, rsa_client: dict[str, Any], rsa_key: AnyKey, changes: dict[str, Any]
) -> None:
    url = f"{server.url}/connect/introspect"
    # Times are offsets from now, taken when the test runs (not when it was collected).
    now = int(time.time())
    changes = {
        name: now + value if name in ("exp", "nbf") and value is not None else value
        for name, value in changes.items()
    }
    assertion = sign(rsa_key, claims_for(rsa_client["client_id"], url, **changes))
    response = httpx.post(
        url,
        data={"token": "t", "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion},
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"


def test_an_unregistered_key_or_a_secret_client_cannot_use_assertions(
    server: LiveServer, rsa_client: dict[str, Any]
) -> None:
    url = f"{server.url}/connect/introspect"
    stranger = new_key("RS256")
    forged = sign(stranger, claims_for(rsa_client["client_id"], url))
    response = httpx.post(
        url,
        data={"token": "t", "client_assertion_type": ASSERTION_TYPE, "client_assertion": forged},
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"

    secret_client = server.create_client([REDIRECT], name="Secret Only App")
    assertion = sign(stranger, claims_for(secret_client["client_id"], url))
    response = httpx.post(
        url,
        data={"token": "t", "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion},
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_malformed_assertion_requests(
    server: LiveServer, rsa_client: dict[str, Any], rsa_key: AnyKey
) -> None:
    url = f"{server.url}/connect/token"
    good = sign(rsa_key, claims_for(rsa_client["client_id"], url))
    cases = [
        ({"client_assertion_type": "urn:other", "client_assertion": good}, 401, "invalid_client"),
        ({"client_assertion": good}, 400, "invalid_request"),
        (
            {"client_assertion_type": ASSERTION_TYPE, "client_assertion": "not.a.jwt"},
            401,
            "invalid_client",
        ),
        (
            {
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": good,
                "client_secret": "x",
            },
            400,
            "invalid_request",
        ),
        (
            {
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": good,
                "client_id": "other",
            },
            401,
            "invalid_client",
        ),
    ]
    for form, status, error in cases:
        response = httpx.post(
            url, data={"grant_type": "refresh_token", "refresh_token": "r", **form}
        )
        assert (response.status_code, response.json()["error"]) == (status, error), form


def test_registration_refuses_private_or_unusable_keys(server: LiveServer, workdir: Path) -> None:
    key = new_key("RS256")
    private = workdir / "private.json"
    private.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    base = ["clients", "create", "--name", "Bad Keys", "--redirect-uri", REDIRECT]
    result = server.cli(*base, "--jwks-file", str(private), check=False)
    assert result.returncode == 1 and "public keys only" in result.stderr

    empty = workdir / "empty.json"
    empty.write_text(json.dumps({"keys": []}))
    assert server.cli(*base, "--jwks-file", str(empty), check=False).returncode == 1

    public = workdir / "public.json"
    public.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    result = server.cli(*base, "--public", "--jwks-file", str(public), check=False)
    assert result.returncode == 1 and "public client" in result.stderr

    result = server.cli(*base, "--jwks-file", str(workdir / "missing.json"), check=False)
    assert result.returncode == 1 and "cannot read" in result.stderr
