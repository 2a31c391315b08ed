"""The load benchmark's result parsing and report arithmetic (bench/harness); no load is run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import ab
from bench.harness.processes import HELPER_MARK, CpuReading, HostTicks, Server, steal_share
from bench.harness.report import markdown
from bench.harness.suite import Measurement, cpu_ms_per
from bench.harness.wrk import WrkResult, parse_result, run_wrk
from bench.profile import summarise

WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:8080/connect/token
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.01ms    1.20ms  30.00ms   90.00%
    Req/Sec   800.00     50.00     0.90k    70.00%
  2400 requests in 3.00s, 1.20MB read
Requests/sec:    800.00
Transfer/sec:    409.60KB
BENCH-RESULT {"requests": 2400, "duration_us": 3000000, "p50_us": 4800, "p90_us": 6100, \
"p99_us": 12500, "max_us": 30000, "status_errors": 2, "socket_errors": 1, "ok": 2397, \
"bad": 3, "exhausted": 0, "active_us": 2999000}
"""


def result(**changes: object) -> WrkResult:
    base = parse_result(WRK_OUTPUT)
    return WrkResult(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_parses_the_line_printed_by_done() -> None:
    parsed = parse_result(WRK_OUTPUT)
    assert parsed.requests == 2400
    assert parsed.duration_s == 3.0
    assert (parsed.p50_ms, parsed.p90_ms, parsed.p99_ms, parsed.max_ms) == (4.8, 6.1, 12.5, 30.0)
    assert parsed.requests_per_s == 800.0
    assert parsed.ok_per_s == 799.0
    assert parsed.errors == 2 + 1 + 3
    assert parsed.exhausted is False


def test_operations_are_counted_over_the_active_span_when_items_ran_out() -> None:
    cut = result(ok=1000, exhausted=True, active_s=2.0)
    assert cut.ok_per_s == 500.0
    assert cut.requests_per_s == 800.0  # wrk's own figure still covers the whole run


def test_cpu_is_counted_per_request_or_per_completed_operation() -> None:
    parsed = parse_result(WRK_OUTPUT)
    assert cpu_ms_per(2.4, parsed, ops=False) == 1.0
    assert cpu_ms_per(2.397, parsed, ops=True) == 1.0
    assert cpu_ms_per(None, parsed, ops=False) is None
    assert cpu_ms_per(1.0, result(ok=0), ops=True) is None


def test_output_without_a_result_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="BENCH-RESULT"):
        parse_result("Running 3s test @ http://127.0.0.1:1/\nunable to connect\n")


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1:80/", "https://example.com/", "http://0.0.0.0:1/"]
)
def test_load_is_only_ever_sent_to_loopback(url: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        run_wrk(url, "get.lua", connections=4, duration=1)


def test_report_prints_figures_and_ratios_to_peer_and_ceiling() -> None:
    ours = Measurement("ours-postgresql", 2, 4, "profile", result(requests=3000), cpu_ms=0.5)
    node = Measurement("node-oidc-provider", 1, 4, "userinfo", result(requests=1500))
    ceiling = Measurement("ceiling", 2, 4, "fixed_json", result(requests=6000))
    missing = Measurement("ours-postgresql", 2, 4, "introspect", None, note="not available: x")
    rss = {"ours-postgresql w2": [(80.0, 70.2), (81.4, 71.0)]}
    text = markdown([ours, node, ceiling, missing], rss, [], [])
    assert "| profile | 1,000 (4.8/12.5, 6 err) | - |" in text
    # profile is set beside the peer's userinfo; the ceiling at the same worker count.
    assert "| profile | 2.00x | 0.50x |" in text
    assert "| ours-postgresql w2 | 80, 81 | 70, 71 |" in text
    assert "- not available: x" in text
    assert "| profile | 0.50 | - |" in text  # server CPU per request


def test_profile_summary_counts_functions_once_per_stack_and_leaves_waiting_out(
    tmp_path: Path,
) -> None:
    collapsed = tmp_path / "stacks.collapsed"
    collapsed.write_text(
        "run (app.py:1);handle (app.py:5);handle (app.py:7);query (db.py:3) 6\n"
        "run (app.py:1);handle (app.py:5);encode (json.py:2) 2\n"
        "Runner.run (asyncio/runners.py:118) 90\n"
        "bootstrap;_connection_worker_thread (aiosqlite/core.py:59) 10\n"
        "\n"
    )
    summary = summarise(collapsed, top=10)
    assert summary.startswith("8 busy samples (100 waiting, left out)")
    inclusive, own = summary.split("--- self ---")
    # `handle` appears on two lines of one stack: counted once per sample, not twice.
    assert "100.0%  handle (app.py)" in inclusive
    assert " 75.0%  query (db.py)" in inclusive
    assert " 75.0%  query (db.py)" in own
    assert " 25.0%  encode (json.py)" in own
    assert "handle" not in own


def test_host_steal_is_read_from_proc_stat() -> None:
    before = HostTicks.parse("cpu  100 0 50 800 10 0 5 35 7 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    after = HostTicks.parse("cpu  200 0 100 1500 10 0 5 185 9 0\n")
    assert (before.steal, before.total) == (35, 1000)  # guest time is already in user
    assert steal_share(before, after) == pytest.approx(150 / 1000)
    assert steal_share(after, after) == 0.0


def test_each_workers_share_of_the_cpu_is_reported_largest_first() -> None:
    before = CpuReading(total=10.0, by_worker={11: 4.0, 12: 5.0})
    after = CpuReading(total=14.1, by_worker={11: 7.0, 12: 6.0})
    assert after.worker_shares(before) == pytest.approx((0.75, 0.25))
    # One worker, no work, or a worker that was not there before: no split to report.
    assert CpuReading(1.0, {11: 1.0}).worker_shares(CpuReading(0.0, {11: 0.0})) == ()
    assert before.worker_shares(before) == ()
    assert CpuReading(2.0, {13: 2.0, 12: 5.0}).worker_shares(before) == ()

    lopsided = Measurement("ours-sqlite", 2, 4, "profile", result(), worker_shares=(0.75, 0.25))
    even = Measurement("ceiling", 2, 4, "fixed_json", result(), worker_shares=(0.5, 0.5))
    text = markdown([lopsided, even], {}, [], [])
    assert "each worker's share of the server CPU" in text
    assert "| profile | 75/25 |" in text
    assert "| ceiling w2 | 50/50 |" in text


def test_a_servers_hashing_process_is_told_apart_from_its_workers(tmp_path: Path) -> None:
    """The master starts two children that sleep; one carries the hashing process's mark."""
    sleeper = "import time; time.sleep(60)"
    master = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {sleeper!r}])\n"
        f"subprocess.Popen([sys.executable, '-c', {sleeper!r}, {HELPER_MARK!r}])\n"
        "time.sleep(60)\n"
    )
    server = Server("fake", [sys.executable, "-c", master], 0, "/", tmp_path / "log")
    server.process = subprocess.Popen(server.command, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while len(server.workers()) + len(server.helpers()) < 2 or server.workers() == [
            server.process.pid
        ]:
            assert time.monotonic() < deadline, "the children did not start"
            time.sleep(0.05)
        (worker,), (helper,) = server.workers(), server.helpers()
        assert HELPER_MARK.encode() in Path(f"/proc/{helper}/cmdline").read_bytes()
        assert worker not in (helper, server.process.pid)
        assert len(server.rss_mb()) == 1 and len(server.helper_rss_mb()) == 1
        assert set(server.cpu().by_worker) == {worker}
    finally:
        server.stop()


def measured(rate: float, cpu_ms: float | None, p50_ms: float, p99_ms: float) -> Measurement:
    run = result(requests=int(rate * 3), duration_s=3.0, p50_ms=p50_ms, p99_ms=p99_ms)
    return Measurement("ours", 2, 16, "profile", run, cpu_ms=cpu_ms)


def test_ab_runs_both_start_orders_and_swaps_who_goes_first_every_round() -> None:
    assert ab.start_orders("both") == [("before", "after"), ("after", "before")]
    assert ab.start_orders("after-first") == [("after", "before")]
    assert ab.start_orders("before-first") == [("before", "after")]
    rounds = [ab.round_order("after", "before", index) for index in range(3)]
    assert rounds == [("after", "before"), ("before", "after"), ("after", "before")]


def test_ab_summary_is_the_median_of_each_figure_over_the_rounds() -> None:
    runs = [
        measured(800, 1.2, 5.0, 20.0),
        measured(1000, 1.0, 4.0, 12.0),
        measured(900, 1.1, 4.5, 30.0),
    ]
    summary = ab.summarise("after", runs)
    assert (summary.rounds, summary.rate, summary.cpu_ms) == (3, 900, 1.1)
    assert (summary.p50_ms, summary.p99_ms) == (4.5, 20.0)
    before = ab.summarise("before", [measured(800, 1.25, 5.0, 25.0)])
    line = ab.comparison(before, summary)
    assert "800 -> 900/s (+12.5%)" in line
    assert "CPU per op 1.250 -> 1.100 ms" in line
    assert "p99 25.00 -> 20.00 ms" in line


def test_ab_refuses_a_round_without_a_result_and_leaves_out_cpu_it_could_not_read() -> None:
    failed = Measurement("ours", 2, 16, "profile", None)
    with pytest.raises(RuntimeError, match="no result"):
        ab.summarise("before", [measured(900, 1.0, 4.0, 9.0), failed])
    partial = ab.summarise("before", [measured(900, None, 4.0, 9.0), measured(950, 1.0, 4.0, 9.0)])
    assert partial.cpu_ms is None
    assert "CPU per op" not in ab.comparison(partial, partial)


def test_ab_arguments_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    args = ab.arguments(["--before", "HEAD~1", "--endpoint", "introspect", "--rounds", "2"])
    assert (args.before, args.endpoint, args.rounds, args.orders) == (
        "HEAD~1",
        "introspect",
        2,
        "both",
    )
    for bad in (["--rounds", "0"], ["--endpoint", "discovery"], []):
        with pytest.raises(SystemExit):
            ab.arguments(["--before", "HEAD", *bad] if bad else bad)
    assert "--before" in capsys.readouterr().err
