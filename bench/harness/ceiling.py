"""The bare Starlette + uvicorn server (bench/peers/ceiling.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.harness.processes import Server, free_port

PEERS = Path(__file__).resolve().parent.parent / "peers"


def make_server(workers: int, workdir: Path) -> Server:
    port = free_port()
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
        ],
        port=port,
        ready_path="/",
        log_path=workdir / f"ceiling-w{workers}.log",
    )
