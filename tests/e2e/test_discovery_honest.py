"""Discovery stays honest: every advertised endpoint, grant type, client authentication method,
signing algorithm, scope, claim and prompt value is shown to work against a live server.

Each check walks the list the server advertises; a value without a proof here fails the test,
so nothing new can be advertised without showing that it works.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey, OKPKey, RSAKey

from tests.support.databases import execute
from tests.support.live import LiveServer
from tests.support.oauth_flow import REDIRECT, authorize, oauth_client, obtain_tokens
from tests.support.user_agent import UserAgent

ALL_SCOPES = "openid profile email patreon offline_access"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")  # Authlib signing EdDSA


@pytest.fixture(scope="module")
def metadata(server: LiveServer) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    return document


@pytest.fixture(scope="module")
def person(server: LiveServer) -> dict[str, Any]:
    user = server.create_user(f"Honest{secrets.token_hex(3)}")
    # A profile picture, so that the `picture` claim has something to say.
    execute(server.database_url, "UPDATE accounts SET icon_url = 'resdb:///abc123.webp' "
            "WHERE id = :i", i=user["id"])  # fmt: skip
    return user


@pytest.fixture()
def agent(server: LiveServer) -> Iterator[UserAgent]:
    ua = UserAgent(server.url)
    yield ua
    ua.close()


def new_key(alg: str) -> RSAKey | ECKey | OKPKey:
    params: Any = {"kid": secrets.token_hex(6), "alg": alg}
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=params, private=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=params, private=True)
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519", parameters=params, private=True)
    raise AssertionError(f"advertised signing algorithm {alg!r} has no proof here")


def client_for(
    server: LiveServer, workdir: Path, method: str, alg: str = "RS256", scope: str = ALL_SCOPES
) -> OAuth2Client:
    """A registered client using `method`, as Authlib's OAuth client."""
    if method == "private_key_jwt":
        key = new_key(alg)
        jwks_file = workdir / f"{secrets.token_hex(4)}.json"
        jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
        registered = server.cli_json(
            "clients", "create", "--name", f"pkjwt {alg}", "--scope", scope,
            "--redirect-uri", REDIRECT, "--approve", "--jwks-file", str(jwks_file),
        )  # fmt: skip
        oauth = oauth_client(registered, scope, auth_method=method, secret=key)
        oauth.register_client_auth_method(PrivateKeyJWT(alg=alg))
        return oauth
    if method in ("client_secret_basic", "client_secret_post", "none"):
        registered = server.create_client(
            [REDIRECT], name=f"{method} app", scope=scope, public=method == "none"
        )
        return oauth_client(registered, scope, auth_method=method)
    raise AssertionError(f"advertised client authentication method {method!r} has no proof")


