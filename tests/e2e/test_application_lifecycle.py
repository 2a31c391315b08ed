"""An application's life after review: secrets shown once, rotation, edits, suspension, deletion.

Live server on SQLite and PostgreSQL; the authorization code flow is driven by Authlib.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.databases import query
from tests.support.live import LiveServer
from tests.support.portal import (
    apply,
    client_row,
    field_errors,
    person,
    post,
    revealed_secret,
    run_flow,
    secret_accepted,
    signed_in_agent,
)
from tests.support.user_agent import UserAgent

CALLBACK = "http://127.0.0.1:65501/callback"
OTHER = "https://app.example/oauth/callback"


@pytest.fixture(scope="module")
def developer(server: LiveServer) -> dict[str, Any]:
    return person(server, "Owner")


@pytest.fixture(scope="module")
def end_user(server: LiveServer) -> dict[str, Any]:
    return person(server, "Member")


@pytest.fixture()
def dev_agent(server: LiveServer, developer: dict[str, Any]) -> Iterator[UserAgent]:
    agent, _ = signed_in_agent(server, developer, "/developers/applications")
    yield agent
    agent.close()


@pytest.fixture()
def browser(server: LiveServer) -> Iterator[UserAgent]:
    agent = UserAgent(server.url)
    yield agent
    agent.close()


def page_of(agent: UserAgent, server: LiveServer, client_id: str) -> httpx.Response:
    return agent.go(f"{server.url}/developers/applications/{client_id}")


def authorize_status(server: LiveServer, client_id: str, redirect_uri: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/connect/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid profile",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
    )


def json_value(value: Any) -> Any:
    """A JSON column as read by raw SQL: text on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def rotate(
    agent: UserAgent, server: LiveServer, client_id: str, view: httpx.Response, **extra: str
) -> httpx.Response:
    """Send the rotate form as shown on `view` (its hidden fields), plus `extra`."""
    found = re.search(r'name="expected" value="(\d+)"', view.text)
    assert found, "no rotate form on the page"
    url = f"{server.url}/developers/applications/{client_id}/rotate"
    return post(agent, url, {"expected": found.group(1), **extra})


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


def test_edits_remove_redirect_uris_at_once_and_send_new_ones_to_review(
    server: LiveServer, database_url: str, dev_agent: UserAgent
) -> None:
    client_id = apply(dev_agent, server, name="Editable", redirect_uris=f"{CALLBACK}\n{OTHER}")
    server.cli_json("clients", "approve", client_id)
    added = "https://app.example/new-callback"
    edit_url = f"{server.url}/developers/applications/{client_id}/edit"
    page_of(dev_agent, server, client_id)
    saved = post(
        dev_agent,
        edit_url,
        {"name": "Edited Name", "redirect_uris": f"{CALLBACK}\n{added}", "homepage_url": ""},
    )
    assert saved.status_code == 200 and "Edited Name" in saved.text
    row = client_row(database_url, client_id)
    assert json_value(row["redirect_uris"]) == [CALLBACK]
    assert json_value(row["pending_redirect_uris"]) == [added]
    assert authorize_status(server, client_id, OTHER).status_code == 400  # removed: at once
    assert authorize_status(server, client_id, added).status_code == 400  # added: not yet
    assert authorize_status(server, client_id, CALLBACK).status_code in (200, 303)
    assert any(c["client_id"] == client_id for c in server.cli_json("clients", "list"))

    server.cli_json("clients", "reject", client_id, "--reason", "Whose domain is this?")
    view = page_of(dev_agent, server, client_id)
    assert "Whose domain is this?" in view.text
    assert not json_value(client_row(database_url, client_id)["pending_redirect_uris"])

    post(dev_agent, edit_url, {"name": "Edited Name", "redirect_uris": f"{CALLBACK}\n{added}"})
    approved = server.cli_json("clients", "approve", client_id)
    assert approved["client_secret"] is None and approved["status"] == "approved"
    assert json_value(client_row(database_url, client_id)["redirect_uris"]) == [CALLBACK, added]
    assert authorize_status(server, client_id, added).status_code in (200, 303)


