"""What every target shares: the client's redirect URI, PKCE pair, scopes, prepared data."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import httpx

REDIRECT_URI = "http://127.0.0.1:65500/callback"
# One PKCE pair for the whole run: every code still gets its own challenge check (RFC 7636 §4.6).
VERIFIER = "bench-verifier-" + "x" * 40
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")
CODE_SCOPE = "openid profile offline_access"  # exchange codes carry a refresh token
FLOW_SCOPE = "openid profile"


@dataclass
class Prepared:
    """A target ready for load: an approved client and a signed-in browser with consent."""

    url: str
    client_id: str
    client_secret: str
    cookie: str
    discovery: dict[str, object]

    @property
    def basic(self) -> str:
        raw = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
        return "Basic " + base64.b64encode(raw.encode()).decode()

    def authorize_path(self, scope: str, *, prompt_none: bool) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "bench-state",
            "code_challenge": CHALLENGE.decode(),
            "code_challenge_method": "S256",
        }
        if prompt_none:
            params["prompt"] = "none"
        return "/connect/authorize?" + urlencode(params)

    def lua_env(self) -> dict[str, str]:
        return {
            "BENCH_BASIC": self.basic,
            "BENCH_COOKIE": self.cookie,
            "BENCH_REDIRECT_URI": quote(REDIRECT_URI, safe=""),
            "BENCH_REDIRECT_PREFIX": REDIRECT_URI,
            "BENCH_VERIFIER": VERIFIER,
        }

    def path_of(self, key: str) -> str | None:
        """The path of an endpoint the server advertises in its discovery document, if any."""
        value = self.discovery.get(key)
        if not isinstance(value, str):
            return None
        return value.removeprefix(self.url)


def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.cookies.jar)


def discovery_of(url: str) -> dict[str, object]:
    document: dict[str, object] = httpx.get(f"{url}/.well-known/openid-configuration").json()
    return document
