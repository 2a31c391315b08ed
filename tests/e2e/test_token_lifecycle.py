"""Refresh rotation with reuse detection, lifetimes, scope narrowing and code replay.

Authlib's OAuth client (and plain httpx for the refused requests) against a live server, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import query, scalar
from tests.support.live import LiveServer
from tests.support.oauth_flow import (
    REDIRECT,
    authorize,
    oauth_client,
    obtain_tokens,
    profile_status,
)
from tests.support.timestamps import as_utc, set_column
from tests.support.user_agent import UserAgent

SLIDING = 1000
ABSOLUTE = 5000


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        database_url=database_url,
        workdir=Path(tmp_path_factory.mktemp("server")),
        extra_env={
            "RESONITE_AUTH_REFRESH_TOKEN_TTL": str(SLIDING),
            "RESONITE_AUTH_REFRESH_TOKEN_ABSOLUTE_TTL": str(ABSOLUTE),
        },
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def person(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Life{secrets.token_hex(3)}")


@pytest.fixture(scope="module")
def app_client(server: LiveServer) -> dict[str, Any]:
    return server.create_client([REDIRECT], name="Lifecycle App")


@pytest.fixture()
def agent(server: LiveServer) -> Iterator[UserAgent]:
    ua = UserAgent(server.url)
    yield ua
    ua.close()


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def token_request(server: LiveServer, client: dict[str, Any], **form: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/connect/token",
        data=form,
        auth=(client["client_id"], client["client_secret"]),
    )


def refresh_with(
    server: LiveServer, client: dict[str, Any], refresh: str, **form: str
) -> httpx.Response:
    return token_request(server, client, grant_type="refresh_token", refresh_token=refresh, **form)


def test_reusing_a_rotated_refresh_token_revokes_the_whole_grant(
    server: LiveServer, app_client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    oauth = oauth_client(app_client, "openid profile offline_access")
    first, _ = obtain_tokens(server, oauth, person, agent)
    second = oauth.refresh_token(
        f"{server.url}/connect/token", refresh_token=first["refresh_token"]
    )
    assert second["refresh_token"] != first["refresh_token"]
    assert profile_status(server, second["access_token"]) == 200

    reused = refresh_with(server, app_client, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"

    # Everything of the grant is dead: both access tokens and the newest refresh token.
    assert profile_status(server, first["access_token"]) == 401
    assert profile_status(server, second["access_token"]) == 401
    latest = refresh_with(server, app_client, second["refresh_token"])
    assert latest.json()["error"] == "invalid_grant"

    grant_id = scalar(
        server.database_url,
        "SELECT grant_id FROM tokens WHERE digest = :d",
        d=sha(first["refresh_token"]),
    )
    assert scalar(server.database_url, "SELECT revoked_at FROM grants WHERE id = :g", g=grant_id)
    live = scalar(
        server.database_url,
        "SELECT count(*) FROM tokens WHERE grant_id = :g AND revoked_at IS NULL",
        g=grant_id,
    )
    assert live == 0
    events = query(
        server.database_url,
        "SELECT event, account_id, client_id FROM audit_events "
        "WHERE event = 'refresh_token.reused'",
    )
    assert {
        "event": "refresh_token.reused",
        "account_id": person["id"],
        "client_id": app_client["client_id"],
    } in events


def test_refresh_may_narrow_the_scope_but_never_widen_it(
    server: LiveServer, person: dict[str, Any], agent: UserAgent
) -> None:
    client = server.create_client([REDIRECT], name="Narrowing App")
    oauth = oauth_client(client, "openid profile offline_access")
    token, _ = obtain_tokens(server, oauth, person, agent)

    narrowed = refresh_with(server, client, token["refresh_token"], scope="openid")
    assert narrowed.status_code == 200, narrowed.text
    body = narrowed.json()
    assert body["scope"] == "openid"
    assert profile_status(server, body["access_token"]) == 403  # profile was left out

    wider = refresh_with(server, client, body["refresh_token"], scope="openid profile email")
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"

    # The refused request did not use up the refresh token, and it still carries the
    # original scope (RFC 6749 §6).
    again = oauth.refresh_token(f"{server.url}/connect/token", refresh_token=body["refresh_token"])
    assert set(again["scope"].split()) == {"openid", "profile", "offline_access"}
    assert profile_status(server, again["access_token"]) == 200


def test_sliding_lifetime_resets_on_use_and_the_absolute_one_does_not(
    server: LiveServer, person: dict[str, Any], agent: UserAgent
) -> None:
    client = server.create_client([REDIRECT], name="Lifetime App")
    oauth = oauth_client(client, "profile offline_access")
    token, _ = obtain_tokens(server, oauth, person, agent)
    url = server.database_url
    sql = "SELECT issued_at, expires_at, absolute_expires_at FROM tokens WHERE digest = :d"
    original = query(url, sql, d=sha(token["refresh_token"]))[0]
    issued = as_utc(original["issued_at"])
    assert as_utc(original["expires_at"]) - issued == timedelta(seconds=SLIDING)
    absolute = as_utc(original["absolute_expires_at"])
    assert absolute - issued == timedelta(seconds=ABSOLUTE)

    rotated = oauth.refresh_token(
        f"{server.url}/connect/token", refresh_token=token["refresh_token"]
    )
    row = query(url, sql, d=sha(rotated["refresh_token"]))[0]
    assert as_utc(row["expires_at"]) - as_utc(row["issued_at"]) == timedelta(seconds=SLIDING)
    assert as_utc(row["absolute_expires_at"]) == absolute  # carried over, never extended

    # Near the absolute end, the sliding lifetime is cut to it.
    soon = datetime.now(UTC) + timedelta(seconds=100)
    set_column(
        url, "tokens", "absolute_expires_at", soon, "digest = :d", d=sha(rotated["refresh_token"])
    )
    capped = oauth.refresh_token(
        f"{server.url}/connect/token", refresh_token=rotated["refresh_token"]
    )
    row = query(url, sql, d=sha(capped["refresh_token"]))[0]
    assert abs(as_utc(row["expires_at"]) - soon) < timedelta(seconds=1)

    # Past the absolute end the token is refused even if the sliding end is still ahead.
    past = datetime.now(UTC) - timedelta(seconds=1)
    set_column(
        url, "tokens", "absolute_expires_at", past, "digest = :d", d=sha(capped["refresh_token"])
    )
    set_column(
        url,
        "tokens",
        "expires_at",
        datetime.now(UTC) + timedelta(hours=1),
        "digest = :d",
        d=sha(capped["refresh_token"]),
    )
    refused = refresh_with(server, client, capped["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_an_unused_refresh_token_expires_at_its_sliding_end(
    server: LiveServer, person: dict[str, Any], agent: UserAgent
) -> None:
    client = server.create_client([REDIRECT], name="Idle App")
    token, _ = obtain_tokens(server, oauth_client(client, "profile offline_access"), person, agent)
    past = datetime.now(UTC) - timedelta(seconds=1)
    set_column(
        server.database_url,
        "tokens",
        "expires_at",
        past,
        "digest = :d",
        d=sha(token["refresh_token"]),
    )
    refused = refresh_with(server, client, token["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_a_replayed_code_revokes_the_tokens_issued_from_it(
    server: LiveServer, app_client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    oauth = oauth_client(app_client, "openid profile offline_access")
    done = authorize(server, oauth, person, agent)
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT,
        "code_verifier": done.verifier,
    }
    first = token_request(server, app_client, **form)
    assert first.status_code == 200
    tokens = first.json()
    assert profile_status(server, tokens["access_token"]) == 200

    replay = token_request(server, app_client, **form)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert profile_status(server, tokens["access_token"]) == 401
    assert (
        refresh_with(server, app_client, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    )
    assert (
        scalar(
            server.database_url,
            "SELECT count(*) FROM audit_events WHERE event = 'code.replayed' AND client_id = :c",
            c=app_client["client_id"],
        )
        >= 1
    )


def test_twenty_concurrent_redemptions_of_one_code_yield_one_token(
    server: LiveServer, app_client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> None:
    oauth = oauth_client(app_client, "openid profile")
    done = authorize(server, oauth, person, agent)
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT,
        "code_verifier": done.verifier,
    }
    start = threading.Barrier(20)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def redeem() -> None:
        with httpx.Client(timeout=60) as http:
            start.wait()
            response = http.post(
                f"{server.url}/connect/token",
                data=form,
                auth=(app_client["client_id"], app_client["client_secret"]),
            )
        with lock:
            results.append(response)

    threads = [threading.Thread(target=redeem) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(response.status_code for response in results)
    assert statuses == [200] + [400] * 19, statuses
    assert all(r.json()["error"] == "invalid_grant" for r in results if r.status_code == 400)
    issued = scalar(
        server.database_url,
        "SELECT count(*) FROM tokens WHERE code_digest = :c",
        c=sha(done.code),
    )
    assert issued == 1  # one access token, no refresh token (no offline_access)
