"""Load benchmark: resonite-auth beside node-oidc-provider and a bare Starlette ceiling.

Run from the repository root:  .venv/bin/python bench/run.py [--quick]
See bench/README.md. Everything listens on and is loaded over 127.0.0.1; every wrk run is
bounded in time, and the whole run stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import ceiling, node_peer, ours, report  # noqa: E402
from bench.harness.common import CODE_SCOPE, Prepared  # noqa: E402
from bench.harness.processes import HostTicks, Server, steal_share  # noqa: E402
from bench.harness.scale import explain, populate  # noqa: E402
from bench.harness.suite import Load, Measurement, Runner, describe, run_suite  # noqa: E402
from bench.harness.wrk import run_wrk  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, 4 connections only")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (10; quick: 3)")
    parser.add_argument("--connections", help="comma list (4,16; quick: 4)")
    parser.add_argument("--workers", default="1,2", help="comma list of worker counts")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma list")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--no-node", action="store_true", help="skip node-oidc-provider")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the Starlette ceiling")
    parser.add_argument("--no-scale", action="store_true", help="skip the 1M-token scale run")
    parser.add_argument("--scale-users", type=int, help="100000 (quick: 10000)")
    parser.add_argument("--scale-tokens", type=int, help="1000000 (quick: 100000)")
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    args = parser.parse_args()
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.scale_users = args.scale_users or (10_000 if args.quick else 100_000)
    args.scale_tokens = args.scale_tokens or (100_000 if args.quick else 1_000_000)
    connections = args.connections or ("4" if args.quick else "4,16")
    args.connections = [int(c) for c in connections.split(",")]
    args.workers = [int(w) for w in args.workers.split(",")]
    args.backends = args.backends.split(",")
    return args


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.results: list[Measurement] = []
        self.rss: dict[str, list[tuple[float, float]]] = {}
        self.scale_large: list[Measurement] = []
        self.plans: dict[str, str] = {}

    def load(self, connections: int) -> Load:
        return Load(connections, self.args.duration, self.args.threads, self.workdir)

    def keep_rss(self, label: str, server: Server) -> None:
        self.rss[label] = server.rss_mb()
        if helpers := server.helper_rss_mb():
            self.rss[f"{label}: password hashing process"] = helpers

    def ceiling(self, workers: int) -> None:
        server = ceiling.make_server(workers, self.workdir)
        server.start()
        try:
            for conns in self.args.connections:
                before = server.cpu()
                result = run_wrk(
                    server.url + "/",
                    "get.lua",
                    connections=conns,
                    duration=self.args.duration,
                    threads=self.args.threads,
                )
                after = server.cpu()
                cpu = (after.total - before.total) * 1000 / max(result.requests, 1)
                m = Measurement("ceiling", workers, conns, "fixed_json", result, cpu_ms=cpu)
                m.worker_shares = after.worker_shares(before)
                self.results.append(m)
                print(describe(m), flush=True)
            self.keep_rss(f"ceiling w{workers}", server)
        finally:
            server.stop()

    def node(self) -> None:
        node_peer.install()
        reason = node_peer.available()
        if reason:
            print(f"node-oidc-provider skipped: {reason}")
            return
        server = node_peer.make_server(self.workdir)
        server.start()
        try:
            prepared = node_peer.sign_in(server)
            for conns in self.args.connections:
                count = int(min(200_000, self.args.duration * 6000))

                def mint(_: list[str], count: int = count) -> list[str]:
                    return node_peer.mint_codes(server, count, CODE_SCOPE)

                runner = Runner(node_peer.NODE_LABEL, 1, prepared, self.load(conns), server.cpu)
                self.results += run_suite(runner, codes_for_exchange=mint, profile=False)
            self.keep_rss(f"{node_peer.NODE_LABEL} (1 process)", server)
        finally:
            server.stop()

    def ours(self, backend: str, workers: int) -> None:
        label = f"ours-{backend}"
        with fresh_database(backend, self.workdir) as url:
            server = ours.make_server(f"{label}-w{workers}", url, workers, self.workdir)
            ours.migrate(server, self.workdir)
            client_id, secret = ours.seed(server, self.workdir)
            server.start()
            try:
                prepared = ours.sign_in(server, client_id, secret)
                for conns in self.args.connections:
                    runner = Runner(label, workers, prepared, self.load(conns), server.cpu)
                    self.results += run_suite(runner, codes_for_exchange=list, profile=True)
                at_scale = backend == "postgresql" and not self.args.no_scale
                if at_scale and workers == max(self.args.workers):
                    self.scale(server, label, workers, prepared, url, client_id)
                self.keep_rss(f"{label} w{workers}", server)
            finally:
                server.stop()

    def scale(
        self,
        server: Server,
        label: str,
        workers: int,
        prepared: Prepared,
        url: str,
        client_id: str,
    ) -> None:
        seconds = populate(
            url, client_id, users=self.args.scale_users, tokens=self.args.scale_tokens
        )
        print(
            f"scale: {self.args.scale_users:,} users and {self.args.scale_tokens:,} tokens "
            f"inserted in {seconds:.0f}s",
            flush=True,
        )
        self.plans = explain(url)
        for name, plan in self.plans.items():
            print(f"plan of the {name}: {plan}", flush=True)
        for conns in self.args.connections:
            runner = Runner(label, workers, prepared, self.load(conns), server.cpu)
            access, _ = runner.exchange(runner.authorize())
            runner.resources(access[0], profile=True)
            wanted = ("profile", "token_code")
            self.scale_large += [m for m in runner.results if m.endpoint in wanted]


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    # Which build runs the servers matters (a tenth of the rate, bench/RESULTS.md): name it.
    interpreter = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{int(mem) / 1024 / 1024:.1f} GiB",
        "python": f"{platform.python_version()} ({interpreter})",
        "kernel": platform.release(),
    }


def main() -> None:
    args = arguments()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = ROOT / "var" / "bench" / stamp
    workdir.mkdir(parents=True)
    bench = Bench(args, workdir)
    started, ticks = time.monotonic(), HostTicks.now()
    print(f"machine: {machine()}", flush=True)
    if not args.no_ceiling:
        for workers in args.workers:
            bench.ceiling(workers)
    if not args.no_node:
        bench.node()
    for backend in args.backends:
        for workers in args.workers:
            bench.ours(backend, workers)
    small = [m for m in bench.results if m.target == "ours-postgresql"]
    steal = steal_share(ticks, HostTicks.now())
    head = [
        f"Command: `.venv/bin/python {' '.join(sys.argv)}` ({stamp})",
        "",
        "Machine: " + ", ".join(f"{key} {value}" for key, value in machine().items()),
        "",
        f"Host steal during the run: {100 * steal:.1f} % of the machine's CPU time (time the "
        "hypervisor gave to other guests; /proc/stat).",
        "",
        f"{args.duration:g} s per wrk run, {args.threads} wrk thread(s), connections "
        f"{', '.join(map(str, args.connections))}; scale run: {args.scale_users:,} users, "
        f"{args.scale_tokens:,} tokens.",
        "",
        "",
    ]
    text = "\n".join(head) + report.markdown(bench.results, bench.rss, small, bench.scale_large)
    if bench.plans:
        text += "\nPlans on the large database:\n\n" + "\n".join(
            f"- {name}: `{plan}`" for name, plan in bench.plans.items()
        )
    print("\n" + text)
    print(f"total time: {time.monotonic() - started:.0f}s; work files in {workdir}")
    (workdir / "results.json").write_text(
        json.dumps(
            {
                "machine": machine(),
                "argv": sys.argv,
                "results": [asdict(m) for m in bench.results],
                "scale": [asdict(m) for m in bench.scale_large],
                "rss": bench.rss,
                "host_steal_share": steal,
            },
            indent=1,
        )
    )
    if args.markdown:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
