"""The example event registration site and the server, both live, driven in Chromium.

A visitor links their Resonite account (sign in and consent at the server), registers for
events, is refused or let into the supporter-only event by what their profile says, and meets
clear pages when they deny consent, when the state does not match, and when the server is down.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.support.browser import chromium
from tests.support.event_site import EventSite
from tests.support.live import LiveServer, free_port

ICON = "resdb:///0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0.webp"


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"  # the flow under test is the two sites' pages; storage runs on both elsewhere


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as instance:
        yield instance


def start_site(
    server: LiveServer,
    workdir: Path,
    discovery_url: str | None = None,
    scope: str = "openid profile patreon",
) -> EventSite:
    port = free_port()
    client = server.create_client(
        [f"http://127.0.0.1:{port}/auth/callback"], name="Event Registration", scope=scope
    )
    site = EventSite(
        discovery_url or f"{server.url}/.well-known/openid-configuration",
        client["client_id"],
        client["client_secret"],
        workdir,
        port=port,
    )
    site.start()
    return site


@pytest.fixture(scope="module")
def site(server: LiveServer, workdir: Path) -> Iterator[EventSite]:
    running = start_site(server, workdir)
    yield running
    running.stop()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()  # a fresh visitor: no cookies at either site
    # The avatar host is on the internet; the test only checks the address the site shows.
    context.route("https://assets.resonite.com/**", lambda route: route.abort())
    visitor = context.new_page()
    yield visitor
    context.close()


def sign_in_and_allow(page: Page, server: LiveServer, person: dict[str, str]) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.url.startswith(server.url)
    expect(page.get_by_text("Event Registration")).to_be_visible()
    page.get_by_label("Username or email").fill(person["username"])
    page.get_by_label("Password").fill(person["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(
        page.get_by_role("heading", name="Event Registration wants to access your Resonite account")
    ).to_be_visible()
    page.get_by_role("button", name="Allow").click()


def register(page: Page, event_title: str) -> None:
    page.get_by_role("button", name=f"Register for {event_title}").click()


def registrations(site: EventSite) -> list[tuple[str, str]]:
    with sqlite3.connect(site.database) as db:
        return sorted(db.execute("SELECT event_id, username FROM registrations").fetchall())


def set_icon(database_url: str, user_id: str, icon: str) -> None:
    path = database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE accounts SET icon_url = ? WHERE id = ?", (icon, user_id))


def test_link_register_and_a_non_supporter_is_refused_the_supporter_event(
    server: LiveServer, site: EventSite, page: Page
) -> None:
    person = server.create_user("EventGoer")
    page.goto(site.url)
    expect(page.get_by_role("heading", name="Upcoming events")).to_be_visible()
    page.get_by_role("link", name="Link your Resonite account", exact=True).click()
    sign_in_and_allow(page, server, person)

    assert page.url.startswith(site.url)
    expect(page.get_by_role("status")).to_have_text("Linked your Resonite account EventGoer.")
    expect(page.get_by_test_id("linked-username")).to_have_text("EventGoer")
    expect(page.get_by_role("img", name="EventGoer (no avatar)")).to_be_visible()
    expect(page.get_by_text("Supporter status not shared")).to_be_visible()

    register(page, "Community Build Night")
    expect(page.get_by_role("status")).to_have_text(
        "EventGoer is registered for Community Build Night."
    )
    build_night = page.locator("#event-build-night")
    expect(build_night.get_by_text("Registered")).to_be_visible()

    # The supporter event asks for the `patreon` scope before anything else.
    page.get_by_role("link", name="Share your supporter status for Supporter Meetup").click()
    expect(page.get_by_role("list", name="Requested permissions")).to_contain_text(
        "Your supporter status"
    )
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_text("Not a supporter", exact=True)).to_be_visible()
    register(page, "Supporter Meetup")
    expect(
        page.get_by_role("heading", name="Supporter Meetup is for active supporters")
    ).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("EventGoer, is not an active supporter")
    assert registrations(site) == [("build-night", "EventGoer")]


def test_a_supporter_set_by_the_operator_is_let_in(
    server: LiveServer, site: EventSite, page: Page, database_url: str
) -> None:
    person = server.create_user("EventPatron")
    server.cli("users", "supporter", "EventPatron", "--active", "--tier-cents", "1000")
    set_icon(database_url, person["id"], ICON)

    page.goto(site.url)
    page.get_by_role(
        "link", name="Link your Resonite account to register for Supporter Meetup"
    ).click()
    sign_in_and_allow(page, server, person)

    expect(page.get_by_test_id("linked-username")).to_have_text("EventPatron")
    expect(page.get_by_text("Active supporter")).to_be_visible()
    avatar = page.get_by_role("img", name="EventPatron's avatar")
    expect(avatar).to_have_attribute("src", f"https://assets.resonite.com/{ICON[9:]}")
    register(page, "Supporter Meetup")
    expect(page.get_by_role("status")).to_have_text(
        "EventPatron is registered for Supporter Meetup."
    )
    expect(page.locator("#event-supporter-meetup").get_by_text("Registered")).to_be_visible()
    assert ("supporter-meetup", "EventPatron") in registrations(site)


def test_unlink_forgets_the_account(server: LiveServer, site: EventSite, page: Page) -> None:
    person = server.create_user("EventLeaver")
    page.goto(site.url)
    page.get_by_role("link", name="Link your Resonite account", exact=True).click()
    sign_in_and_allow(page, server, person)
    expect(page.get_by_test_id("linked-username")).to_have_text("EventLeaver")

    page.get_by_role("button", name="Unlink").click()
    expect(page.get_by_role("status")).to_contain_text("Unlinked")
    expect(page.get_by_role("link", name="Link your Resonite account", exact=True)).to_be_visible()
    expect(page.get_by_test_id("linked-username")).to_have_count(0)
    with sqlite3.connect(site.database) as db:
        assert db.execute(
            "SELECT count(*) FROM links WHERE username = 'EventLeaver'"
        ).fetchone() == (0,)


def test_denying_consent_returns_to_the_site_with_a_clear_message(
    server: LiveServer, site: EventSite, page: Page
) -> None:
    person = server.create_user("EventDenier")
    page.goto(site.url)
    page.get_by_role("link", name="Link your Resonite account", exact=True).click()
    page.get_by_label("Username or email").fill(person["username"])
    page.get_by_label("Password").fill(person["password"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Deny").click()

    assert page.url.startswith(f"{site.url}/auth/callback")
    assert parse_qs(urlsplit(page.url).query)["error"] == ["access_denied"]
    expect(page.get_by_role("heading", name="Your account was not linked")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("You chose not to share")
    page.get_by_role("link", name="Back to the events").click()
    expect(page.get_by_role("link", name="Link your Resonite account", exact=True)).to_be_visible()


def link_as(page: Page, server: LiveServer, site: EventSite, username: str) -> None:
    person = server.create_user(username)
    page.goto(site.url)
    page.get_by_role("link", name="Link your Resonite account", exact=True).click()
    sign_in_and_allow(page, server, person)
    expect(page.get_by_test_id("linked-username")).to_have_text(username)


def test_forms_refuse_what_they_must(server: LiveServer, site: EventSite, page: Page) -> None:
    link_as(page, server, site, "EventTinkerer")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token

    forged = page.request.post(f"{site.url}/events/build-night/register", form={})
    assert forged.status == 400
    assert "This form has expired" in forged.text()

    unknown = page.request.post(
        f"{site.url}/events/moon-party/register", form={"csrf_token": token}
    )
    assert unknown.status == 404
    assert "No such event" in unknown.text()

    # Linked with `openid profile` only: the supporter event needs the status shared first.
    unshared = page.request.post(
        f"{site.url}/events/supporter-meetup/register", form={"csrf_token": token}
    )
    assert unshared.status == 403
    assert "Supporter Meetup needs your supporter status" in unshared.text()

    register(page, "Avatar Workshop")
    expect(page.get_by_role("status")).to_have_text(
        "EventTinkerer is registered for Avatar Workshop."
    )
    again = page.request.post(
        f"{site.url}/events/avatar-workshop/register", form={"csrf_token": token}
    )
    assert "EventTinkerer is already registered for Avatar Workshop." in again.text()
    assert registrations(site).count(("avatar-workshop", "EventTinkerer")) == 1


def test_registering_after_unlinking_in_another_tab_asks_to_link(
    server: LiveServer, site: EventSite, page: Page
) -> None:
    link_as(page, server, site, "EventTwoTabs")
    other_tab = page.context.new_page()
    other_tab.goto(site.url)
    other_tab.get_by_role("button", name="Unlink").click()
    expect(other_tab.get_by_role("status")).to_contain_text("Unlinked")

    register(page, "Community Build Night")
    expect(page.get_by_role("heading", name="Link your Resonite account first")).to_be_visible()
    assert ("build-night", "EventTwoTabs") not in registrations(site)


def test_an_error_answer_from_the_server_is_explained(
    server: LiveServer, workdir: Path, page: Page
) -> None:
    # This client may not ask for `patreon`, so the server answers the supporter link with
    # an error redirect (RFC 6749 §4.1.2.1) instead of a sign-in page.
    narrow = start_site(server, workdir, scope="openid profile")
    try:
        page.goto(narrow.url)
        page.get_by_role(
            "link", name="Link your Resonite account to register for Supporter Meetup"
        ).click()
        expect(page.get_by_role("heading", name="Linking failed")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("invalid_scope")
        assert page.url.startswith(narrow.redirect_uri)
    finally:
        narrow.stop()


def test_a_code_the_server_does_not_know_is_refused(
    server: LiveServer, site: EventSite, page: Page
) -> None:
    sent = authorize_request_of(page, site)
    answer = urlencode({"code": "b" * 43, "state": sent["state"][0], "iss": server.url})
    response = page.goto(f"{site.url}/auth/callback?{answer}")
    assert response is not None and response.status == 502
    expect(page.get_by_role("heading", name="Linking failed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("invalid_grant")


def authorize_request_of(page: Page, site: EventSite) -> dict[str, list[str]]:
    """Start linking and stop at the server: the authorization request the site sent."""
    response = page.goto(f"{site.url}/link")
    assert response is not None
    request = response.request
    while request.redirected_from is not None and "/connect/authorize" not in request.url:
        request = request.redirected_from
    assert "/connect/authorize" in request.url
    return parse_qs(urlsplit(request.url).query)


def test_state_mismatch_is_refused_with_a_clear_message(
    server: LiveServer, site: EventSite, page: Page
) -> None:
    sent = authorize_request_of(page, site)
    assert sent["code_challenge_method"] == ["S256"]
    assert sent["nonce"] and sent["state"]
    forged = urlencode({"code": "a" * 43, "state": "not-the-state-we-sent", "iss": server.url})
    response = page.goto(f"{site.url}/auth/callback?{forged}")
    assert response is not None and response.status == 400
    expect(
        page.get_by_role("heading", name="This link attempt was not started here")
    ).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("nothing was linked")


def test_callback_without_any_started_link_is_a_state_mismatch(
    server: LiveServer, site: EventSite, page: Page
) -> None:
    response = page.goto(f"{site.url}/auth/callback?error=access_denied&state=guessed")
    assert response is not None and response.status == 400
    expect(
        page.get_by_role("heading", name="This link attempt was not started here")
    ).to_be_visible()


def test_an_answer_naming_another_issuer_is_refused(
    server: LiveServer, site: EventSite, page: Page
) -> None:
    sent = authorize_request_of(page, site)
    mixed_up = urlencode(
        {"code": "a" * 43, "state": sent["state"][0], "iss": "https://evil.example"}
    )
    response = page.goto(f"{site.url}/auth/callback?{mixed_up}")
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", name="Unexpected account server")).to_be_visible()


def test_server_unreachable_when_linking_starts(
    server: LiveServer, workdir: Path, page: Page
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    lonely = start_site(server, workdir, discovery_url=nowhere)
    try:
        page.goto(lonely.url)
        page.get_by_role("link", name="Link your Resonite account", exact=True).click()
        expect(page.get_by_role("heading", name="Resonite is not answering")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("could not reach")
        assert page.url.startswith(lonely.url)
    finally:
        lonely.stop()


def test_server_unreachable_when_the_answer_comes_back(
    workdir: Path, page: Page, tmp_path: Path
) -> None:
    # A server of its own, so that stopping it leaves the module's server running.
    doomed = LiveServer(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'doomed.db'}", workdir=tmp_path
    )
    doomed.start()
    lonely: EventSite | None = None
    answers: list[str] = []

    def hold_the_answer(route: Route) -> None:
        # The consent POST reaches the server; its redirect back to the site is held here.
        response = route.fetch(max_redirects=0)
        answers.append(response.headers["location"])
        route.fulfill(status=200, content_type="text/html", body="<h1>Answer held</h1>")

    try:
        person = doomed.create_user("EventLateComer")
        lonely = start_site(doomed, workdir)
        page.route(f"{doomed.url}/interaction/*/consent", hold_the_answer)
        page.goto(lonely.url)
        page.get_by_role("link", name="Link your Resonite account", exact=True).click()
        sign_in_and_allow(page, doomed, person)
        expect(page.get_by_role("heading", name="Answer held")).to_be_visible()
        assert len(answers) == 1 and answers[0].startswith(lonely.redirect_uri)
        doomed.stop()
        response = page.goto(answers[0])
        assert response is not None and response.status == 503
        expect(page.get_by_role("heading", name="Resonite is not answering")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("nothing was linked")
    finally:
        doomed.stop()
        if lonely is not None:
            lonely.stop()
