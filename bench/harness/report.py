"""Figures and ratios as Markdown: every measurement, ours/peer, ours/ceiling, RSS, scale."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bench.harness.suite import Measurement, split_text

ENDPOINTS = [
    "discovery",
    "jwks",
    "profile",
    "userinfo",
    "authorize",
    "token_code",
    "token_refresh",
    "introspect",
    "flow",
]
# Which peer figure each of ours is compared with: node has no profile API, so the profile
# API is set beside its userinfo (the target says so).
PEER_ENDPOINT = {"profile": "userinfo"}
NODE = "node-oidc-provider"
CEILING = "ceiling"


def _cell(m: Measurement | None) -> str:
    if m is None:
        return "-"
    if m.result is None:
        return "n/a"
    r = m.result
    errors = f", {r.errors} err" if r.errors else ""
    return f"{m.rate:,.0f} ({r.p50_ms:.1f}/{r.p99_ms:.1f}{errors})"


def _find(
    results: Iterable[Measurement], target: str, workers: int, conns: int, endpoint: str
) -> Measurement | None:
    for m in results:
        if (m.target, m.workers, m.connections, m.endpoint) == (target, workers, conns, endpoint):
            return m
    return None


def _columns(results: list[Measurement]) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    for m in results:
        if m.target != CEILING and (m.target, m.workers) not in seen:
            seen.append((m.target, m.workers))
    return seen


def _endpoint_table(
    results: list[Measurement],
    conns: int,
    title: str,
    cell: Callable[[Measurement | None], str],
    *,
    min_workers: int = 1,
    ceiling_label: str = "ceiling",
) -> list[str]:
    """One row per endpoint, one column per server (with at least `min_workers` workers), and
    a row per ceiling."""
    columns = [(t, w) for t, w in _columns(results) if w >= min_workers]
    ceilings = sorted({m.workers for m in results if m.target == CEILING})
    ceilings = [w for w in ceilings if w >= min_workers]
    if not columns and not ceilings:
        return []
    lines = [
        f"#### {conns} connections: {title}",
        "",
        "| endpoint | " + " | ".join(f"{t} w{w}" for t, w in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for endpoint in ENDPOINTS:
        cells = [cell(_find(results, t, w, conns, endpoint)) for t, w in columns]
        lines.append(f"| {endpoint} | " + " | ".join(cells) + " |")
    for workers in ceilings:
        ceiling = _find(results, CEILING, workers, conns, "fixed_json")
        lines.append(f"| {ceiling_label} w{workers} | {cell(ceiling)} |")
    return lines


def figures_table(results: list[Measurement], conns: int) -> list[str]:
    return _endpoint_table(
        results, conns, "rate (p50/p99 ms)", _cell, ceiling_label="ceiling (bare Starlette)"
    )


def cpu_table(results: list[Measurement], conns: int) -> list[str]:
    """Server CPU time per request: steadier than rates when other work shares the machine."""

    def cpu(m: Measurement | None) -> str:
        return f"{m.cpu_ms:.2f}" if m is not None and m.cpu_ms is not None else "-"

    title = "server CPU per request, per flow for `flow` (ms, all workers)"
    return _endpoint_table(results, conns, title, cpu)


def split_table(results: list[Measurement], conns: int) -> list[str]:
    """How the work fell on the workers of each multi-worker server: an even split means every
    core served (the workers spread their connections: resonite_auth/web/balanced_accept.py)."""

    def split(m: Measurement | None) -> str:
        return split_text(m.worker_shares) if m is not None and m.worker_shares else "-"

    title = "each worker's share of the server CPU (%, largest first)"
    return _endpoint_table(results, conns, title, split, min_workers=2)


def _ratio(ours: Measurement | None, other: Measurement | None) -> str:
    if ours is None or other is None or ours.result is None or other.result is None:
        return "-"
    return f"{ours.rate / other.rate:.2f}x" if other.rate else "-"


def ratios_table(results: list[Measurement], conns: int) -> list[str]:
    ours = [(t, w) for t, w in _columns(results) if t.startswith("ours")]
    lines = [
        f"#### {conns} connections: ours / node-oidc-provider (1 process) and ours / ceiling "
        "(same worker count)",
        "",
        "| endpoint | " + " | ".join(f"{t} w{w} /node | /ceiling" for t, w in ours) + " |",
        "|---" * (2 * len(ours) + 1) + "|",
    ]
    for endpoint in ENDPOINTS:
        cells = []
        for target, workers in ours:
            mine = _find(results, target, workers, conns, endpoint)
            node = _find(results, NODE, 1, conns, PEER_ENDPOINT.get(endpoint, endpoint))
            ceiling = _find(results, CEILING, workers, conns, "fixed_json")
            cells += [_ratio(mine, node), _ratio(mine, ceiling)]
        lines.append(f"| {endpoint} | " + " | ".join(cells) + " |")
    return lines


def rss_table(rss: dict[str, list[tuple[float, float]]]) -> list[str]:
    lines = [
        "| server | peak RSS per worker (MiB) | RSS at the end of the run (MiB) |",
        "|---|---|---|",
    ]
    for name, values in rss.items():
        peak = ", ".join(f"{p:.0f}" for p, _ in values)
        now = ", ".join(f"{c:.0f}" for _, c in values)
        lines.append(f"| {name} | {peak} | {now} |")
    return lines


def scale_table(small: list[Measurement], large: list[Measurement]) -> list[str]:
    lines = [
        "| endpoint | conns | small DB rate (p50/p99) | large DB rate (p50/p99) "
        "| p50 large/small | p99 large/small | CPU/req small, large (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for big in large:
        base = _find(small, big.target, big.workers, big.connections, big.endpoint)
        if base is None or base.result is None or big.result is None:
            continue
        p50 = big.result.p50_ms / base.result.p50_ms if base.result.p50_ms else 0
        p99 = big.result.p99_ms / base.result.p99_ms if base.result.p99_ms else 0
        lines.append(
            f"| {big.endpoint} w{big.workers} | {big.connections} | {_cell(base)} | {_cell(big)} "
            f"| {p50:.2f}x | {p99:.2f}x | {base.cpu_ms or 0:.2f}, {big.cpu_ms or 0:.2f} |"
        )
    return lines


def markdown(
    results: list[Measurement],
    rss: dict[str, list[tuple[float, float]]],
    scale_small: list[Measurement],
    scale_large: list[Measurement],
) -> str:
    out: list[str] = []
    connections = sorted({m.connections for m in results})
    out += ["### Figures", ""]
    for conns in connections:
        out += [*figures_table(results, conns), ""]
    for conns in connections:
        out += [*cpu_table(results, conns), ""]
    for conns in connections:
        split = split_table(results, conns)
        out += [*split, ""] if split else []
    out += ["### Ratios", ""]
    for conns in connections:
        out += [*ratios_table(results, conns), ""]
    out += ["### Peak RSS", "", *rss_table(rss), ""]
    if scale_large:
        out += ["### Scale (PostgreSQL)", "", *scale_table(scale_small, scale_large), ""]
    notes = sorted({m.note for m in results if m.note})
    if notes:
        out += ["### Not measured", "", *[f"- {note}" for note in notes], ""]
    return "\n".join(out)
