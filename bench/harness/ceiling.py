"""The bare Starlette + uvicorn server (bench/peers/ceiling.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.harness.processes import Server, free_port
from resonite_auth.web.balanced_accept import TABLE_ENV, WorkerTable
from resonite_auth.web.one_send import UVICORN_HTTP

PEERS = Path(__file__).resolve().parent.parent / "peers"


def make_server(workers: int, workdir: Path) -> Server:
    """uvicorn as `resonite-auth serve` runs it: its HTTP protocol that sends each response in
    one send (resonite_auth/web/one_send.py) and, with several workers, the same even spread of
    connections over them (resonite_auth/web/balanced_accept.py)."""
    port = free_port()
    balanced: list[str] = []
    env: dict[str, str] = {}
    if workers > 1:
        balanced = ["--loop", "resonite_auth.web.balanced_accept:BalancedLoop"]
        env[TABLE_ENV] = str(WorkerTable.create(workdir))
    return Server(
        name=f"ceiling-w{workers}",
        command=[
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(PEERS),
            "ceiling:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--http",
            UVICORN_HTTP,
            *balanced,
        ],
        env=env,
        port=port,
        ready_path="/",
        log_path=workdir / f"ceiling-w{workers}.log",
    )
