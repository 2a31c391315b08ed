"""node-oidc-provider under test (bench/peers/node/server.mjs), prepared like ours.

The browser signs in and consents through the provider's own interaction pages (its
devInteractions); codes for the exchange run are minted through its model API (its Adapter),
since it drops `offline_access` from authorization requests without `prompt=consent`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx

from bench.harness.common import (
    CHALLENGE,
    FLOW_SCOPE,
    REDIRECT_URI,
    Prepared,
    cookie_header,
    discovery_of,
)
from bench.harness.processes import Server, free_port
from tests.support.user_agent import UserAgent

NODE_DIR = Path(__file__).resolve().parent.parent / "peers" / "node"
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret-bench-secret-bench-secret"
ACCOUNT = "U-bench-peer"
NODE_LABEL = "node-oidc-provider"


def available() -> str | None:
    """Why the peer cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        return "run `npm ci` in bench/peers/node first"
    return None


def install() -> None:
    """`npm ci` from the committed lock file (the registry, pinned versions)."""
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=600
        )


def make_server(workdir: Path) -> Server:
    port = free_port()
    return Server(
        name="node-oidc-provider",
        command=["node", "server.mjs"],
        port=port,
        ready_path="/.well-known/openid-configuration",
        log_path=workdir / "node-oidc-provider.log",
        env={
            "PORT": str(port),
            "BENCH_CLIENT_ID": CLIENT_ID,
            "BENCH_CLIENT_SECRET": CLIENT_SECRET,
            "BENCH_REDIRECT_URI": REDIRECT_URI,
            "NODE_ENV": "production",
        },
        cwd=NODE_DIR,
    )


def sign_in(server: Server) -> Prepared:
    prepared = Prepared(server.url, CLIENT_ID, CLIENT_SECRET, "", discovery_of(server.url))
    agent = UserAgent(server.url)
    try:
        page = agent.go(server.url + prepared.authorize_path(FLOW_SCOPE, prompt_none=False))
        if 'name="login"' in page.text:
            page = agent.submit(page, {"login": ACCOUNT, "password": "any"})
        if 'name="prompt" value="consent"' in page.text:
            page = agent.submit(page, {})
        target = agent.redirect_target(page)
        if "code=" not in target:
            raise RuntimeError(f"sign-in did not end with a code: {target}")
        prepared.cookie = cookie_header(agent.http)
    finally:
        agent.close()
    return prepared


def mint_codes(server: Server, count: int, scope: str) -> list[str]:
    response = httpx.post(
        f"{server.url}/bench/mint",
        params={"n": str(count), "scope": scope, "challenge": CHALLENGE.decode()},
        timeout=300,
    )
    response.raise_for_status()
    return [line for line in response.text.splitlines() if line]
