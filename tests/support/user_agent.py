"""A person at a browser without JavaScript: follows redirects, reads and posts HTML forms.

It drives the server's real pages over HTTP; it never imports project code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, list[str]] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append(Form(action=attributes.get("action", "")))
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1].fields[attributes["name"]] = attributes.get("value", "")
        elif tag == "button" and self.forms and attributes.get("name"):
            self.forms[-1].buttons.setdefault(attributes["name"], []).append(
                attributes.get("value", "")
            )


def forms_in(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


class UserAgent:
    """Cookie-keeping client that stops at the first redirect leaving `server_url`."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.http = httpx.Client(follow_redirects=False, timeout=10)
        self.last: httpx.Response | None = None

    def close(self) -> None:
        self.http.close()

    def go(
        self, url: str, *, method: str = "GET", data: dict[str, str] | None = None
    ) -> httpx.Response:
        """Request `url`; follow redirects within the server; return the last response."""
        response = self.http.request(method, url, data=data)
        for _ in range(10):
            location = response.headers.get("location")
            if response.status_code not in (301, 302, 303, 307) or location is None:
                break
            target = urljoin(str(response.url), location)
            if not target.startswith(self.server_url):
                break
            response = self.http.get(target)
        self.last = response
        return response

    def submit(
        self, response: httpx.Response, values: dict[str, str], *, index: int = 0
    ) -> httpx.Response:
        form = forms_in(response.text)[index]
        data = {**form.fields, **values}
        return self.go(urljoin(str(response.url), form.action), method="POST", data=data)

    def sign_in(self, response: httpx.Response, username: str, password: str) -> httpx.Response:
        return self.submit(response, {"username": username, "password": password})

    def decide(self, response: httpx.Response, decision: str) -> httpx.Response:
        return self.submit(response, {"decision": decision})

    @staticmethod
    def redirect_target(response: httpx.Response) -> str:
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        return urljoin(str(response.url), response.headers["location"])
