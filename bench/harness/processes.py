"""Server processes under test: start, wait until ready, peak RSS per worker, stop.

Every server listens on 127.0.0.1 only. Processes get their own session so that stopping one
stops its workers, and nothing else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# How a helper process of ours shows in its command line (`resonite-auth serve` starts it).
HELPER_MARK = "resonite_auth.security.hashing_service"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except FileNotFoundError:
            continue
        for child in text.split():
            found.append(int(child))
            found += _children(int(child))
    return found


def _status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def _rss_mb(pid: int) -> tuple[float, float]:
    return _status_kb(pid, "VmHWM") / 1024, _status_kb(pid, "VmRSS") / 1024


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


@dataclass(frozen=True)
class CpuReading:
    """A server's CPU seconds so far: in all (its master included) and per worker process."""

    total: float
    by_worker: dict[int, float]

    def worker_shares(self, before: CpuReading) -> tuple[float, ...]:
        """Each worker's share of the workers' CPU time since `before`, largest first.

        uvicorn's workers share one listening socket and the first to wake accepts what is
        queued, so a run with few keep-alive connections can leave one worker with most of
        them: (0.5, 0.5) is an even split, (0.75, 0.25) one worker doing three quarters.
        """
        used = [
            seconds - before.by_worker[pid]
            for pid, seconds in self.by_worker.items()
            if pid in before.by_worker
        ]
        total = sum(used)
        if len(used) < 2 or total <= 0:
            return ()
        return tuple(sorted((share / total for share in used), reverse=True))


@dataclass
class Server:
    """One server under test: `command` must listen on 127.0.0.1:`port`."""

    name: str
    command: list[str]
    port: int
    ready_path: str
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            env={**os.environ, **self.env},
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=2).status_code == 200:
                    time.sleep(0.5)  # let every worker finish starting
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready: {self.log_path}")

    def workers(self) -> list[int]:
        """The processes that serve requests: the children, or the process itself."""
        assert self.process is not None
        pids = [
            pid
            for pid in _children(self.process.pid)
            if not any(mark in _cmdline(pid) for mark in ("resource_tracker", HELPER_MARK))
        ]
        return pids or [self.process.pid]

    def helpers(self) -> list[int]:
        """Children that serve the workers, not requests: ours has a password hashing process."""
        assert self.process is not None
        return [pid for pid in _children(self.process.pid) if HELPER_MARK in _cmdline(pid)]

    def cpu(self) -> CpuReading:
        """User + system CPU time consumed so far by all the server's processes, and by each
        worker."""
        assert self.process is not None
        workers = self.workers()
        by_pid = {pid: _cpu_seconds(pid) for pid in {self.process.pid, *workers, *self.helpers()}}
        return CpuReading(
            total=sum(by_pid.values()),
            by_worker={pid: by_pid[pid] for pid in workers},
        )

    def rss_mb(self) -> list[tuple[float, float]]:
        """(peak, current) resident memory (VmHWM, VmRSS) of each worker, in MiB."""
        return [_rss_mb(pid) for pid in self.workers()]

    def helper_rss_mb(self) -> list[tuple[float, float]]:
        """(peak, current) resident memory of each helper process, in MiB."""
        return [_rss_mb(pid) for pid in self.helpers()]

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass
        self.process = None


@dataclass(frozen=True)
class HostTicks:
    """The machine's CPU time from the first line of /proc/stat, in clock ticks: `steal` is time
    the hypervisor gave to other guests while this one had work (proc(5))."""

    steal: int
    total: int

    @classmethod
    def parse(cls, stat_text: str) -> HostTicks:
        fields = [int(value) for value in stat_text.splitlines()[0].split()[1:]]
        # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is
        # already counted in user and nice.
        return cls(steal=fields[7], total=sum(fields[:8]))

    @classmethod
    def now(cls) -> HostTicks:
        return cls.parse(Path("/proc/stat").read_text())


def steal_share(before: HostTicks, after: HostTicks) -> float:
    """The share of the machine's CPU time taken by the host between two readings."""
    total = after.total - before.total
    return (after.steal - before.steal) / total if total > 0 else 0.0
