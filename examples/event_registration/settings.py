"""Configuration, from the environment only (see README.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

REQUIRED = (
    "EVENTS_DISCOVERY_URL",
    "EVENTS_CLIENT_ID",
    "EVENTS_CLIENT_SECRET",
    "EVENTS_REDIRECT_URI",
    "EVENTS_SESSION_SECRET",
)
DEFAULT_DATABASE = "var/event_registration.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8081


class MissingSetting(Exception):
    """A required environment variable is not set."""


@dataclass(frozen=True, slots=True)
class SiteSettings:
    discovery_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    session_secret: str
    database: str = DEFAULT_DATABASE
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    @property
    def https(self) -> bool:
        """Cookies are Secure once the site itself is served over https."""
        return urlsplit(self.redirect_uri).scheme == "https"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SiteSettings:
        missing = [name for name in REQUIRED if not env.get(name)]
        if missing:
            raise MissingSetting("set " + ", ".join(missing) + " (see README.md)")
        return cls(
            discovery_url=env["EVENTS_DISCOVERY_URL"],
            client_id=env["EVENTS_CLIENT_ID"],
            client_secret=env["EVENTS_CLIENT_SECRET"],
            redirect_uri=env["EVENTS_REDIRECT_URI"],
            session_secret=env["EVENTS_SESSION_SECRET"],
            database=env.get("EVENTS_DATABASE", DEFAULT_DATABASE),
            host=env.get("EVENTS_HOST", DEFAULT_HOST),
            port=int(env.get("EVENTS_PORT", str(DEFAULT_PORT))),
        )
