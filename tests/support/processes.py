"""Run a program as a subprocess and read its output line by line as it comes."""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time
from pathlib import Path

import httpx


class Program:
    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first line matching `pattern`, reading no longer than `timeout` seconds."""
        deadline = time.monotonic() + timeout
        compiled = re.compile(pattern)
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            match = compiled.search(line)
            if match:
                return match
        raise AssertionError(f"no line matched {pattern!r}; output so far: {self.lines}")

    def finish(self, timeout: float = 30) -> int:
        code = self.process.wait(timeout=timeout)
        while True:
            line = self._queue.get(timeout=5)
            if line is None:
                return code
            self.lines.append(line)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_until_ready(
    process: subprocess.Popen[bytes], health_url: str, log_path: Path, name: str
) -> None:
    """Return once `health_url` answers 200; fail with the log if the process exits or 30 s pass."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {log_path.read_text()}")
        try:
            if httpx.get(health_url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    # Stopped here: the caller's teardown never runs for a start that failed.
    process.kill()
    process.wait()
    raise RuntimeError(f"{name} did not become ready")


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
