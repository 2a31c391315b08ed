"""Reading and writing timestamp columns with plain SQL on SQLite and PostgreSQL alike.

Tests move stored expiry times instead of sleeping: the server then sees a token that has
expired exactly as it would after waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.support.databases import execute


def as_utc(value: Any) -> datetime:
    """A column value as an aware UTC datetime (SQLite hands back naive UTC text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def bind(url: str, moment: datetime) -> datetime:
    """A datetime as the database stores it: naive UTC on SQLite, aware on PostgreSQL."""
    moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None) if url.startswith("sqlite") else moment


def set_column(
    url: str, table: str, column: str, moment: datetime, where: str, **params: Any
) -> None:
    touched = execute(
        url,
        f"UPDATE {table} SET {column} = :moment WHERE {where}",
        moment=bind(url, moment),
        **params,
    )
    assert touched >= 1, f"no {table} row matched {where}"
