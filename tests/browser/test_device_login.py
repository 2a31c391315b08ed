"""The device_login example links an account while a person approves in Chromium."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import chromium
from tests.support.live import LiveServer
from tests.support.processes import Program

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "device_login" / "device_login.py"


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        database_url=database_url,
        workdir=tmp_path_factory.mktemp("server"),
        extra_env={"RESONITE_AUTH_DEVICE_POLL_INTERVAL": "1"},
    )
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def client_id(server: LiveServer) -> str:
    created = server.cli_json(
        "clients",
        "create",
        "--name",
        "World Gadget",
        "--redirect-uri",
        "http://127.0.0.1/unused",
        "--scope",
        "openid profile",
        "--public",
        "--approve",
        "--device-grant",
    )
    return str(created["client_id"])


def run_example(server: LiveServer, client_id: str) -> tuple[Program, str, str]:
    program = Program(
        [sys.executable, str(EXAMPLE), "--server", server.url, "--client-id", client_id]
    )
    code = program.wait_for(r"enter the code: ([A-Z]{4}-[A-Z]{4})").group(1)
    complete = program.wait_for(r"Or open: (\S+)").group(1)
    program.wait_for("Waiting for you to approve")
    return program, code, complete


def sign_in_and_reach_confirmation(
    page: Page, complete: str, person: dict[str, Any], code: str
) -> None:
    page.goto(complete)
    page.get_by_label("Username or email").fill(person["username"])
    page.get_by_label("Password").fill(person["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Device code")).to_have_value(code)
    page.get_by_role("button", name="Continue").click()
    expect(
        page.get_by_role("heading", name="World Gadget wants to connect to your Resonite account")
    ).to_be_visible()
    expect(page.get_by_label("Device code")).to_have_text(code)


def test_approving_in_the_browser_links_the_device(
    server: LiveServer, browser: Browser, client_id: str
) -> None:
    person = server.create_user("DeviceOwner")
    program, code, complete = run_example(server, client_id)
    try:
        page = browser.new_page()
        sign_in_and_reach_confirmation(page, complete, person, code)
        page.get_by_role("button", name="Allow").click()
        expect(page.get_by_role("heading", name="Device connected")).to_be_visible()
        program.wait_for(rf"Signed in as {person['username']} \({person['id']}\)")
        assert program.finish() == 0
        page.close()
    finally:
        program.kill()


def test_denying_in_the_browser_stops_the_device(
    server: LiveServer, browser: Browser, client_id: str
) -> None:
    person = server.create_user("DeviceDenier")
    program, code, complete = run_example(server, client_id)
    try:
        page = browser.new_page()
        sign_in_and_reach_confirmation(page, complete, person, code)
        page.get_by_role("button", name="Deny").click()
        expect(page.get_by_role("heading", name="Request denied")).to_be_visible()
        program.wait_for("You denied the request")
        assert program.finish() == 1
        page.close()
    finally:
        program.kill()


def test_an_expired_code_is_refused_on_both_sides(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, browser: Browser, client_id: str
) -> None:
    short = LiveServer(
        database_url=database_url,
        workdir=tmp_path_factory.mktemp("short"),
        extra_env={"RESONITE_AUTH_DEVICE_POLL_INTERVAL": "1", "RESONITE_AUTH_DEVICE_CODE_TTL": "3"},
    )
    short.start()
    try:
        person = short.create_user("DeviceLate")
        program, _code, complete = run_example(short, client_id)
        program.wait_for("expired", timeout=20)
        assert program.finish() == 1
        page = browser.new_page()
        page.goto(complete)
        page.get_by_label("Username or email").fill(person["username"])
        page.get_by_label("Password").fill(person["password"])
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("alert")).to_contain_text("expired")
        page.close()
    finally:
        short.stop()
