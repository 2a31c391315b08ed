"""Fixtures and helpers shared by the applications e2e modules (import the fixtures you use)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.portal import person, post, signed_in_agent
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
