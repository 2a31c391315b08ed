"""The example event registration site (examples/event_registration) as a real subprocess.

It is started the way an operator would start it: `python -m event_registration`, configured
only through its environment, with a client created through the server's CLI.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.live import free_port
from tests.support.processes import stop_process, wait_until_ready

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class EventSite:
    discovery_url: str
    client_id: str
    client_secret: str
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def redirect_uri(self) -> str:
        return f"{self.url}/auth/callback"

    @property
    def database(self) -> Path:
        return self.workdir / f"events-{self.port}.db"

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(EXAMPLES),
            EVENTS_DISCOVERY_URL=self.discovery_url,
            EVENTS_CLIENT_ID=self.client_id,
            EVENTS_CLIENT_SECRET=self.client_secret,
            EVENTS_REDIRECT_URI=self.redirect_uri,
            EVENTS_SESSION_SECRET=secrets.token_urlsafe(32),
            EVENTS_DATABASE=str(self.database),
            EVENTS_HOST="127.0.0.1",
            EVENTS_PORT=str(self.port),
        )
        log_path = self.workdir / f"events-{self.port}.log"
        log = open(log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "event_registration"],
            env=env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until_ready(self.process, f"{self.url}/healthz", log_path, "event site")

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None
