"""RFC 6749 §5.2 errors at /connect/token; RFC 6750 §3 answers at the profile API and userinfo."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.databases import execute, scalar
from tests.support.flows import obtain_code, profile, redeem, token_request
from tests.support.live import LiveServer
from tests.support.user_agent import UserAgent

REDIRECT = "http://127.0.0.1:65502/cb"
OTHER_REDIRECT = "http://127.0.0.1:65502/other"


@pytest.fixture(scope="module")
def person(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Tok{secrets.token_hex(3)}")


@pytest.fixture(scope="module")
def client(server: LiveServer) -> dict[str, Any]:
    return server.create_client([REDIRECT, OTHER_REDIRECT], name="Token App")


@pytest.fixture(scope="module")
def other_client(server: LiveServer) -> dict[str, Any]:
    return server.create_client([REDIRECT], name="Other App")


@pytest.fixture()
def agent(server: LiveServer) -> Iterator[UserAgent]:
    ua = UserAgent(server.url)
    yield ua
    ua.close()


def assert_error(response: httpx.Response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert response.headers["cache-control"] == "no-store"


def code_data(issued: Any, **overrides: str) -> dict[str, str]:
    data = {
        "grant_type": "authorization_code",
        "code": issued.code,
        "redirect_uri": issued.redirect_uri,
        "code_verifier": issued.verifier,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value != "<omit>"}


def test_request_shape_errors(server: LiveServer, client: dict[str, Any]) -> None:
    url = f"{server.url}/connect/token"
    auth = (client["client_id"], client["client_secret"])
    assert_error(
        httpx.post(url, json={"grant_type": "authorization_code"}, auth=auth), "invalid_request"
    )
    assert_error(httpx.post(url, data={}, auth=auth), "invalid_request")
    for grant_type in ("password", "implicit", "client_credentials", "urn:x:unknown"):
        assert_error(
            httpx.post(url, data={"grant_type": grant_type}, auth=auth), "unsupported_grant_type"
        )
    repeated = "grant_type=refresh_token&grant_type=authorization_code"
    response = httpx.post(
        url,
        content=repeated,
        auth=auth,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, "invalid_request")
    garbage = bytes(range(256)) * 4
    response = httpx.post(
        url,
        content=garbage,
        auth=auth,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and response.json()["error"] in (
        "invalid_request",
        "unsupported_grant_type",
    )
    assert_error(
        httpx.post(url, data={"grant_type": "authorization_code"}, auth=auth), "invalid_request"
    )


def test_oversized_bodies_are_refused_unread(
    server: LiveServer, person: dict[str, Any], agent: UserAgent
) -> None:
    """An OAuth endpoint reads at most 64 KiB: a larger body, declared or streamed without a
    length, gets 413 invalid_request, and the code inside it stays unspent."""
    client = server.create_client([REDIRECT], name="Body Size App")
    issued = obtain_code(server, agent, client, person, REDIRECT, "openid profile")
    form = "&".join(f"{key}={value}" for key, value in code_data(issued).items())
    oversized = (form + "&padding=" + "x" * (64 * 1024)).encode()
    auth = (client["client_id"], client["client_secret"])
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def streamed() -> Iterator[bytes]:  # chunked transfer: no Content-Length to go by
        for start in range(0, len(oversized), 8192):
            yield oversized[start : start + 8192]

    for path in ("/connect/token", "/connect/introspect", "/connect/revocation"):
        url = f"{server.url}{path}"
        assert_error(
            httpx.post(url, content=oversized, auth=auth, headers=headers), "invalid_request", 413
        )
        assert_error(
            httpx.post(url, content=streamed(), auth=auth, headers=headers), "invalid_request", 413
        )
    # Nothing was redeemed: the same code, in a body of ordinary size, still works.
    assert redeem(server, client, issued).status_code == 200


def test_oauth_endpoints_methods_and_headers(server: LiveServer, client: dict[str, Any]) -> None:
    """Token, introspection and revocation are answered before the framework's routing: other
    methods get 405 with Allow, and every answer carries the security headers."""
    for path in ("/connect/token", "/connect/introspect", "/connect/revocation"):
        url = f"{server.url}{path}"
        for method in ("GET", "PUT", "DELETE"):
            refused = httpx.request(method, url)
            assert refused.status_code == 405, (path, method)
            assert refused.headers["allow"] == "POST"
            assert refused.json()["error"] == "invalid_request"
            assert refused.headers["x-frame-options"] == "DENY"
        answer = httpx.post(url, data={}, auth=(client["client_id"], client["client_secret"]))
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
        assert answer.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_client_authentication_errors(server: LiveServer, client: dict[str, Any]) -> None:
    url = f"{server.url}/connect/token"
    data = {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT}
    response = httpx.post(url, data=data, auth=(client["client_id"], "wrong secret"))
    assert_error(response, "invalid_client", 401)
    assert response.headers["www-authenticate"].startswith("Basic")
    assert_error(httpx.post(url, data=data, auth=("no-such-client", "x")), "invalid_client", 401)
    assert_error(
        httpx.post(url, data={**data, "client_id": client["client_id"]}), "invalid_client", 401
    )
    assert_error(httpx.post(url, data=data), "invalid_client", 401)
    both = {**data, "client_secret": client["client_secret"]}
    assert_error(
        httpx.post(url, data=both, auth=(client["client_id"], client["client_secret"])),
        "invalid_request",
    )
    for header in ("Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode()):
        assert_error(
            httpx.post(url, data=data, headers={"Authorization": header}), "invalid_client", 401
        )
    public = server.create_client([REDIRECT], name="Public", public=True)
    with_secret = {**data, "client_id": public["client_id"], "client_secret": "anything"}
    assert_error(httpx.post(url, data=with_secret), "invalid_client", 401)
    pending = server.create_client([REDIRECT], name="Pending", approve=False)
    assert_error(token_request(server, pending, data), "invalid_client", 401)


def test_code_binding_errors_then_success(
    server: LiveServer,
    client: dict[str, Any],
    other_client: dict[str, Any],
    person: dict[str, Any],
    agent: UserAgent,
) -> None:
    code = obtain_code(server, agent, client, person, REDIRECT)
    assert_error(token_request(server, client, code_data(code, code="not-a-code")), "invalid_grant")
    assert_error(token_request(server, client, code_data(code, code="<omit>")), "invalid_request")
    assert_error(token_request(server, other_client, code_data(code)), "invalid_grant")
    assert_error(
        token_request(server, client, code_data(code, redirect_uri=OTHER_REDIRECT)), "invalid_grant"
    )
    assert_error(
        token_request(server, client, code_data(code, redirect_uri="<omit>")), "invalid_request"
    )
    assert_error(
        token_request(server, client, code_data(code, code_verifier="<omit>")), "invalid_grant"
    )
    wrong_verifier = secrets.token_urlsafe(48)
    assert_error(
        token_request(server, client, code_data(code, code_verifier=wrong_verifier)),
        "invalid_grant",
    )
    assert (
        int(
            scalar(
                server.database_url,
                "SELECT count(*) FROM tokens WHERE client_id = :c",
                c=client["client_id"],
            )
        )
        == 0
    )
    response = redeem(server, client, code)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


def test_verifier_without_challenge_is_refused(
    server: LiveServer, client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    """RFC 9700 §4.8.2: PKCE downgrade."""
    code = obtain_code(server, agent, client, person, REDIRECT, use_pkce=False)
    assert_error(
        token_request(server, client, code_data(code, code_verifier=secrets.token_urlsafe(48))),
        "invalid_grant",
    )
    ok = token_request(server, client, code_data(code, code_verifier="<omit>"))
    assert ok.status_code == 200


def test_expired_code_is_refused(
    server: LiveServer, client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    code = obtain_code(server, agent, client, person, REDIRECT)
    execute(
        server.database_url,
        "UPDATE authorization_codes SET expires_at = created_at WHERE redeemed_at IS NULL",
    )
    assert_error(redeem(server, client, code), "invalid_grant")


def test_replayed_code_revokes_what_it_issued(
    server: LiveServer, client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    code = obtain_code(server, agent, client, person, REDIRECT, "openid profile offline_access")
    first = redeem(server, client, code).json()
    assert profile(server, first["access_token"]).status_code == 200
    assert_error(redeem(server, client, code), "invalid_grant")
    assert profile(server, first["access_token"]).status_code == 401
    refresh = token_request(
        server, client, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert_error(refresh, "invalid_grant")
    events = scalar(
        server.database_url, "SELECT count(*) FROM audit_events WHERE event = 'code.replayed'"
    )
    assert int(events) >= 1


def test_concurrent_redemptions_of_one_code_have_one_winner(
    server: LiveServer, client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    code = obtain_code(server, agent, client, person, REDIRECT, "openid profile offline_access")
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda _: redeem(server, client, code), range(4)))
    assert sorted(response.status_code for response in responses) == [200, 400, 400, 400]
    for response in responses:
        if response.status_code == 400:
            assert_error(response, "invalid_grant")
    code_digest = hashlib.sha256(code.code.encode()).hexdigest()
    issued = scalar(
        server.database_url, f"SELECT count(*) FROM tokens WHERE code_digest = '{code_digest}'"
    )
    assert int(issued) == 2  # one access and one refresh token: the winner's, nothing more


def test_refresh_rules(
    server: LiveServer, client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    no_offline = redeem(
        server, client, obtain_code(server, agent, client, person, REDIRECT, "openid profile")
    ).json()
    assert "refresh_token" not in no_offline
    code = obtain_code(
        server, agent, client, person, REDIRECT, "openid profile email offline_access"
    )
    tokens = redeem(server, client, code).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert_error(
        token_request(server, client, {**refresh, "scope": "openid patreon"}), "invalid_scope"
    )
    assert_error(
        token_request(server, client, {"grant_type": "refresh_token", "refresh_token": "nope"}),
        "invalid_grant",
    )
    narrowed = token_request(server, client, {**refresh, "scope": "profile"})
    assert narrowed.status_code == 200
    assert narrowed.json()["scope"] == "profile"
    assert "email" not in profile(server, narrowed.json()["access_token"]).json()

    rotated = narrowed.json()["refresh_token"]
    reused = token_request(server, client, refresh)  # the first refresh token was rotated
    assert_error(reused, "invalid_grant")
    assert profile(server, narrowed.json()["access_token"]).status_code == 401
    assert_error(
        token_request(server, client, {"grant_type": "refresh_token", "refresh_token": rotated}),
        "invalid_grant",
    )


def test_profile_api_bearer_errors(
    server: LiveServer, client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    url = f"{server.url}/api/user/profiles"
    missing = httpx.get(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="resonite-auth"'
    unknown = httpx.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert unknown.status_code == 401
    assert 'error="invalid_token"' in unknown.headers["www-authenticate"]
    assert httpx.get(url, headers={"Authorization": "Basic abc"}).status_code == 401

    openid_only = redeem(
        server, client, obtain_code(server, agent, client, person, REDIRECT, "openid")
    ).json()
    denied = profile(server, openid_only["access_token"])
    assert denied.status_code == 403
    assert (
        denied.headers["www-authenticate"]
        == 'Bearer realm="resonite-auth", error="insufficient_scope", scope="profile"'
    )
    assert httpx.get(f"{url}?access_token={openid_only['access_token']}").status_code == 401

    profile_only = redeem(
        server, client, obtain_code(server, agent, client, person, REDIRECT, "profile")
    ).json()
    assert profile(server, profile_only["access_token"]).status_code == 200
    userinfo = httpx.get(
        f"{server.url}/connect/userinfo",
        headers={"Authorization": f"Bearer {profile_only['access_token']}"},
    )
    assert userinfo.status_code == 403
    execute(
        server.database_url,
        "UPDATE tokens SET expires_at = issued_at WHERE client_id = :c",
        c=client["client_id"],
    )
    assert profile(server, profile_only["access_token"]).status_code == 401


def test_resource_endpoints_methods_and_headers(
    server: LiveServer, client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    """The profile API and userinfo are answered before the framework's routing: they still
    refuse other methods, carry no-store and every security header, and userinfo takes POST
    (OIDC Core §5.3.1)."""
    token = redeem(
        server, client, obtain_code(server, agent, client, person, REDIRECT, "openid profile")
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    profile_url, userinfo_url = f"{server.url}/api/user/profiles", f"{server.url}/connect/userinfo"
    for answer in (
        httpx.get(profile_url, headers=bearer),
        httpx.post(userinfo_url, headers=bearer),
    ):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    for method in ("POST", "PUT", "DELETE", "HEAD"):
        refused = httpx.request(method, profile_url, headers=bearer)
        assert refused.status_code == 405, method
        assert refused.headers["allow"] == "GET"
        assert refused.headers["x-content-type-options"] == "nosniff"
        if method != "HEAD":
            assert refused.json()["error"] == "invalid_request"
    assert httpx.delete(userinfo_url, headers=bearer).headers["allow"] == "GET, POST"
    # A path beside them still goes through the framework.
    assert httpx.get(f"{profile_url}/other", headers=bearer).status_code == 404


def test_suspended_client_and_locked_account_tokens_stop_working(
    server: LiveServer, person: dict[str, Any], agent: UserAgent
) -> None:
    app = server.create_client([REDIRECT], name="Soon Suspended")
    tokens = redeem(
        server, app, obtain_code(server, agent, app, person, REDIRECT, "profile")
    ).json()
    assert profile(server, tokens["access_token"]).status_code == 200
    execute(
        server.database_url,
        "UPDATE clients SET status = 'suspended' WHERE client_id = :c",
        c=app["client_id"],
    )
    assert profile(server, tokens["access_token"]).status_code == 401

    other = server.create_user(f"Lock{secrets.token_hex(3)}")
    app2 = server.create_client([REDIRECT], name="Still Fine")
    fresh = UserAgent(server.url)
    tokens = redeem(
        server, app2, obtain_code(server, fresh, app2, other, REDIRECT, "profile")
    ).json()
    fresh.close()
    execute(
        server.database_url, "UPDATE accounts SET is_locked = true WHERE id = :a", a=other["id"]
    )
    assert profile(server, tokens["access_token"]).status_code == 401
