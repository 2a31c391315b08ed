"""A person in Chromium: turns on two-step sign-in, signs in with a code and with a recovery
code, revokes an application, and signs out another session."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import CallbackSite, chromium
from tests.support.live import LiveServer


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"  # the pages are under test; storage runs on both backends in tests/e2e


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def site() -> Iterator[CallbackSite]:
    with CallbackSite() as callback:
        yield callback


def sign_in(page: Page, server: LiveServer, person: dict[str, Any], path: str = "/account") -> None:
    page.goto(f"{server.url}/signin?{urlencode({'next': path})}")
    page.get_by_label("Username or email").fill(person["username"])
    page.get_by_label("Password").fill(person["password"])
    page.get_by_role("button", name="Sign in").click()


def enrol(page: Page, server: LiveServer) -> tuple[str, list[str]]:
    page.goto(f"{server.url}/account/security")
    page.get_by_role("button", name="Set up two-step sign-in").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    key = page.get_by_label("Setup key").inner_text().strip()
    page.get_by_label("Code from your app").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", name="Two-step sign-in is on")).to_be_visible()
    codes = (
        page.get_by_role("list", name="Recovery codes").get_by_role("listitem").all_inner_texts()
    )
    assert len(codes) == 10
    return key, [code.strip() for code in codes]


def authorize_url(server: LiveServer, client_id: str, redirect_uri: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid profile",
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
    }
    return f"{server.url}/connect/authorize?{urlencode(query)}", verifier


def exchange(
    server: LiveServer, client: dict[str, Any], site: CallbackSite, verifier: str
) -> dict[str, Any]:
    answer = httpx.post(
        f"{server.url}/connect/token",
        data={
            "grant_type": "authorization_code",
            "code": site.received[-1]["code"][0],
            "redirect_uri": site.url,
            "code_verifier": verifier,
        },
        auth=(client["client_id"], client["client_secret"]),
    )
    assert answer.status_code == 200, answer.text
    token: dict[str, Any] = answer.json()
    return token


def test_two_step_enrol_then_sign_in_with_code_and_with_recovery_code(
    server: LiveServer, browser: Browser, site: CallbackSite
) -> None:
    person = server.create_user(f"Chrome{secrets.token_hex(3)}")
    client = server.create_client([site.url], name="Quest Board", scope="openid profile")
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server, person)
    key, codes = enrol(page, server)
    context.close()

    context = browser.new_context()
    page = context.new_page()
    url, verifier = authorize_url(server, client["client_id"], site.url)
    page.goto(url)
    page.get_by_label("Username or email").fill(person["username"])
    page.get_by_label("Password").fill(person["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    page.get_by_label("Authentication code").fill(pyotp.TOTP(key).at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Back at the application")).to_be_visible()
    token = exchange(server, client, site, verifier)
    claims = token["id_token"].split(".")[1]
    payload = base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4))
    assert b'"amr":["pwd","otp"]' in payload.replace(b" ", b"")
    context.close()

    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server, person)
    page.get_by_text("Lost your device? Use a recovery code").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Use recovery code").click()
    expect(page.get_by_role("heading", name=f"Hello, {person['username']}")).to_be_visible()
    page.goto(f"{server.url}/account/security")
    expect(page.get_by_text("9 unused recovery codes")).to_be_visible()
    context.close()


def test_revoke_an_application_and_its_token_is_refused(
    server: LiveServer, browser: Browser, site: CallbackSite
) -> None:
    person = server.create_user(f"Revoker{secrets.token_hex(3)}")
    client = server.create_client([site.url], name="Photo Frame", scope="openid profile")
    context = browser.new_context()
    page = context.new_page()
    url, verifier = authorize_url(server, client["client_id"], site.url)
    page.goto(url)
    page.get_by_label("Username or email").fill(person["username"])
    page.get_by_label("Password").fill(person["password"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Back at the application")).to_be_visible()
    token = exchange(server, client, site, verifier)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(f"{server.url}/api/user/profiles", headers=bearer).status_code == 200

    page.goto(f"{server.url}/account/applications")
    table = page.get_by_role("table", name="Connected applications")
    expect(table.get_by_role("rowheader", name="Photo Frame")).to_be_visible()
    expect(table).to_contain_text("Your public profile")
    page.get_by_role("button", name="Revoke access for Photo Frame").click()
    expect(page.get_by_role("status")).to_contain_text("Photo Frame can no longer access")
    assert httpx.get(f"{server.url}/api/user/profiles", headers=bearer).status_code == 401
    context.close()


def test_sign_out_another_session(server: LiveServer, browser: Browser) -> None:
    person = server.create_user(f"TwoPlaces{secrets.token_hex(3)}")
    laptop, phone = browser.new_context(), browser.new_context()
    laptop_page, phone_page = laptop.new_page(), phone.new_page()
    sign_in(laptop_page, server, person)
    sign_in(phone_page, server, person)
    expect(phone_page.get_by_role("heading", name=f"Hello, {person['username']}")).to_be_visible()

    laptop_page.goto(f"{server.url}/account/sessions")
    sessions = laptop_page.get_by_role("table", name="Signed-in sessions")
    expect(sessions.get_by_role("row")).to_have_count(3)  # header, this browser, the other
    expect(sessions).to_contain_text("This browser")
    sessions.get_by_role("button", name="Sign out").click()
    expect(laptop_page.get_by_role("status")).to_contain_text("That session is signed out")
    expect(
        laptop_page.get_by_role("table", name="Signed-in sessions").get_by_role("row")
    ).to_have_count(2)

    phone_page.goto(f"{server.url}/account")
    expect(phone_page.get_by_role("heading", name="Sign in")).to_be_visible()
    laptop_page.goto(f"{server.url}/account")
    expect(laptop_page.get_by_role("heading", name=f"Hello, {person['username']}")).to_be_visible()
    laptop.close()
    phone.close()
