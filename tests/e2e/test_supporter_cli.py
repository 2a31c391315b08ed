"""`resonite-auth users supporter`: the operator records Patreon support; applications see it."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from tests.support.databases import query, scalar
from tests.support.live import LiveServer
from tests.support.user_agent import UserAgent

REDIRECT = "http://127.0.0.1:65501/callback"


@pytest.fixture(scope="module")
def app_client(server: LiveServer) -> dict[str, Any]:
    return server.create_client([REDIRECT], name="Supporter Lounge", scope="openid profile patreon")


@pytest.fixture()
def agent(server: LiveServer) -> Iterator[UserAgent]:
    ua = UserAgent(server.url)
    yield ua
    ua.close()


def profile_with_patreon(
    server: LiveServer, client: dict[str, Any], person: dict[str, Any], agent: UserAgent
) -> dict[str, Any]:
    """The person's profile document as an application granted `patreon` reads it."""
    oauth = OAuth2Client(
        client["client_id"],
        client["client_secret"],
        scope="openid profile patreon",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    )
    verifier = generate_token(64)
    url, _ = oauth.create_authorization_url(
        f"{server.url}/connect/authorize", code_verifier=verifier, nonce=generate_token(20)
    )
    page = agent.sign_in(agent.go(url), person["username"], person["password"])
    callback = agent.redirect_target(agent.decide(page, "allow"))
    assert "code" in parse_qs(urlsplit(callback).query)
    oauth.fetch_token(
        f"{server.url}/connect/token", authorization_response=callback, code_verifier=verifier
    )
    response = oauth.get(f"{server.url}/api/user/profiles")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def supporter(server: LiveServer, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = server.cli_json("users", "supporter", *args)
    return result


def test_active_supporter_by_username_shows_in_the_profile(
    server: LiveServer, app_client: dict[str, Any], agent: UserAgent
) -> None:
    person = server.create_user(f"Patron{secrets.token_hex(3)}")
    printed = supporter(
        server, person["username"].lower(), "--active", "--tier-cents", "1000", "--months", "3"
    )
    assert printed["id"] == person["id"]
    assert printed["isActiveSupporter"] is True

    document = profile_with_patreon(server, app_client, person, agent)
    assert document["isActiveSupporter"] is True
    [entry] = document["supporterMetadata"]
    assert entry["$type"] == "patreon"
    assert entry["isActiveSupporter"] is True
    assert entry["totalSupportMonths"] == 3
    assert entry["lastTierCents"] == 1000
    assert entry["highestTierCents"] == entry["lowestTierCents"] == 1000
    assert entry["totalSupportCents"] == 3000
    assert entry["firstSupportTimestamp"] < entry["lastSupportTimestamp"]
    assert printed["supporterMetadata"] == document["supporterMetadata"]


def test_inactive_keeps_the_history_and_audits(server: LiveServer, database_url: str) -> None:
    person = server.create_user(f"Lapsed{secrets.token_hex(3)}")
    supporter(server, person["id"], "--active", "--tier-cents", "500", "--months", "2")
    raised = supporter(server, person["id"], "--active", "--tier-cents", "2500")
    [entry] = raised["supporterMetadata"]
    assert (entry["lowestTierCents"], entry["highestTierCents"]) == (500, 2500)
    assert entry["totalSupportMonths"] == 2

    lapsed = supporter(server, person["id"], "--inactive")
    assert lapsed["isActiveSupporter"] is False
    [entry] = lapsed["supporterMetadata"]
    assert entry["isActiveSupporter"] is False
    assert entry["lastTierCents"] == 2500
    assert entry["totalSupportCents"] == 2 * 2500

    row = query(
        database_url,
        "SELECT is_active_supporter, supporter_metadata FROM accounts WHERE id = :id",
        id=person["id"],
    )[0]
    assert not row["is_active_supporter"]
    stored = row["supporter_metadata"]
    stored = json.loads(stored) if isinstance(stored, str) else stored
    assert stored[0]["is_active_supporter"] is False
    events = scalar(
        database_url,
        f"SELECT count(*) FROM audit_events WHERE event = 'account.supporter_changed'"
        f" AND account_id = '{person['id']}'",
    )
    assert events == 3


def test_inactive_for_someone_who_never_supported_records_nothing(server: LiveServer) -> None:
    person = server.create_user(f"Never{secrets.token_hex(3)}")
    printed = supporter(server, person["username"], "--inactive")
    assert printed["isActiveSupporter"] is False
    assert printed["supporterMetadata"] == []


def test_text_output_names_the_person(server: LiveServer) -> None:
    person = server.create_user(f"Texty{secrets.token_hex(3)}")
    result = server.cli("users", "supporter", person["username"], "--active")
    assert result.stdout.strip() == (
        f"{person['username']} ({person['id']}) is now an active supporter"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["U-nobody-here", "--active"], "No account has the id or username"),
        (["{user}", "--active", "--tier-cents", "0"], "positive number of cents"),
        (["{user}", "--active", "--months", "-1"], "months supported is a positive number"),
    ],
)
def test_errors_go_to_stderr_with_a_nonzero_exit(
    server: LiveServer, database_url: str, args: list[str], message: str
) -> None:
    person = server.create_user(f"Err{secrets.token_hex(3)}")
    args = [person["username"] if arg == "{user}" else arg for arg in args]
    result = server.cli("users", "supporter", *args, check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""
    assert not scalar(
        database_url,
        f"SELECT is_active_supporter FROM accounts WHERE id = '{person['id']}'",
    )


def test_active_or_inactive_must_be_chosen(server: LiveServer) -> None:
    person = server.create_user(f"Undecided{secrets.token_hex(3)}")
    result = server.cli("users", "supporter", person["username"], check=False)
    assert result.returncode == 2
    assert "--active" in result.stderr
