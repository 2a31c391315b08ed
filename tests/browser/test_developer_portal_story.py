"""The whole applications story in Chromium: apply, review, secret once, flow, rotate, suspend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import CallbackSite, chromium
from tests.support.live import LiveServer
from tests.support.portal import secret_accepted


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"  # the pages are under test here; storage runs on both backends in tests/e2e


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def site() -> Iterator[CallbackSite]:
    with CallbackSite() as callback:
        yield callback


def sign_in(page: Page, server: LiveServer, path: str, user: dict[str, Any]) -> None:
    page.goto(server.url + path)
    page.get_by_label("Username or email").fill(user["username"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_role("button", name="Sign in").click()


def authorization_flow(
    server: LiveServer,
    page: Page,
    site: CallbackSite,
    user: dict[str, Any],
    client_id: str,
    secret: str,
) -> OAuth2Client:
    """A person allows the application in Chromium; the application redeems the code."""
    oauth = OAuth2Client(
        client_id,
        secret,
        scope="openid profile",
        redirect_uri=site.url,
        code_challenge_method="S256",
    )
    verifier = generate_token(64)
    url, _ = oauth.create_authorization_url(
        f"{server.url}/connect/authorize", code_verifier=verifier
    )
    page.goto(url)
    if page.get_by_label("Password").count():
        page.get_by_label("Username or email").fill(user["username"])
        page.get_by_label("Password").fill(user["password"])
        page.get_by_role("button", name="Sign in").click()
    allow = page.get_by_role("button", name="Allow")
    back = page.get_by_role("heading", name="Back at the application")
    expect(allow.or_(back)).to_be_visible()
    if allow.count():  # consent is asked once; a second flow goes straight back
        allow.click()
    expect(back).to_be_visible()
    oauth.fetch_token(
        f"{server.url}/connect/token", authorization_response=page.url, code_verifier=verifier
    )
    return oauth


def test_apply_review_reveal_flow_rotate_suspend(
    server: LiveServer, browser: Browser, site: CallbackSite
) -> None:
    developer = server.create_user("StoryDev")
    admin = server.create_user("StoryAdmin", admin=True)
    member = server.create_user("StoryMember")
    dev = browser.new_context().new_page()
    ops = browser.new_context().new_page()
    person = browser.new_context().new_page()

    # A developer applies.
    sign_in(dev, server, "/developers/applications", developer)
    expect(dev.get_by_role("heading", name="Apply for a new application")).to_be_visible()
    dev.get_by_label("Your name").fill("Story Developer")
    dev.get_by_label("Why does your application need access?").fill("Shows event attendees.")
    dev.get_by_label("Redirect URIs").fill("http://events.example/callback")
    dev.get_by_role("button", name="Submit for review").click()
    expect(dev.get_by_role("alert").first).to_contain_text("Some fields need your attention")
    expect(dev.get_by_text("The application needs a name.")).to_be_visible()
    expect(dev.get_by_text("must use https (http only for loopback)")).to_be_visible()
    expect(dev.get_by_label("Your name")).to_have_value("Story Developer")  # kept
    dev.get_by_label("Application name").fill("Story Events")
    dev.get_by_label("Redirect URIs").fill(site.url)
    expect(dev.get_by_label("Yes: a web server")).to_be_checked()
    dev.get_by_role("button", name="Submit for review").click()
    expect(dev.get_by_role("heading", name="Story Events")).to_be_visible()
    expect(dev.get_by_role("status")).to_contain_text("Waiting for review")
    client_id = dev.url.rsplit("/", 1)[-1]

    # The admin approves it from the queue.
    sign_in(ops, server, "/admin/applications", admin)
    queue = ops.get_by_role("table", name="Awaiting review")
    expect(queue).to_contain_text("Shows event attendees.")
    queue.get_by_role("link", name="Story Events").click()
    ops.get_by_role("button", name="Approve", exact=True).click()
    expect(ops.locator(".badge-approved")).to_be_visible()

    # The developer sees the secret once; a reload no longer shows it.
    dev.reload()
    expect(dev.get_by_text(client_id).first).to_be_visible()
    dev.get_by_role("button", name="Reveal your secret").click()
    secret = dev.locator("#client-secret").inner_text().strip()
    assert len(secret) >= 43
    dev.reload()  # re-sends the reveal: it is refused, the secret is not shown again
    assert secret not in dev.content()
    dev.goto(f"{server.url}/developers/applications/{client_id}")
    expect(dev.get_by_text("already shown once")).to_be_visible()
    assert secret not in dev.content()

    # The authorization code flow works with those credentials.
    oauth = authorization_flow(server, person, site, member, client_id, secret)
    assert oauth.get(f"{server.url}/api/user/profiles").json()["username"] == "StoryMember"

    # Rotation: the old secret keeps working until revoked.
    dev.get_by_role("button", name="Rotate secret").click()
    new_secret = dev.locator("#client-secret").inner_text().strip()
    expect(dev.get_by_role("status")).to_contain_text("keeps working until")
    assert new_secret != secret
    assert secret_accepted(server, client_id, secret)
    assert secret_accepted(server, client_id, new_secret)
    dev.get_by_role("link", name="I stored it safely").click()
    dev.get_by_role("button", name="Revoke previous secrets now").click()
    assert not secret_accepted(server, client_id, secret)
    oauth = authorization_flow(server, person, site, member, client_id, new_secret)
    assert oauth.get(f"{server.url}/api/user/profiles").status_code == 200

    # Suspension stops the flow and kills existing tokens.
    ops.get_by_label("Reason for suspending").fill("Reported for collecting data.")
    ops.get_by_role("button", name="Suspend").click()
    expect(ops.locator(".badge-suspended")).to_be_visible()
    assert oauth.get(f"{server.url}/api/user/profiles").status_code == 401
    flow = OAuth2Client(client_id, new_secret, scope="openid", redirect_uri=site.url)
    url, _ = flow.create_authorization_url(
        f"{server.url}/connect/authorize", code_verifier=generate_token(64)
    )
    person.goto(url)
    expect(person.get_by_role("heading", name="Application unavailable")).to_be_visible()
    dev.goto(f"{server.url}/developers/applications/{client_id}")
    expect(dev.get_by_role("status")).to_contain_text("Reported for collecting data.")
    token = httpx.post(
        f"{server.url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=(client_id, new_secret),
    )
    assert token.json()["error"] == "invalid_client"
