"""Owners edit and delete their applications: removed redirect URIs stop at once, added ones
wait for review, deleting revokes everything. Live server on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.application_fixtures import (
    CALLBACK,
    OTHER,
    authorize_status,
    browser,
    dev_agent,
    developer,
    end_user,
    json_value,
    page_of,
)
from tests.support.databases import query
from tests.support.live import LiveServer
from tests.support.portal import (
    apply,
    client_row,
    field_errors,
    post,
    run_flow,
    secret_accepted,
)
from tests.support.user_agent import UserAgent

__all__ = ["browser", "dev_agent", "developer", "end_user"]  # fixtures used by name


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
