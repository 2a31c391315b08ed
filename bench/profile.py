"""Where one endpoint spends its CPU: py-spy samples the worker while wrk loads the endpoint.

Run from the repository root (py-spy is not a project dependency):

    .venv/bin/pip install py-spy
    .venv/bin/python bench/profile.py --backend sqlite --endpoint profile

Prints the functions with the most samples, inclusive and on-CPU-self, and keeps py-spy's
collapsed stacks (flamegraph input) in var/bench/. Loopback only, bounded in time.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import ours  # noqa: E402
from bench.harness.suite import ENDPOINTS, Load, Runner, prepare  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--endpoint", choices=ENDPOINTS, default="profile")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the sampled run")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--top", type=int, default=40, help="functions listed")
    return parser.parse_args()


# Leaf frames where a thread waits rather than works: the event loop's poll, aiosqlite's queue.
IDLE_LEAVES = ("Runner.run (asyncio/runners.py", "_connection_worker_thread (aiosqlite/core.py:59)")


def function_of(frame: str) -> str:
    """`name (file:line)` → `name (file)`: one entry per function, whatever line ran."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def summarise(collapsed: Path, top: int) -> str:
    """Inclusive and self shares per function of the busy samples (waiting left out)."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    busy = idle = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if frame]
        if not frames or frames[-1].startswith(IDLE_LEAVES):
            idle += count
            continue
        busy += count
        own[function_of(frames[-1])] += count
        for function in {function_of(frame) for frame in frames}:
            inclusive[function] += count
    lines = [f"{busy} busy samples ({idle} waiting, left out)"]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"\n--- {title} ---")
        for function, count in counter.most_common(top):
            lines.append(f"{100 * count / max(busy, 1):5.1f}%  {function}")
    return "\n".join(lines)


def main() -> None:
    args = arguments()
    if shutil.which("py-spy") is None and not (Path(sys.executable).parent / "py-spy").exists():
        sys.exit("py-spy is missing: .venv/bin/pip install py-spy")
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = ROOT / "var" / "bench" / f"profile-{stamp}"
    workdir.mkdir(parents=True)
    with fresh_database(args.backend, workdir) as url:
        server = ours.make_server(f"ours-{args.backend}", url, 1, workdir)
        ours.migrate(server, workdir)
        client_id, secret = ours.seed(server, workdir)
        server.start()
        try:
            prepared = ours.sign_in(server, client_id, secret)
            load = Load(args.connections, args.seconds, 1, workdir)
            runner = Runner(server.name, 1, prepared, load)
            sampled_run = prepare(runner, args.endpoint)
            collapsed = workdir / f"{args.endpoint}.collapsed"
            sampler = subprocess.Popen(
                [
                    py_spy,
                    "record",
                    *("-p", str(server.workers()[0]), "-r", "500", "-d", str(int(args.seconds))),
                    *("-f", "raw", "-o", str(collapsed), "--nonblocking"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)
            sampled_run()
            sampler.wait(timeout=args.seconds + 30)
        finally:
            server.stop()
    print(summarise(collapsed, args.top))
    print(f"\ncollapsed stacks: {collapsed}")


if __name__ == "__main__":
    main()
