"""The developer portal and the review queue over HTTP, on SQLite and PostgreSQL.

Validation messages, the intake switch, who may use which page, CSRF on every form, and the
owner's edits (a removed redirect URI stops at once; an added one waits for review).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.portal import (
    application_form,
    apply,
    client_row,
    field_errors,
    person,
    post,
    signed_in_agent,
    state_of,
)
from tests.support.user_agent import UserAgent

LONG = "x" * 2001
CALLBACK = "http://127.0.0.1:65501/callback"


@pytest.fixture(scope="module")
def developer(server: LiveServer) -> dict[str, Any]:
    return person(server, "Dev")


@pytest.fixture(scope="module")
def admin_user(server: LiveServer) -> dict[str, Any]:
    return person(server, "Admin", admin=True)


@pytest.fixture()
def dev_agent(server: LiveServer, developer: dict[str, Any]) -> Iterator[UserAgent]:
    agent, _ = signed_in_agent(server, developer, "/developers/applications")
    yield agent
    agent.close()


@pytest.fixture()
def admin_agent(server: LiveServer, admin_user: dict[str, Any]) -> Iterator[UserAgent]:
    agent, _ = signed_in_agent(server, admin_user, "/admin/applications")
    yield agent
    agent.close()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"contact_name": ""}, "Tell us your name."),
        ({"contact_name": "x" * 201}, "Keep your name under 200 characters."),
        ({"reason": "  "}, "Tell us why your application needs access."),
        ({"reason": LONG}, "Keep the reason under 2000 characters."),
        ({"name": ""}, "The application needs a name."),
        ({"name": "x" * 101}, "Keep the application's name under 100 characters."),
        ({"redirect_uris": "\n \n"}, "At least one redirect URI is required."),
        (
            {"redirect_uris": "/callback"},
            "Redirect URI '/callback' must be an absolute http(s) URL.",
        ),
        (
            {"redirect_uris": "https://app.example/cb#top"},
            "Redirect URI 'https://app.example/cb#top' must not contain a fragment.",
        ),
        (
            {"redirect_uris": "https://app.example/*"},
            "Redirect URI 'https://app.example/*' must not contain a wildcard.",
        ),
        (
            {"redirect_uris": "http://app.example/cb"},
            "Redirect URI 'http://app.example/cb' must use https (http only for loopback).",
        ),
        (
            {"redirect_uris": "\n".join(f"https://app.example/{n}" for n in range(11))},
            "At most 10 redirect URIs.",
        ),
        (
            {"redirect_uris": "https://app.example/" + "a" * 500},
            "Redirect URIs must be at most 512 characters.",
        ),
        ({"scope_openid": "", "scope_profile": ""}, "Choose at least one scope."),
        ({"client_type": ""}, "Choose whether the application can keep a secret."),
        (
            {"homepage_url": "http://app.example"},
            "The homepage must be an https:// address (at most 512 characters).",
        ),
        (
            {"logo_url": "javascript:alert(1)"},
            "The logo address must be an https:// address (at most 512 characters).",
        ),
    ],
)
def test_every_validation_message_is_shown_next_to_its_field(
    server: LiveServer,
    database_url: str,
    dev_agent: UserAgent,
    overrides: dict[str, str],
    message: str,
) -> None:
    dev_agent.go(server.url + "/developers/applications")
    before = state_of(database_url, "-")
    response = post(
        dev_agent, server.url + "/developers/applications", application_form(**overrides)
    )
    assert response.status_code == 400
    assert field_errors(response) == [message]
    assert 'aria-invalid="true"' in response.text
    assert state_of(database_url, "-") == before  # nothing written


def test_unknown_scope_is_refused_from_the_cli(server: LiveServer) -> None:
    result = server.cli(
        "clients",
        "create",
        "--name",
        "X",
        "--redirect-uri",
        CALLBACK,
        "--scope",
        "openid bogus",
        check=False,
    )
    assert result.returncode == 1
    assert "Unknown scope: bogus." in result.stderr


def test_a_valid_application_starts_pending_without_a_secret(
    server: LiveServer, database_url: str, dev_agent: UserAgent, developer: dict[str, Any]
) -> None:
    client_id = apply(dev_agent, server, homepage_url="https://calendar.example")
    row = client_row(database_url, client_id)
    assert row["status"] == "pending"
    assert row["owner_id"] == developer["id"]
    assert row["contact_name"] == "Ada Developer"
    assert row["homepage_url"] == "https://calendar.example"
    assert row["secret_issued_at"] is None
    page = dev_agent.last
    assert page is not None and "Waiting for review" in page.text
    assert "<dt>Client ID</dt>" not in page.text  # only once approved
    audit = server_audit(database_url, client_id)
    assert ("client.created", developer["id"]) in audit


def server_audit(url: str, client_id: str) -> list[tuple[str, str]]:
    from tests.support.databases import query

    rows = query(url, "SELECT event, actor, ip FROM audit_events WHERE client_id = :c", c=client_id)
    assert all(row["ip"] for row in rows if row["actor"] != "cli")  # "from where"
    return [(row["event"], row["actor"]) for row in rows]


def test_intake_closed_replaces_the_form_and_refuses_submissions(
    server: LiveServer, database_url: str, dev_agent: UserAgent
) -> None:
    existing = apply(dev_agent, server, name="Before Closing")
    assert server.cli_json("intake", "close") == {"intake": "closed"}
    try:
        assert server.cli_json("intake", "status") == {"intake": "closed"}
        page = dev_agent.go(server.url + "/developers/applications")
        notice = (
            "We&#39;re temporarily not accepting new registrations. "
            "Please stay tuned for future updates."
        )
        assert notice in page.text
        assert 'name="redirect_uris"' not in page.text
        count = len(server.cli_json("clients", "list"))
        refused = post(
            dev_agent, server.url + "/developers/applications", application_form(name="After")
        )
        assert refused.status_code == 403
        assert notice in refused.text
        assert len(server.cli_json("clients", "list")) == count
        assert client_row(database_url, existing)["status"] == "pending"  # untouched
    finally:
        assert server.cli_json("intake", "open") == {"intake": "open"}
    assert 'name="redirect_uris"' in dev_agent.go(server.url + "/developers/applications").text


def test_signed_out_people_are_sent_to_sign_in(server: LiveServer) -> None:
    for path in ("/developers/applications", "/admin/applications"):
        response = httpx.get(server.url + path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin?next=")


def test_non_admins_get_a_403_page_and_nothing_changes(
    server: LiveServer, database_url: str, dev_agent: UserAgent
) -> None:
    client_id = apply(dev_agent, server, name="Self Approval Attempt")
    page = dev_agent.go(server.url + "/admin/applications")
    assert page.status_code == 403
    assert "Admins only" in page.text
    assert dev_agent.go(server.url + f"/admin/applications/{client_id}").status_code == 403
    token = dev_agent.http.cookies.get("csrf")
    before = state_of(database_url, client_id)
    for action in ("approve", "reject", "suspend", "reinstate"):
        response = dev_agent.go(
            server.url + f"/admin/applications/{client_id}/{action}",
            method="POST",
            data={"csrf_token": token or "", "reason": "mine"},
        )
        assert response.status_code == 403 and "Admins only" in response.text
    response = dev_agent.go(
        server.url + "/admin/intake",
        method="POST",
        data={"csrf_token": token or "", "intake": "closed"},
    )
    assert response.status_code == 403
    assert state_of(database_url, client_id) == before


def test_people_only_see_their_own_applications(server: LiveServer, dev_agent: UserAgent) -> None:
    client_id = apply(dev_agent, server, name="Private One")
    stranger, _ = signed_in_agent(server, person(server, "Other"), "/developers/applications")
    try:
        for path in ("", "/delete"):
            page = stranger.go(server.url + f"/developers/applications/{client_id}{path}")
            assert page.status_code == 404
            assert "Private One" not in page.text
        listing = stranger.go(server.url + "/developers/applications")
        assert "Private One" not in listing.text
    finally:
        stranger.close()


def test_csrf_is_required_on_every_form(
    server: LiveServer, database_url: str, dev_agent: UserAgent, admin_agent: UserAgent
) -> None:
    client_id = apply(dev_agent, server, name="CSRF Target")
    server.cli_json("clients", "approve", client_id)
    developer_forms = [
        "/developers/applications",
        f"/developers/applications/{client_id}/edit",
        f"/developers/applications/{client_id}/delete",
        f"/developers/applications/{client_id}/reveal",
        f"/developers/applications/{client_id}/rotate",
        f"/developers/applications/{client_id}/revoke-previous",
    ]
    admin_forms = [
        f"/admin/applications/{client_id}/{action}"
        for action in ("approve", "reject", "suspend", "reinstate")
    ] + ["/admin/intake"]
    data = {**application_form(name="Forged"), "reason": "forged", "intake": "closed"}
    before = state_of(database_url, client_id)
    for agent, paths in ((dev_agent, developer_forms), (admin_agent, admin_forms)):
        for path in paths:
            for token in (None, "forged-token"):
                body = dict(data) if token is None else {**data, "csrf_token": token}
                response = agent.go(server.url + path, method="POST", data=body)
                assert response.status_code == 403, path
                assert "This form has expired" in response.text
    assert state_of(database_url, client_id) == before


def test_review_decisions_from_the_queue(
    server: LiveServer, database_url: str, dev_agent: UserAgent, admin_agent: UserAgent
) -> None:
    client_id = apply(dev_agent, server, name="Queue Item", reason="Friends list viewer")
    queue = admin_agent.go(server.url + "/admin/applications")
    awaiting = queue.text.split("<h2>Awaiting review")[1].split("<h2>All other applications")[0]
    assert "Queue Item" in awaiting and "Friends list viewer" in awaiting
    detail = admin_agent.go(server.url + f"/admin/applications/{client_id}")
    reject_form = 1  # 0 approve, 1 reject
    refused = admin_agent.submit(detail, {"reason": "  "}, index=reject_form)
    assert refused.status_code == 400
    assert "Give a reason; the applicant will read it." in refused.text
    too_long = admin_agent.submit(detail, {"reason": LONG}, index=reject_form)
    assert "Keep the reason under 2000 characters." in too_long.text
    assert client_row(database_url, client_id)["status"] == "pending"

    rejected = admin_agent.submit(detail, {"reason": "Please describe the data you keep."}, index=1)
    assert rejected.status_code == 200 and "badge-rejected" in rejected.text
    owner_view = dev_agent.go(server.url + f"/developers/applications/{client_id}")
    assert "Not approved." in owner_view.text
    assert "Please describe the data you keep." in owner_view.text

    # A rejected application can be reconsidered and approved; then suspended and reinstated.
    approved = admin_agent.submit(rejected, {}, index=0)
    assert client_row(database_url, client_id)["status"] == "approved"
    assert client_row(database_url, client_id)["review_reason"] is None
    suspend_form = approved.text.count("<form") - 1
    suspended = admin_agent.submit(approved, {"reason": "Scraping profiles."}, index=suspend_form)
    assert "badge-suspended" in suspended.text
    owner_view = dev_agent.go(server.url + f"/developers/applications/{client_id}")
    assert "Suspended:" in owner_view.text and "Scraping profiles." in owner_view.text
    reinstated = admin_agent.submit(suspended, {}, index=suspended.text.count("<form") - 1)
    assert "badge-approved" in reinstated.text
    events = [event for event, _ in server_audit(database_url, client_id)]
    for event in ("client.rejected", "client.approved", "client.suspended", "client.reinstated"):
        assert event in events


def test_admin_can_close_and_open_intake_from_the_queue(
    server: LiveServer, admin_agent: UserAgent
) -> None:
    queue = admin_agent.go(server.url + "/admin/applications")
    closed = admin_agent.submit(queue, {"intake": "closed"})
    assert "Intake is <strong>closed</strong>" in closed.text
    assert server.cli_json("intake", "status") == {"intake": "closed"}
    opened = admin_agent.submit(closed, {"intake": "open"})
    assert "Intake is <strong>open</strong>" in opened.text
    assert server.cli_json("intake", "status") == {"intake": "open"}
