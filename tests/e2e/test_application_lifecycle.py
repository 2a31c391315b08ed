"""An application's life after review: secrets shown once, rotation, suspension.

Live server on SQLite and PostgreSQL; the authorization code flow is driven by Authlib.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.application_fixtures import (
    CALLBACK,
    authorize_status,
    browser,
    dev_agent,
    developer,
    end_user,
    page_of,
    rotate,
)
from tests.support.databases import query
from tests.support.live import LiveServer
from tests.support.portal import (
    apply,
    client_row,
    person,
    post,
    revealed_secret,
    run_flow,
    secret_accepted,
    signed_in_agent,
)
from tests.support.user_agent import UserAgent

__all__ = ["browser", "dev_agent", "developer", "end_user"]  # fixtures used by name


def test_cli_approval_prints_the_secret_once_and_the_portal_never_shows_it(
    server: LiveServer, dev_agent: UserAgent
) -> None:
    client_id = apply(dev_agent, server, name="Operator Handled")
    approved = server.cli_json("clients", "approve", client_id)
    assert set(approved) == {"client_id", "client_secret", "status"}
    assert approved["client_id"] == client_id and approved["status"] == "approved"
    assert len(approved["client_secret"]) >= 43
    assert secret_accepted(server, client_id, approved["client_secret"])
    view = page_of(dev_agent, server, client_id)
    assert approved["client_secret"] not in view.text
    assert "Reveal your secret" not in view.text
    assert "already shown once" in view.text
    again = server.cli("clients", "approve", client_id, check=False)
    assert again.returncode == 1 and "nothing to approve" in again.stderr
    listed = {c["client_id"]: c for c in server.cli_json("clients", "list", "--status", "approved")}
    assert listed[client_id]["status"] == "approved"
    assert "client_secret" not in listed[client_id]


def test_queue_approval_lets_the_owner_reveal_the_secret_exactly_once(
    server: LiveServer, database_url: str, dev_agent: UserAgent
) -> None:
    admin, _ = signed_in_agent(server, person(server, "Root", admin=True), "/admin/applications")
    client_id = apply(dev_agent, server, name="Portal Handled")
    detail = admin.go(f"{server.url}/admin/applications/{client_id}")
    admin.submit(detail, {}, index=0)  # Approve
    admin.close()
    assert client_row(database_url, client_id)["status"] == "approved"
    assert (
        query(database_url, "SELECT * FROM client_secrets WHERE client_id = :c", c=client_id) == []
    )

    view = page_of(dev_agent, server, client_id)
    assert "Reveal your secret" in view.text and client_id in view.text
    shown = dev_agent.submit(view, {}, index=0)
    secret = revealed_secret(shown)
    assert secret is not None and shown.headers["cache-control"] == "no-store"
    stored = query(
        database_url, "SELECT digest FROM client_secrets WHERE client_id = :c", c=client_id
    )
    assert len(stored) == 1 and stored[0]["digest"] != secret  # only a digest is kept
    assert secret_accepted(server, client_id, secret)

    assert revealed_secret(page_of(dev_agent, server, client_id)) is None
    second = dev_agent.submit(view, {}, index=0)  # the same form, sent again
    assert second.status_code == 409
    assert revealed_secret(second) is None
    assert "already shown once" in second.text


def test_rotation_keeps_the_old_secret_for_the_grace_period_until_revoked(
    server: LiveServer, database_url: str, dev_agent: UserAgent
) -> None:
    client_id = apply(dev_agent, server, name="Rotating")
    old = server.cli_json("clients", "approve", client_id)["client_secret"]
    view = page_of(dev_agent, server, client_id)
    rotated = rotate(dev_agent, server, client_id, view)
    new = revealed_secret(rotated)
    assert new is not None and new != old
    assert "keeps working until" in rotated.text
    assert secret_accepted(server, client_id, old) and secret_accepted(server, client_id, new)
    grace = query(
        database_url,
        "SELECT expires_at FROM client_secrets WHERE client_id = :c AND expires_at IS NOT NULL",
        c=client_id,
    )
    assert len(grace) == 1

    stale = rotate(dev_agent, server, client_id, view)  # a resubmitted rotate form
    assert stale.status_code == 409 and revealed_secret(stale) is None
    assert "already rotated" in stale.text

    view = page_of(dev_agent, server, client_id)
    assert "Revoke previous secrets now" in view.text
    post(dev_agent, f"{server.url}/developers/applications/{client_id}/revoke-previous", {})
    assert not secret_accepted(server, client_id, old)
    assert secret_accepted(server, client_id, new)

    view = page_of(dev_agent, server, client_id)
    revoked_now = rotate(dev_agent, server, client_id, view, revoke_previous="yes")
    newest = revealed_secret(revoked_now)
    assert newest is not None and "was revoked" in revoked_now.text
    assert not secret_accepted(server, client_id, new)
    assert secret_accepted(server, client_id, newest)

    by_cli = server.cli_json("clients", "rotate-secret", client_id)
    assert by_cli["client_id"] == client_id and by_cli["previous_secrets_valid_until"]
    assert secret_accepted(server, client_id, by_cli["client_secret"])
    assert secret_accepted(server, client_id, newest)
    events = {
        row["event"]
        for row in query(
            database_url, "SELECT event FROM audit_events WHERE client_id = :c", c=client_id
        )
    }
    assert {"client.secret_rotated", "client.secrets_revoked"} <= events


@pytest.mark.parametrize("status", ["pending", "rejected", "suspended"])
def test_unapproved_applications_cannot_start_a_flow(
    server: LiveServer, dev_agent: UserAgent, status: str
) -> None:
    client_id = apply(dev_agent, server, name=f"Not usable {status}")
    secret = None
    if status == "rejected":
        server.cli("clients", "reject", client_id, "--reason", "Not now")
    elif status == "suspended":
        secret = server.cli_json("clients", "approve", client_id)["client_secret"]
        server.cli("clients", "suspend", client_id, "--reason", "Abuse")
    response = authorize_status(server, client_id, CALLBACK)
    assert response.status_code == 400
    assert "Application unavailable" in response.text
    assert "location" not in response.headers
    if secret is not None:
        token = httpx.post(
            f"{server.url}/connect/token",
            data={"grant_type": "refresh_token", "refresh_token": "x"},
            auth=(client_id, secret),
        )
        assert token.status_code == 401 and token.json()["error"] == "invalid_client"


def test_suspension_revokes_every_token_and_reinstating_does_not_bring_them_back(
    server: LiveServer,
    database_url: str,
    dev_agent: UserAgent,
    browser: UserAgent,
    end_user: dict[str, Any],
) -> None:
    client_id = apply(dev_agent, server, name="Suspended Later", scope_offline_access="on")
    secret = server.cli_json("clients", "approve", client_id)["client_secret"]
    oauth, token = run_flow(
        server, browser, end_user, client_id, secret, CALLBACK, "openid profile offline_access"
    )
    assert oauth.get(f"{server.url}/api/user/profiles").status_code == 200

    result = server.cli_json("clients", "suspend", client_id, "--reason", "Leaked tokens")
    assert result == {"client_id": client_id, "status": "suspended"}
    assert oauth.get(f"{server.url}/api/user/profiles").status_code == 401
    live = query(
        database_url,
        "SELECT count(*) AS n FROM tokens WHERE client_id = :c AND revoked_at IS NULL",
        c=client_id,
    )
    assert live[0]["n"] == 0

    assert server.cli_json("clients", "reinstate", client_id)["status"] == "approved"
    assert oauth.get(f"{server.url}/api/user/profiles").status_code == 401
    refreshed = httpx.post(
        f"{server.url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(client_id, secret),
    )
    assert refreshed.json()["error"] == "invalid_grant"
    oauth, _ = run_flow(server, browser, end_user, client_id, secret, CALLBACK)  # consents again
    assert oauth.get(f"{server.url}/api/user/profiles").status_code == 200


def test_public_clients_have_no_secret(server: LiveServer, dev_agent: UserAgent) -> None:
    client_id = apply(dev_agent, server, name="Native App", client_type="public")
    approved = server.cli_json("clients", "approve", client_id)
    assert approved["client_secret"] is None
    view = page_of(dev_agent, server, client_id)
    assert "Public (native or single-page app" in view.text
    assert "Reveal your secret" not in view.text and "Rotate secret" not in view.text
    rotate = server.cli("clients", "rotate-secret", client_id, check=False)
    assert rotate.returncode == 1 and "public client has no secret" in rotate.stderr
