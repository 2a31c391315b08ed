"""A real resonite-auth server (uvicorn over loopback) and the real CLI, for end-to-end tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.processes import stop_process, wait_until_ready

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    database_url: str
    workdir: Path
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            RESONITE_AUTH_DATABASE_URL=self.database_url,
            RESONITE_AUTH_ISSUER=self.url,
            RESONITE_AUTH_LOG_LEVEL="warning",
            **self.extra_env,
        )
        return env

    def cli(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(BIN / "resonite-auth"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.workdir,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"resonite-auth {' '.join(args)} failed: {result.stderr}")
        return result

    def cli_json(self, *args: str, stdin: str | None = None) -> Any:
        return json.loads(self.cli(*args, "--json", stdin=stdin).stdout)

    def create_user(
        self, username: str, password: str = "correct horse battery", **kw: Any
    ) -> dict[str, Any]:
        email = kw.get("email", f"{username.lower()}@example.com")
        args = ["users", "create", "--username", username, "--email", email, "--password-stdin"]
        if kw.get("admin"):
            args.append("--admin")
        user: dict[str, Any] = self.cli_json(*args, stdin=password + "\n")
        user["password"] = password
        return user

    def create_client(
        self,
        redirect_uris: list[str],
        *,
        name: str = "Test Application",
        scope: str = "openid profile email patreon offline_access",
        public: bool = False,
        approve: bool = True,
    ) -> dict[str, Any]:
        args = ["clients", "create", "--name", name, "--scope", scope]
        for uri in redirect_uris:
            args += ["--redirect-uri", uri]
        if public:
            args.append("--public")
        if approve:
            args.append("--approve")
        client: dict[str, Any] = self.cli_json(*args)
        return client

    def start(self) -> None:
        log = open(self.workdir / f"server-{self.port}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                *(str(BIN / "resonite-auth"), "serve", "--host", "127.0.0.1"),
                *("--port", str(self.port), "--workers", str(self.workers)),
            ],
            env=self.env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log_path = self.workdir / f"server-{self.port}.log"
        wait_until_ready(self.process, f"{self.url}/readyz", log_path, "server")

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None
