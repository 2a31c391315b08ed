"""A person in Chromium signs in and consents; the application receives a code."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import CallbackSite, chromium
from tests.support.live import LiveServer


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"  # the flow under test is the pages; storage is covered on both elsewhere


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def site() -> Iterator[CallbackSite]:
    with CallbackSite() as callback:
        yield callback


def authorize_url(
    server: LiveServer, client_id: str, redirect_uri: str, scope: str
) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    state = secrets.token_urlsafe(12)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{server.url}/connect/authorize?{query}", state


def test_sign_in_then_consent_shows_app_and_scopes(
    server: LiveServer, browser: Browser, site: CallbackSite
) -> None:
    person = server.create_user("BrowserPerson")
    client = server.create_client([site.url], name="Friends Manager", scope="openid profile email")
    page = browser.new_page()
    url, state = authorize_url(server, client["client_id"], site.url, "openid profile email")
    page.goto(url)

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Friends Manager")).to_be_visible()
    page.get_by_label("Username or email").fill(person["username"])
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")

    page.get_by_label("Password").fill(person["password"])
    page.get_by_role("button", name="Sign in").click()

    expect(
        page.get_by_role("heading", name="Friends Manager wants to access your Resonite account")
    ).to_be_visible()
    scopes = page.get_by_role("list", name="Requested permissions")
    expect(scopes).to_contain_text("Your public profile")
    expect(scopes).to_contain_text("Your email address")
    expect(scopes).to_contain_text("Confirm who you are")
    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_role("heading", name="Back at the application")).to_be_visible()
    received = site.received[-1]
    assert received["state"] == [state]
    assert received["iss"] == [server.url]
    assert len(received["code"][0]) >= 43
    page.close()


def test_deny_returns_access_denied(
    server: LiveServer, browser: Browser, site: CallbackSite
) -> None:
    person = server.create_user("BrowserDenier")
    client = server.create_client([site.url], name="Profile Editor", scope="profile")
    page = browser.new_page()
    url, state = authorize_url(server, client["client_id"], site.url, "profile")
    page.goto(url)
    page.get_by_label("Username or email").fill(person["username"])
    page.get_by_label("Password").fill(person["password"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("heading", name="Back at the application")).to_be_visible()
    assert site.received[-1]["error"] == ["access_denied"]
    assert site.received[-1]["state"] == [state]
    page.close()


def test_unregistered_redirect_shows_a_page_not_a_redirect(
    server: LiveServer, browser: Browser, site: CallbackSite
) -> None:
    client = server.create_client([site.url], name="Careful App", scope="profile")
    page = browser.new_page()
    url, _ = authorize_url(server, client["client_id"], "https://attacker.example/steal", "profile")
    count = len(site.received)
    response = page.goto(url)
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", name="Unregistered redirect address")).to_be_visible()
    assert page.url.startswith(server.url)
    assert len(site.received) == count
    page.close()