def test_uris_added_while_suspended_still_need_review_after_reinstating(
    server: LiveServer, database_url: str, dev_agent: UserAgent
) -> None:
    client_id = apply(dev_agent, server, name="Suspended Editor")
    server.cli_json("clients", "approve", client_id)
    server.cli("clients", "suspend", client_id, "--reason", "Check")
    page_of(dev_agent, server, client_id)
    post(
        dev_agent,
        f"{server.url}/developers/applications/{client_id}/edit",
        {"name": "Suspended Editor", "redirect_uris": f"{CALLBACK}\n{OTHER}"},
    )
    assert json_value(client_row(database_url, client_id)["pending_redirect_uris"]) == [OTHER]
    server.cli("clients", "reinstate", client_id)
    assert authorize_status(server, client_id, OTHER).status_code == 400
    queue = server.cli_json("clients", "list", "--status", "approved")
    assert [c["pending_redirect_uris"] for c in queue if c["client_id"] == client_id] == [[OTHER]]


def test_a_redirect_uri_removed_mid_flow_gets_no_code(
    server: LiveServer, dev_agent: UserAgent, browser: UserAgent, end_user: dict[str, Any]
) -> None:
    client_id = apply(dev_agent, server, name="Mid Flow", redirect_uris=f"{CALLBACK}\n{OTHER}")
    server.cli_json("clients", "approve", client_id)
    signin = browser.go(str(authorize_status(server, client_id, OTHER).request.url))
    assert 'name="password"' in signin.text  # the flow started with OTHER
    page_of(dev_agent, server, client_id)
    post(
        dev_agent,
        f"{server.url}/developers/applications/{client_id}/edit",
        {"name": "Mid Flow", "redirect_uris": CALLBACK},
    )
    answer = browser.sign_in(signin, end_user["username"], end_user["password"])
    assert answer.status_code == 400
    assert "Application unavailable" in answer.text
    assert "location" not in answer.headers


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"name": "", "redirect_uris": CALLBACK}, "The application needs a name."),
        ({"name": "N", "redirect_uris": ""}, "At least one redirect URI is required."),
        (
            {"name": "N", "redirect_uris": CALLBACK, "homepage_url": "ftp://x"},
            "The homepage must be an https:// address (at most 512 characters).",
        ),
    ],
)
def test_edit_form_shows_field_messages_and_changes_nothing(
    server: LiveServer,
    database_url: str,
    dev_agent: UserAgent,
    values: dict[str, str],
    message: str,
) -> None:
    client_id = apply(dev_agent, server, name="Stable")
    before = client_row(database_url, client_id)
    response = post(dev_agent, f"{server.url}/developers/applications/{client_id}/edit", values)
    assert response.status_code == 400
    assert field_errors(response) == [message]
    assert client_row(database_url, client_id) == before


def test_deleting_revokes_everything(
    server: LiveServer,
    database_url: str,
    dev_agent: UserAgent,
    browser: UserAgent,
    end_user: dict[str, Any],
) -> None:
    client_id = apply(dev_agent, server, name="Short Lived")
    secret = server.cli_json("clients", "approve", client_id)["client_secret"]
    oauth, _ = run_flow(server, browser, end_user, client_id, secret, CALLBACK)
    assert oauth.get(f"{server.url}/api/user/profiles").status_code == 200
    confirm = dev_agent.go(f"{server.url}/developers/applications/{client_id}/delete")
    assert "cannot be undone" in confirm.text
    done = dev_agent.submit(confirm, {})
    assert str(done.url).endswith("/developers/applications") and "Short Lived" not in done.text
    assert oauth.get(f"{server.url}/api/user/profiles").status_code == 401
    assert not secret_accepted(server, client_id, secret)
    assert client_row(database_url, client_id) == {}
    events = query(database_url, "SELECT event FROM audit_events WHERE client_id = :c", c=client_id)
    assert "client.deleted" in [row["event"] for row in events]


def test_public_clients_have_no_secret(server: LiveServer, dev_agent: UserAgent) -> None:
    client_id = apply(dev_agent, server, name="Native App", client_type="public")
    approved = server.cli_json("clients", "approve", client_id)
    assert approved["client_secret"] is None
    view = page_of(dev_agent, server, client_id)
    assert "Public (native or single-page app" in view.text
    assert "Reveal your secret" not in view.text and "Rotate secret" not in view.text
    rotate = server.cli("clients", "rotate-secret", client_id, check=False)
    assert rotate.returncode == 1 and "public client has no secret" in rotate.stderr
