"""The table through which worker processes spread connections (web/balanced_accept.py), on a
real shared file: slots, published counts, and what a dead worker leaves behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from resonite_auth.web.balanced_accept import SLOTS, WorkerTable


def test_each_worker_sees_the_fewest_connections_held_by_another(tmp_path: Path) -> None:
    path = WorkerTable.create(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    first = WorkerTable(path)
    assert first.fewest_elsewhere() is None  # alone: nobody to leave a connection to
    second = WorkerTable(path, pid=os.getppid())  # another live process
    assert first.slot != second.slot
    first.publish(3)
    second.publish(1)
    assert first.fewest_elsewhere() == 1
    assert second.fewest_elsewhere() == 3
    second.close()  # a worker that stops frees its slot
    assert first.fewest_elsewhere() is None
    first.close()


def test_a_dead_workers_slot_is_reused_and_its_count_forgotten(tmp_path: Path) -> None:
    path = WorkerTable.create(tmp_path)
    alive = WorkerTable(path)
    doomed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = WorkerTable(path, pid=doomed.pid)
    gone.publish(0)
    alive.publish(2)
    doomed.kill()
    doomed.wait()
    # Its last count, 0, would make every other worker step back; the first deferral clears it.
    assert alive.fewest_elsewhere() == 0
    alive.forget_dead()
    assert alive.fewest_elsewhere() is None
    # A replacement worker takes the first free slot, the dead worker's.
    replacement = WorkerTable(path, pid=os.getppid())
    assert replacement.slot == gone.slot
    gone.close()  # late: it leaves the replacement's slot alone
    assert alive.fewest_elsewhere() == 0
    for table in (alive, replacement):
        table.close()


def test_a_full_table_refuses_another_worker(tmp_path: Path) -> None:
    path = WorkerTable.create(tmp_path)
    tables = [WorkerTable(path) for _ in range(SLOTS)]
    with pytest.raises(RuntimeError, match="no free slot"):
        WorkerTable(path)
    for table in tables:
        table.close()
