"""resonite-auth under test: its CLI prepares the data, its own pages sign the person in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.harness.common import CODE_SCOPE, REDIRECT_URI, Prepared, cookie_header, discovery_of
from bench.harness.processes import Server, free_port
from tests.support.user_agent import UserAgent

BIN = Path(sys.executable).parent
USERNAME = "BenchUser"
PASSWORD = "correct horse battery staple"


def server_env(database_url: str, port: int) -> dict[str, str]:
    return {
        "RESONITE_AUTH_DATABASE_URL": database_url,
        "RESONITE_AUTH_ISSUER": f"http://127.0.0.1:{port}",
        "RESONITE_AUTH_LOG_LEVEL": "warning",
        # Codes are pre-minted before the exchange run; the default 60 s would expire them.
        "RESONITE_AUTH_AUTHORIZATION_CODE_TTL": "900",
    }


def cli(env: dict[str, str], workdir: Path, *args: str, stdin: str | None = None) -> object:
    result = subprocess.run(
        [str(BIN / "resonite-auth"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=workdir,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"resonite-auth {' '.join(args)} failed: {result.stderr}")
    return json.loads(result.stdout) if "--json" in args else None


def migrate(server: Server, workdir: Path) -> None:
    cli(server.env, workdir, "migrate")


def make_server(name: str, database_url: str, workers: int, workdir: Path) -> Server:
    port = free_port()
    return Server(
        name=name,
        command=[
            str(BIN / "resonite-auth"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        port=port,
        ready_path="/readyz",
        log_path=workdir / f"{name}.log",
        env=server_env(database_url, port),
        cwd=workdir,
    )


def seed(server: Server, workdir: Path) -> tuple[str, str]:
    """A user and an approved confidential client, through the CLI; returns the credentials."""
    cli(
        server.env,
        workdir,
        "users",
        "create",
        "--username",
        USERNAME,
        "--email",
        "bench@example.com",
        "--password-stdin",
        "--json",
        stdin=PASSWORD + "\n",
    )
    client = cli(
        server.env,
        workdir,
        "clients",
        "create",
        "--name",
        "Benchmark Application",
        "--scope",
        "openid profile email offline_access",
        "--redirect-uri",
        REDIRECT_URI,
        "--approve",
        "--json",
    )
    assert isinstance(client, dict)
    return str(client["client_id"]), str(client["client_secret"])


def sign_in(server: Server, client_id: str, client_secret: str) -> Prepared:
    """Sign in and consent through the real pages, as a browser would; keep its cookies."""
    prepared = Prepared(server.url, client_id, client_secret, "", discovery_of(server.url))
    agent = UserAgent(server.url)
    try:
        page = agent.go(server.url + prepared.authorize_path(CODE_SCOPE, prompt_none=False))
        if 'name="password"' in page.text:
            page = agent.sign_in(page, USERNAME, PASSWORD)
        if 'name="decision"' in page.text:
            page = agent.decide(page, "allow")
        target = agent.redirect_target(page)
        if "code=" not in target:
            raise RuntimeError(f"sign-in did not end with a code: {target}")
        prepared.cookie = cookie_header(agent.http)
    finally:
        agent.close()
    return prepared
