"""Housekeeping: `resonite-auth gc` and the server's periodic run delete what has expired."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import scalar
from tests.support.live import LiveServer
from tests.support.oauth_flow import (
    REDIRECT,
    authorize,
    oauth_client,
    obtain_tokens,
    profile_status,
)
from tests.support.timestamps import bind, execute, set_column
from tests.support.user_agent import UserAgent

PAST = datetime.now(UTC) - timedelta(minutes=5)


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Periodic housekeeping off here, so that only the CLI deletes in the first test.
    live = LiveServer(
        database_url=database_url,
        workdir=Path(tmp_path_factory.mktemp("server")),
        extra_env={"RESONITE_AUTH_GC_INTERVAL": "0", "RESONITE_AUTH_AUDIT_RETENTION_DAYS": "30"},
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def person(server: LiveServer) -> dict[str, Any]:
    return server.create_user(f"Gc{secrets.token_hex(3)}")


@pytest.fixture()
def agent(server: LiveServer) -> Iterator[UserAgent]:
    ua = UserAgent(server.url)
    yield ua
    ua.close()


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def count(url: str, sql: str, **params: Any) -> int:
    return int(scalar(url, sql, **params))


def test_gc_deletes_expired_rows_and_keeps_live_ones(
    server: LiveServer, person: dict[str, Any], agent: UserAgent
) -> None:
    url = server.database_url
    client = server.create_client([REDIRECT], name="Housekeeping App")
    oauth = oauth_client(client, "openid profile offline_access")
    expired, _ = obtain_tokens(server, oauth, person, agent)
    live, _ = obtain_tokens(server, oauth, person, agent)
    unused = authorize(server, oauth, person, agent)  # a code never redeemed

    set_column(url, "tokens", "expires_at", PAST, "digest IN (:a, :r)",
               a=sha(expired["access_token"]), r=sha(expired["refresh_token"]))  # fmt: skip
    set_column(url, "authorization_codes", "expires_at", PAST, "digest = :d", d=sha(unused.code))
    execute(
        url,
        "INSERT INTO interactions (id, binding_digest, kind, params, created_at, expires_at) "
        "VALUES (:id, :b, 'authorize', '{}', :t, :t)",
        id=secrets.token_hex(8), b=sha("x"), t=bind(url, PAST),
    )  # fmt: skip
    execute(
        url,
        "INSERT INTO client_assertion_jtis (client_id, jti_digest, expires_at) VALUES (:c, :j, :t)",
        c=client["client_id"], j=sha("old-jti"), t=bind(url, PAST),
    )  # fmt: skip
    set_column(url, "browser_sessions", "expires_at", PAST, "account_id = :a", a=person["id"])
    old_event = scalar(url, "SELECT min(id) FROM audit_events")
    set_column(
        url, "audit_events", "at", datetime.now(UTC) - timedelta(days=31), "id = :i", i=old_event
    )

    deleted = server.cli_json("gc")

    assert deleted["tokens"] >= 2
    assert deleted["authorization_codes"] >= 1
    assert deleted["interactions"] >= 1
    assert deleted["client_assertions"] >= 1
    assert deleted["browser_sessions"] >= 1
    assert deleted["audit_events"] >= 1
    assert (
        count(url, "SELECT count(*) FROM tokens WHERE digest = :d", d=sha(expired["access_token"]))
        == 0
    )
    assert (
        count(url, "SELECT count(*) FROM authorization_codes WHERE digest = :d", d=sha(unused.code))
        == 0
    )
    assert count(url, "SELECT count(*) FROM audit_events WHERE id = :i", i=old_event) == 0
    assert count(url, "SELECT count(*) FROM audit_events") > 0  # recent events are kept
    assert (
        count(url, "SELECT count(*) FROM browser_sessions WHERE account_id = :a", a=person["id"])
        == 0
    )
    # What is still alive is untouched.
    assert profile_status(server, live["access_token"]) == 200
    refreshed = oauth.refresh_token(
        f"{server.url}/connect/token", refresh_token=live["refresh_token"]
    )
    assert refreshed["access_token"]

    again = server.cli_json("gc")
    assert again["tokens"] == 0 and again["authorization_codes"] == 0
    assert "tokens: 0 deleted" in server.cli("gc").stdout


def test_the_server_runs_housekeeping_periodically(
    server: LiveServer,
    person: dict[str, Any],
    agent: UserAgent,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    url = server.database_url
    client = server.create_client([REDIRECT], name="Periodic App")
    token, _ = obtain_tokens(server, oauth_client(client, "profile"), person, agent)
    set_column(url, "tokens", "expires_at", PAST, "digest = :d", d=sha(token["access_token"]))

    periodic = LiveServer(
        database_url=url,
        workdir=Path(tmp_path_factory.mktemp("periodic")),
        extra_env={"RESONITE_AUTH_GC_INTERVAL": "1"},
    )
    periodic.start()
    try:
        deadline = time.monotonic() + 60
        remaining = 1
        while time.monotonic() < deadline:
            remaining = count(
                url, "SELECT count(*) FROM tokens WHERE digest = :d", d=sha(token["access_token"])
            )
            if remaining == 0:
                break
            time.sleep(0.2)
        assert remaining == 0, "the server never deleted the expired token"
    finally:
        periodic.stop()
