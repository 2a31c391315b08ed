"""The measurements of one target at one concurrency, in the order the data needs them.

discovery, JWKS → authorize (prompt=none, mints the codes) → code exchange (keeps the tokens)
→ refresh → profile API, userinfo → introspection → whole flows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness.common import CODE_SCOPE, FLOW_SCOPE, Prepared
from bench.harness.processes import CpuReading
from bench.harness.wrk import WrkResult, collect_lines, run_wrk

NOT_AVAILABLE = "not available: the server's discovery has no introspection_endpoint"
# What `prepare` can set up a run of.
ENDPOINTS = ("profile", "userinfo", "token_code", "token_refresh", "introspect", "authorize")


@dataclass
class Measurement:
    target: str
    workers: int
    connections: int
    endpoint: str
    result: WrkResult | None
    note: str = ""
    operations: bool = False  # rate = completed operations (ok), not raw requests
    cpu_ms: float | None = None  # server CPU time per request, milliseconds
    worker_shares: tuple[float, ...] = ()  # each worker's share of the CPU, largest first

    @property
    def rate(self) -> float:
        if self.result is None:
            return 0.0
        return self.result.ok_per_s if self.operations else self.result.requests_per_s


@dataclass
class Load:
    """How hard and how long: one wrk run per measurement."""

    connections: int
    duration: float
    threads: int
    workdir: Path


class Runner:
    def __init__(
        self,
        target: str,
        workers: int,
        prepared: Prepared,
        load: Load,
        cpu: Callable[[], CpuReading] | None = None,
    ) -> None:
        self.target, self.workers, self.prepared, self.load = target, workers, prepared, load
        self.cpu = cpu
        self.results: list[Measurement] = []
        self._cpu_s: float | None = None
        self._shares: tuple[float, ...] = ()

    def wrk(self, endpoint: str, path: str, script: str, **extra: str) -> WrkResult:
        env = {**self.prepared.lua_env(), **extra}
        before = self.cpu() if self.cpu else None
        result = run_wrk(
            self.prepared.url + path,
            script,
            connections=self.load.connections,
            duration=self.load.duration,
            threads=self.load.threads,
            env=env,
        )
        if before is not None and self.cpu is not None:
            after = self.cpu()
            self._cpu_s = after.total - before.total
            self._shares = after.worker_shares(before)
        return result

    def record(
        self, endpoint: str, result: WrkResult | None, *, note: str = "", ops: bool = False
    ) -> None:
        measurement = Measurement(
            self.target,
            self.workers,
            self.load.connections,
            endpoint,
            result,
            note,
            ops,
            cpu_ms_per(self._cpu_s, result, ops=ops),
            self._shares,
        )
        self._cpu_s, self._shares = None, ()
        self.results.append(measurement)
        print(describe(measurement), flush=True)

    def data_file(self, name: str, lines: list[str]) -> Path:
        path = self.load.workdir / f"{self.target}-w{self.workers}-c{self.load.connections}-{name}"
        path.write_text("\n".join(lines) + "\n")
        return path

    def out_prefix(self, name: str) -> Path:
        return self.load.workdir / f"{self.target}-w{self.workers}-c{self.load.connections}-{name}"

    def reads(self) -> None:
        discovery = self.wrk("discovery", "/.well-known/openid-configuration", "get.lua")
        self.record("discovery", discovery)
        jwks = self.prepared.path_of("jwks_uri")
        assert jwks is not None
        self.record("jwks", self.wrk("jwks", jwks, "get.lua"))

    def authorize(self) -> list[str]:
        """Authorization requests of a signed-in browser; their codes are returned."""
        out = self.out_prefix("codes")
        path = self.prepared.authorize_path(CODE_SCOPE, prompt_none=True)
        result = self.wrk("authorize", path, "authorize.lua", BENCH_OUT=str(out))
        self.record("authorize", result, ops=True)
        return collect_lines(out)

    def exchange(self, codes: list[str]) -> tuple[list[str], list[str]]:
        """Code exchange with one code per request; returns (access, refresh) tokens."""
        out = self.out_prefix("tokens")
        result = self.wrk(
            "token_code",
            "/connect/token",
            "token_code.lua",
            BENCH_DATA=str(self.data_file("codes", codes)),
            BENCH_OUT=str(out),
        )
        self.record("token_code", result, ops=True)
        pairs = [line.split(" ") for line in collect_lines(out)]
        return [p[0] for p in pairs], [p[1] for p in pairs if len(p) > 1 and p[1] != "-"]

    def refresh(self, refresh_tokens: list[str]) -> None:
        if not refresh_tokens:
            self.record("token_refresh", None, note="no refresh tokens were issued")
            return
        data = self.data_file("refresh", refresh_tokens)
        result = self.wrk(
            "token_refresh", "/connect/token", "token_refresh.lua", BENCH_DATA=str(data)
        )
        self.record("token_refresh", result, ops=True)

    def resources(self, access_token: str, *, profile: bool) -> None:
        bearer = f"Bearer {access_token}"
        if profile:
            self.record(
                "profile", self.wrk("profile", "/api/user/profiles", "get.lua", BENCH_AUTH=bearer)
            )
        userinfo = self.prepared.path_of("userinfo_endpoint") or "/connect/userinfo"
        self.record("userinfo", self.wrk("userinfo", userinfo, "get.lua", BENCH_AUTH=bearer))

    def introspect(self, access_tokens: list[str]) -> None:
        path = self.prepared.path_of("introspection_endpoint")
        if path is None:
            self.record("introspect", None, note=NOT_AVAILABLE)
            return
        data = self.data_file("access", access_tokens[:2000])
        result = self.wrk("introspect", path, "introspect.lua", BENCH_DATA=str(data))
        self.record("introspect", result, ops=True)

    def flows(self) -> None:
        path = self.prepared.authorize_path(FLOW_SCOPE, prompt_none=False)
        self.record("flow", self.wrk("flow", "/", "flow.lua", BENCH_AUTHORIZE=path), ops=True)


def run_suite(
    runner: Runner,
    *,
    codes_for_exchange: Callable[[list[str]], list[str]],
    profile: bool,
) -> list[Measurement]:
    """Every measurement of a prepared target; `codes_for_exchange` picks the codes to redeem
    given the ones the authorize run produced (a peer may mint its own instead)."""
    runner.reads()
    minted = runner.authorize()
    access, refresh_tokens = runner.exchange(codes_for_exchange(minted))
    runner.refresh(refresh_tokens)
    if not access:
        raise RuntimeError(f"{runner.target}: the code exchange issued no access token")
    runner.resources(access[0], profile=profile)
    runner.introspect(access)
    runner.flows()
    return runner.results


def cpu_ms_per(cpu_s: float | None, result: WrkResult | None, *, ops: bool) -> float | None:
    """Server CPU milliseconds per request, or per completed operation (a whole flow is several
    requests). Steadier than rates when other work shares the machine."""
    if cpu_s is None or result is None:
        return None
    count = result.ok if ops else result.requests
    return cpu_s * 1000 / count if count else None


def describe(m: Measurement) -> str:
    head = f"{m.target:<18} w{m.workers} c{m.connections:<3} {m.endpoint:<14}"
    if m.result is None:
        return f"{head} {m.note}"
    r = m.result
    unit = "ops/s" if m.operations else "req/s"
    errors = f" errors={r.errors}" if r.errors else ""
    cut = f" (items ran out after {r.active_s:.1f}s)" if r.exhausted else ""
    per = "op" if m.operations else "req"
    cpu = f"  cpu {m.cpu_ms:.2f} ms/{per}" if m.cpu_ms is not None else ""
    split = f"  workers {split_text(m.worker_shares)}" if m.worker_shares else ""
    return (
        f"{head} {m.rate:9.1f} {unit}  p50 {r.p50_ms:7.2f} ms  p99 {r.p99_ms:7.2f} ms"
        f"{cpu}{split}{errors}{cut}"
    )


def split_text(shares: tuple[float, ...]) -> str:
    """Workers' shares of the CPU in percent, largest first: `50/50` is an even split."""
    return "/".join(f"{share * 100:.0f}" for share in shares)


def prepare(runner: Runner, endpoint: str) -> Callable[[], object]:
    """Mint what `endpoint` consumes with short runs of `runner` (3 s each); returns the run to
    measure, of `runner`'s own length."""
    duration = runner.load.duration
    if endpoint == "authorize":
        return runner.authorize
    runner.load.duration = 3
    codes = runner.authorize()
    if endpoint == "token_code":
        runner.load.duration = duration
        return lambda: runner.exchange(codes)
    access, refresh_tokens = runner.exchange(codes)
    runner.load.duration = duration
    if endpoint == "token_refresh":
        return lambda: runner.refresh(refresh_tokens)
    if endpoint == "introspect":
        return lambda: runner.introspect(access)
    return lambda: runner.resources(access[0], profile=endpoint == "profile")
