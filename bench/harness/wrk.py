"""Running wrk (Debian's `wrk`, 4.x) with the Lua scripts in bench/lua, and reading its result.

Every script ends with `done()` from common.lua, which prints one line
`BENCH-RESULT {json}`; `parse_result` reads it. Scripts that consume pre-minted items (codes,
refresh tokens) stop their thread when the items run out; wrk then still waits out the duration,
so the rate is taken over the span in which operations completed (`active_us`).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent.parent / "lua"
MARKER = "BENCH-RESULT "


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    status_errors: int
    socket_errors: int
    ok: int
    bad: int
    exhausted: bool
    active_s: float

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def ok_per_s(self) -> float:
        """Completed operations per second (flows, exchanges); over the active span if cut short."""
        span = self.active_s if self.exhausted and self.active_s else self.duration_s
        return self.ok / span if span else 0.0

    @property
    def errors(self) -> int:
        return self.status_errors + self.socket_errors + self.bad


def parse_result(output: str) -> WrkResult:
    """The figures of one wrk run, from the BENCH-RESULT line its Lua `done()` printed."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            break
    else:
        raise ValueError(f"no {MARKER.strip()} line in wrk output:\n{output[-2000:]}")
    return WrkResult(
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1e3,
        p90_ms=data["p90_us"] / 1e3,
        p99_ms=data["p99_us"] / 1e3,
        max_ms=data["max_us"] / 1e3,
        status_errors=int(data["status_errors"]),
        socket_errors=int(data["socket_errors"]),
        ok=int(data["ok"]),
        bad=int(data["bad"]),
        exhausted=int(data["exhausted"]) > 0,
        active_s=data["active_us"] / 1e6,
    )


def run_wrk(
    url: str,
    script: str,
    *,
    connections: int,
    duration: float,
    threads: int = 1,
    env: dict[str, str] | None = None,
) -> WrkResult:
    """One bounded wrk run against a loopback URL."""
    if not url.startswith(("http://127.0.0.1:", "http://[::1]:", "http://localhost:")):
        raise ValueError(f"benchmarks target loopback only, not {url}")
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA / script),
        url,
    ]
    result = subprocess.run(
        command,
        cwd=LUA,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr[-2000:]}")
    return parse_result(result.stdout)


def collect_lines(prefix: Path) -> list[str]:
    """Lines written by every thread to `<prefix>.<thread>`; the files are removed."""
    lines: list[str] = []
    for path in sorted(prefix.parent.glob(prefix.name + ".*")):
        lines += [line for line in path.read_text().splitlines() if line.strip()]
        path.unlink()
    return lines
