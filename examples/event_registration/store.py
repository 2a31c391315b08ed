"""The site's own tiny SQLite store: sessions, linked Resonite accounts, registrations.

Tokens are not kept: the site reads the profile once, at link time, and forgets the token.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    visitor_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    picture TEXT,
    supporter_shared INTEGER NOT NULL,
    is_active_supporter INTEGER NOT NULL,
    linked_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS registrations (
    event_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """What the site learned from the platform when the visitor linked their account."""

    user_id: str
    username: str
    picture: str | None
    supporter_shared: bool  # whether the visitor granted the `patreon` scope
    is_active_supporter: bool


class Store:
    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path)
        try:
            with connection:  # one transaction: commit on success, roll back on error
                yield connection
        finally:
            connection.close()

    def load_session(self, digest: str) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT data FROM sessions WHERE digest = ? AND expires_at > ?",
                (digest, time.time()),
            ).fetchone()
        return dict(json.loads(row[0])) if row else None

    def save_session(self, digest: str, data: dict[str, Any], lifetime: int) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM sessions WHERE expires_at <= ?", (time.time(),))
            db.execute(
                "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)",
                (digest, json.dumps(data), time.time() + lifetime),
            )

    def link(self, visitor_id: str, account: LinkedAccount) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO links VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    visitor_id,
                    account.user_id,
                    account.username,
                    account.picture,
                    account.supporter_shared,
                    account.is_active_supporter,
                    _now(),
                ),
            )

    def linked(self, visitor_id: str | None) -> LinkedAccount | None:
        if not visitor_id:
            return None
        with self._connect() as db:
            row = db.execute(
                "SELECT user_id, username, picture, supporter_shared, is_active_supporter"
                " FROM links WHERE visitor_id = ?",
                (visitor_id,),
            ).fetchone()
        if row is None:
            return None
        return LinkedAccount(row[0], row[1], row[2], bool(row[3]), bool(row[4]))

    def unlink(self, visitor_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM links WHERE visitor_id = ?", (visitor_id,))

    def register(self, event_id: str, account: LinkedAccount) -> bool:
        """Register the account for the event; False when it already was."""
        with self._connect() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO registrations VALUES (?, ?, ?, ?)",
                (event_id, account.user_id, account.username, _now()),
            )
            return cursor.rowcount == 1

    def registered_events(self, user_id: str) -> set[str]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT event_id FROM registrations WHERE user_id = ?", (user_id,)
            ).fetchall()
        return {row[0] for row in rows}

    def attendee_counts(self) -> dict[str, int]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT event_id, count(*) FROM registrations GROUP BY event_id"
            ).fetchall()
        return {row[0]: int(row[1]) for row in rows}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
