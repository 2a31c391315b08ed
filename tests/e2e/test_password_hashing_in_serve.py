"""`serve` hashes passwords in its own hashing process: a sign-in's 64 MiB of argon2id memory is
spent there, not in the worker that took the request, and the process goes when the server goes."""

from __future__ import annotations

from pathlib import Path

from tests.support.live import LiveServer
from tests.support.user_agent import UserAgent

HASHING_MARK = b"resonite_auth.security.hashing_service"
ARGON2_MEMORY_MIB = 64


def descendants(pid: int) -> list[int]:
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found += [int(child), *descendants(int(child))]
    return found


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


def test_sign_in_hashes_in_the_hashing_process_not_in_the_workers(
    tmp_path: Path, short_tmp: Path
) -> None:
    server = LiveServer(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/hashing.db",
        workdir=tmp_path,
        workers=2,
        extra_env={"TMPDIR": str(short_tmp)},  # where the hashing process's socket goes
    )
    server.start()
    try:
        user = server.create_user("Hasher")  # by the CLI, in its own process
        assert server.process is not None
        children = descendants(server.process.pid)
        (hashing,) = [
            pid for pid in children if HASHING_MARK in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        (socket_dir,) = short_tmp.glob("resonite-auth-hashing-*")
        assert (socket_dir.stat().st_mode & 0o777) == 0o700
        workers = [
            pid
            for pid in children
            if pid != hashing and b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(workers) == 2
        before = {pid: peak_mib(pid) for pid in [hashing, *workers]}

        agent = UserAgent(server.url)
        refused = agent.sign_in(agent.go(f"{server.url}/signin"), user["username"], "wrong pass")
        assert refused.status_code == 401 and "not right" in refused.text
        signed_in = agent.sign_in(
            agent.go(f"{server.url}/signin"), user["username"], user["password"]
        )
        assert signed_in.status_code == 200
        assert "Sign in to see" not in agent.go(server.url + "/").text

        # argon2id touches all of its memory, so the process that hashed has a peak at least that
        # much above its start; the workers, which did not, stay well below that.
        assert peak_mib(hashing) - before[hashing] >= ARGON2_MEMORY_MIB - 4
        for worker in workers:
            assert peak_mib(worker) - before[worker] < ARGON2_MEMORY_MIB / 2
    finally:
        server.stop()
    assert not Path(f"/proc/{hashing}").exists()  # stopped, and reaped by the server
    assert not socket_dir.exists()
