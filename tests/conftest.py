"""Shared fixtures: real databases (SQLite and PostgreSQL) and a live server per module."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import BACKENDS, fresh_database
from tests.support.live import LiveServer


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(backend, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(database_url=database_url, workdir=tmp_path_factory.mktemp("server"))
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("work")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """An empty folder with a short path, for a server's TMPDIR: a Unix socket's path holds at
    most 107 bytes, and pytest's own folders can be longer (deeper still under pytest-xdist)."""
    folder = Path(tempfile.mkdtemp(prefix="ra-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