def header_of(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


def verify_id_token(metadata: dict[str, Any], token: str, client_id: str) -> dict[str, Any]:
    alg = header_of(token)["alg"]
    keys = JsonWebKey.import_key_set(httpx.get(metadata["jwks_uri"]).json())
    claims = JsonWebToken([alg]).decode(token, keys)
    claims.validate()
    assert claims["iss"] == metadata["issuer"] and claims["aud"] == client_id
    return dict(claims)


def prove_device_grant(
    server: LiveServer, metadata: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    """RFC 8628 end to end: codes, the person's approval at /device, tokens on polling."""
    created = server.cli_json(
        "clients", "create", "--name", "Device Proof", "--redirect-uri", REDIRECT,
        "--scope", "openid profile", "--public", "--approve", "--device-grant",
    )  # fmt: skip
    codes = httpx.post(
        metadata["device_authorization_endpoint"],
        data={"client_id": created["client_id"], "scope": "openid profile"},
    ).json()
    page = agent.go(codes["verification_uri_complete"])
    if 'name="password"' in page.text:
        page = agent.sign_in(page, person["username"], person["password"])
    assert agent.decide(agent.submit(page, {}), "allow").status_code == 200
    token = httpx.post(
        metadata["token_endpoint"],
        data={"client_id": created["client_id"], "grant_type": DEVICE_GRANT,
              "device_code": codes["device_code"]},
    )  # fmt: skip
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert httpx.get(metadata["userinfo_endpoint"], headers=bearer).json()["sub"] == person["id"]


def test_every_endpoint_is_proven(
    server: LiveServer, metadata: dict[str, Any], person: dict[str, Any], agent: UserAgent,
    workdir: Path,
) -> None:  # fmt: skip
    oauth = client_for(server, workdir, "client_secret_basic")
    token, _ = obtain_tokens(server, oauth, person, agent)  # authorization + token endpoints
    bearer = {"Authorization": f"Bearer {token['access_token']}"}

    def userinfo(url: str) -> None:
        assert httpx.get(url, headers=bearer).json()["sub"] == person["id"]
        assert httpx.post(url, headers=bearer).json()["sub"] == person["id"]

    def jwks(url: str) -> None:
        kids = {key["kid"] for key in httpx.get(url).json()["keys"]}
        assert header_of(token["id_token"])["kid"] in kids

    def introspection(url: str) -> None:
        assert oauth.introspect_token(url, token=token["access_token"]).json()["active"] is True

    def revocation(url: str) -> None:
        assert oauth.revoke_token(url, token=token["access_token"]).status_code == 200
        assert httpx.get(metadata["userinfo_endpoint"], headers=bearer).status_code == 401

    def proven_by_the_flow(url: str) -> None:
        assert token["access_token"] and token["id_token"]

    def device_authorization(url: str) -> None:
        assert url == metadata["device_authorization_endpoint"]
        prove_device_grant(server, metadata, person, agent)

    def end_session(url: str) -> None:  # OIDC RP-Initiated Logout: the session ends
        assert "Sign in to see" not in agent.go(server.url + "/").text
        agent.go(f"{url}?id_token_hint={token['id_token']}")
        assert "Sign in to see" in agent.go(server.url + "/").text

    proofs: dict[str, Callable[[str], None]] = {
        "authorization_endpoint": proven_by_the_flow,
        "token_endpoint": proven_by_the_flow,
        "userinfo_endpoint": userinfo,
        "jwks_uri": jwks,
        "introspection_endpoint": introspection,
        "device_authorization_endpoint": device_authorization,
        "end_session_endpoint": end_session,  # after the others that use the signed-in agent
        "revocation_endpoint": revocation,  # last: it kills the token the others use
    }
    advertised = [k for k in metadata if k.endswith("_endpoint") or k == "jwks_uri"]
    unproven = set(advertised) - set(proofs)
    assert not unproven, f"advertised without a proof: {unproven}"
    for name, prove in proofs.items():
        assert metadata[name].startswith(server.url + "/"), name
        prove(metadata[name])


def test_every_grant_type_and_token_endpoint_auth_method_works(
    server: LiveServer, metadata: dict[str, Any], person: dict[str, Any], agent: UserAgent,
    workdir: Path,
) -> None:  # fmt: skip
    # Proven below: each client redeems a code, then refreshes; then a device links.
    proven = {"authorization_code", "refresh_token", DEVICE_GRANT}
    unproven = set(metadata["grant_types_supported"]) - proven
    assert not unproven, f"advertised grant types without a proof here: {unproven}"
    prove_device_grant(server, metadata, person, agent)
    for method in metadata["token_endpoint_auth_methods_supported"]:
        algs = (
            metadata["token_endpoint_auth_signing_alg_values_supported"]
            if method == "private_key_jwt"
            else ["-"]
        )
        for alg in algs:
            oauth = client_for(server, workdir, method, alg, scope="openid offline_access")
            token, _ = obtain_tokens(server, oauth, person, agent)  # authorization_code
            refreshed = oauth.refresh_token(  # refresh_token
                metadata["token_endpoint"], refresh_token=token["refresh_token"]
            )
            assert refreshed["access_token"] != token["access_token"], (method, alg)


@pytest.mark.parametrize(
    ("endpoint", "methods", "algs"),
    [
        (
            "revocation_endpoint",
            "revocation_endpoint_auth_methods_supported",
            "revocation_endpoint_auth_signing_alg_values_supported",
        ),
        (
            "introspection_endpoint",
            "introspection_endpoint_auth_methods_supported",
            "introspection_endpoint_auth_signing_alg_values_supported",
        ),
    ],
)
def test_every_revocation_and_introspection_auth_method_works(
    server: LiveServer, metadata: dict[str, Any], person: dict[str, Any], agent: UserAgent,
    workdir: Path, endpoint: str, methods: str, algs: str,
) -> None:  # fmt: skip
    url = metadata[endpoint]
    for method in metadata[methods]:
        for alg in metadata[algs] if method == "private_key_jwt" else ["-"]:
            oauth = client_for(server, workdir, method, alg, scope="openid")
            token, _ = obtain_tokens(server, oauth, person, agent)
            if endpoint == "introspection_endpoint":
                response = oauth.introspect_token(url, token=token["access_token"])
                assert response.json()["active"] is True, (method, alg, response.text)
            else:
                assert oauth.revoke_token(url, token=token["access_token"]).status_code == 200
                info = httpx.get(
                    metadata["userinfo_endpoint"],
                    headers={"Authorization": f"Bearer {token['access_token']}"},
                )
                assert info.status_code == 401, (method, alg)


def test_every_id_token_algorithm_signs_verifiable_tokens(
    server: LiveServer, metadata: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]  # OIDC Discovery §3
    for alg in metadata["id_token_signing_alg_values_supported"]:
        registered = server.create_client([REDIRECT], name=f"{alg} id tokens", scope="openid")
        server.cli_json("clients", "update", registered["client_id"], "--id-token-alg", alg)
        token, nonce = obtain_tokens(server, oauth_client(registered, "openid"), person, agent)
        assert header_of(token["id_token"])["alg"] == alg
        claims = verify_id_token(metadata, token["id_token"], registered["client_id"])
        assert claims["nonce"] == nonce


def test_every_scope_and_claim_shows_up(
    server: LiveServer, metadata: dict[str, Any], person: dict[str, Any], agent: UserAgent,
    workdir: Path,
) -> None:  # fmt: skip
    oauth = client_for(server, workdir, "client_secret_basic")
    token, _ = obtain_tokens(server, oauth, person, agent)
    granted = set(token["scope"].split())
    profile = oauth.get(f"{server.url}/api/user/profiles").json()
    userinfo = oauth.get(metadata["userinfo_endpoint"]).json()
    claims = verify_id_token(metadata, token["id_token"], oauth.client_id)
    effects: dict[str, Callable[[], bool]] = {
        "openid": lambda: "id_token" in token,
        "profile": lambda: profile["username"] == person["username"],
        "email": lambda: profile["email"] == userinfo["email"],
        "patreon": lambda: "isActiveSupporter" in profile and "supporterMetadata" in profile,
        "offline_access": lambda: "refresh_token" in token,
    }
    for scope in metadata["scopes_supported"]:
        assert scope in granted and scope in effects, f"scope {scope!r} has no proof"
        assert effects[scope](), scope
    seen = set(claims) | set(userinfo)
    missing = set(metadata["claims_supported"]) - seen
    assert not missing, f"claims advertised but never issued: {missing}"


def test_response_types_pkce_iss_and_subject_types(
    server: LiveServer, metadata: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["response_modes_supported"] == ["query"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["subject_types_supported"] == ["public"]
    subs = []
    for name in ("Public sub one", "Public sub two"):
        registered = server.create_client([REDIRECT], name=name, scope="openid")
        done = authorize(server, oauth_client(registered, "openid"), person, agent)
        query = parse_qs(urlsplit(done.callback).query)
        assert set(query) == {"code", "state", "iss"}  # query response mode, RFC 9207 iss
        assert query["iss"] == [metadata["issuer"]]
        assert metadata["authorization_response_iss_parameter_supported"] is True
        token = done.oauth.fetch_token(
            metadata["token_endpoint"], authorization_response=done.callback,
            code_verifier=done.verifier,
        )  # fmt: skip
        subs.append(verify_id_token(metadata, token["id_token"], registered["client_id"])["sub"])
    assert subs[0] == subs[1] == person["id"]  # "public": the same sub for every client


def test_every_prompt_value_behaves(
    server: LiveServer, metadata: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    registered = server.create_client([REDIRECT], name="Prompt App", scope="openid profile")
    oauth = oauth_client(registered, "openid profile")
    authorize(server, oauth, person, agent)  # signed in, consent remembered

    def start(prompt: str) -> httpx.Response:
        url, _ = oauth.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=generate_token(64), prompt=prompt
        )
        return agent.go(url)

    checks: dict[str, Callable[[httpx.Response], bool]] = {
        "none": lambda r: "code=" in agent.redirect_target(r),
        "login": lambda r: 'name="password"' in r.text,
        "consent": lambda r: 'name="decision"' in r.text,
    }
    for prompt in metadata["prompt_values_supported"]:
        assert prompt in checks, f"prompt {prompt!r} has no proof"
        assert checks[prompt](start(prompt)), prompt
