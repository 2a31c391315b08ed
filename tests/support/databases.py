"""Real databases for tests: a fresh SQLite file, or a fresh PostgreSQL database per use."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

POSTGRES_ADMIN_URL = os.environ.get(
    "RESONITE_AUTH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """Yield the URL of an empty database of `backend`; it is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / f'{uuid.uuid4().hex}.db'}"
        return
    name = f"ra_test_{uuid.uuid4().hex[:16]}"
    _postgres_admin(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_admin(statement: str) -> None:
    async def run() -> None:
        engine = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


def query(url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Rows of `sql` against the database at `url` (for assertions on what was written)."""

    async def run() -> list[dict[str, Any]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                result = await connection.execute(text(sql), params)
                return [dict(row._mapping) for row in result]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def scalar(url: str, sql: str, **params: Any) -> Any:
    rows = query(url, sql, **params)
    return next(iter(rows[0].values())) if rows else None


def execute(url: str, sql: str, **params: Any) -> int:
    """Run a data-changing statement and commit it; returns the affected row count."""

    async def run() -> int:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                return (await connection.execute(text(sql), params)).rowcount
        finally:
            await engine.dispose()

    return asyncio.run(run())


def wait_for_rows(url: str, sql: str, timeout: float = 10, **params: Any) -> list[dict[str, Any]]:
    """Rows of `sql` once there are any: for effects the server completes after answering
    (mail delivered in a background task). Gives up after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        rows = query(url, sql, **params)
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)
