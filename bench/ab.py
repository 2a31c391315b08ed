"""A/B: two revisions of resonite-auth, both up at once, wrk alternating between them.

On a shared virtual machine one server's rate can drift by a tenth to a third within minutes, so
two servers measured one after the other differ by the drift as much as by their code. Here
both run at once, each on a fresh database of its own, and wrk alternates between them in short
runs, the order swapped every round. On some machines the server started first measured faster
than the other whatever its code: `--orders both` (the default) runs the comparison once in
each start order. What is reported per server is the median over its rounds.

Run from the repository root, after `bash scripts/setup`:

    .venv/bin/python bench/ab.py --before HEAD~1 --backend sqlite --endpoint token_code

`--before` is any git revision; `--after` is the working tree. The before code is checked out as
a git worktree under var/bench/ and imported through PYTHONPATH by the same virtualenv, so both
revisions must run on the same dependencies. Loopback only; every wrk run is bounded in time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import ours  # noqa: E402
from bench.harness.common import Prepared  # noqa: E402
from bench.harness.processes import Server  # noqa: E402
from bench.harness.suite import ENDPOINTS, Load, Measurement, Runner, prepare  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402

SIDES = ("before", "after")


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", required=True, help="git revision to compare against")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--endpoint", choices=ENDPOINTS, default="token_code")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=6, help="measured runs per server")
    parser.add_argument("--seconds", type=int, default=4, help="length of a measured run")
    parser.add_argument("--orders", choices=("both", "before-first", "after-first"), default="both")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.seconds < 1 or args.workers < 1 or args.connections < 1:
        parser.error("--rounds, --seconds, --workers and --connections must be at least 1")
    return args


def start_orders(orders: str) -> list[tuple[str, str]]:
    """The start orders to run: each is (started first, started second)."""
    if orders == "both":
        return [("before", "after"), ("after", "before")]
    first = orders.removesuffix("-first")
    return [(first, "after" if first == "before" else "before")]


def round_order(first: str, second: str, round_index: int) -> tuple[str, str]:
    """Who is measured first in a round: swapped every round, so that neither always follows
    the other's run."""
    return (first, second) if round_index % 2 == 0 else (second, first)


@dataclass(frozen=True)
class Summary:
    side: str
    rounds: int
    rate: float  # medians over the rounds
    cpu_ms: float | None
    p50_ms: float
    p99_ms: float


def summarise(side: str, measurements: Sequence[Measurement]) -> Summary:
    """Medians of one server's measured runs; a run that completed nothing is an error."""
    runs = [m for m in measurements if m.result is not None]
    if not runs or len(runs) != len(measurements):
        raise RuntimeError(f"{side}: a measured run has no result")
    cpus = [m.cpu_ms for m in runs if m.cpu_ms is not None]
    return Summary(
        side=side,
        rounds=len(runs),
        rate=statistics.median(m.rate for m in runs),
        cpu_ms=statistics.median(cpus) if len(cpus) == len(runs) else None,
        p50_ms=statistics.median(m.result.p50_ms for m in runs if m.result),
        p99_ms=statistics.median(m.result.p99_ms for m in runs if m.result),
    )


def comparison(before: Summary, after: Summary) -> str:
    """One line: after against before."""
    cpu = ""
    if before.cpu_ms is not None and after.cpu_ms is not None:
        cpu = f"; CPU per op {before.cpu_ms:.3f} -> {after.cpu_ms:.3f} ms"
    return (
        f"rate {before.rate:,.0f} -> {after.rate:,.0f}/s ({after.rate / before.rate - 1:+.1%})"
        f"{cpu}; p50 {before.p50_ms:.2f} -> {after.p50_ms:.2f} ms; "
        f"p99 {before.p99_ms:.2f} -> {after.p99_ms:.2f} ms"
    )


def measure(
    server: Server, workers: int, prepared: Prepared, endpoint: str, load: Load
) -> Measurement:
    """One run of `endpoint`, after the short runs that mint what it consumes (codes, tokens),
    which are not counted."""
    runner = Runner(server.name, workers, prepared, load, server.cpu)
    prepare(runner, endpoint)()
    return runner.results[-1]


def worktree(revision: str, into: Path) -> Path:
    """The revision's source, checked out under `into`; exits with git's message if it cannot."""
    added = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), revision],
        capture_output=True,
        text=True,
        check=False,
    )
    if added.returncode != 0:
        raise SystemExit(f"cannot check out {revision!r}: {added.stderr.strip()}")
    return into


def compare_once(
    args: argparse.Namespace, before_src: Path, workdir: Path, order: tuple[str, str]
) -> dict[str, Summary]:
    """Both servers started in `order`, then `args.rounds` alternated rounds."""
    measured: dict[str, list[Measurement]] = {side: [] for side in SIDES}
    with (
        fresh_database(args.backend, workdir) as before_url,
        fresh_database(args.backend, workdir) as after_url,
    ):
        urls = {"before": before_url, "after": after_url}
        servers: dict[str, Server] = {}
        credentials: dict[str, tuple[str, str]] = {}
        for side in SIDES:
            folder = workdir / f"{order[0]}-first" / side
            folder.mkdir(parents=True)
            server = ours.make_server(f"{side}-{args.backend}", urls[side], args.workers, folder)
            if side == "before":
                server.env["PYTHONPATH"] = str(before_src)
            ours.migrate(server, folder)
            credentials[side] = ours.seed(server, folder)
            servers[side] = server
        try:
            for side in order:
                servers[side].start()
            prepared = {side: ours.sign_in(servers[side], *credentials[side]) for side in SIDES}
            for index in range(args.rounds):
                for side in round_order(*order, index):
                    server = servers[side]
                    load = Load(args.connections, args.seconds, 1, server.log_path.parent)
                    measured[side].append(
                        measure(server, args.workers, prepared[side], args.endpoint, load)
                    )
        finally:
            for server in servers.values():
                server.stop()
    return {side: summarise(side, measured[side]) for side in SIDES}


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> None:
    args = arguments(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = ROOT / "var" / "bench" / f"ab-{stamp}"
    workdir.mkdir(parents=True)
    before_src = worktree(args.before, workdir / "before-checkout") / "src"
    try:
        out(
            f"A/B {args.before} (before) against the working tree (after): {args.backend}, "
            f"{args.endpoint}, {args.workers} worker(s), {args.connections} connections, "
            f"{args.rounds} rounds of {args.seconds} s"
        )
        for order in start_orders(args.orders):
            summaries = compare_once(args, before_src, workdir, order)
            out(f"{order[0]} started first: {comparison(summaries['before'], summaries['after'])}")
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before_src.parent)],
            check=False,
            capture_output=True,
        )


if __name__ == "__main__":
    main()
