"""The scale run: 100,000 users and 1,000,000 stored tokens in PostgreSQL, inserted with SQL.

Rows are written with generate_series straight into the tables (minutes through the API would
be hours). Every token is live and belongs to a real grant of a real account, so the indexes
the hot paths use hold their full size.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import asyncpg
from sqlalchemy import Select, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from resonite_auth.services.bearer import LIVE_TOKEN
from resonite_auth.storage.driver import HOT_SETTINGS

ACCOUNTS = """
INSERT INTO accounts (id, username, normalized_username, email, normalized_email,
  email_verified, password_hash, registration_date, is_verified, is_locked,
  supress_ban_evasion, totp_enabled, is_admin, tags, display_badges, is_active_supporter,
  supporter_metadata)
SELECT 'U-scale' || g, 'Scale' || g, 'scale' || g, 'scale' || g || '@example.com',
  'scale' || g || '@example.com', true, 'not-a-hash', now(), true, false, false, false, false,
  '[]', '[]', false, '[]'
FROM generate_series(1, :users) AS g
"""
GRANTS = """
INSERT INTO grants (id, account_id, client_id, scopes, created_at, updated_at)
SELECT 'scale' || g, 'U-scale' || g, :client_id, '["openid", "profile", "offline_access"]',
  now(), now()
FROM generate_series(1, :users) AS g
"""
TOKENS = """
INSERT INTO tokens (digest, kind, grant_id, client_id, account_id, scopes, issued_at,
  expires_at, amr)
SELECT md5('scale-a' || g) || md5('scale-b' || g),
  CASE WHEN g % 2 = 0 THEN 'access' ELSE 'refresh' END,
  'scale' || (g % :users + 1), :client_id, 'U-scale' || (g % :users + 1),
  '["openid", "profile"]', now(), now() + interval '1 hour', '["pwd"]'
FROM generate_series(1, :tokens) AS g
"""


def _scale_digest(n: int) -> str:
    return (
        hashlib.md5(f"scale-a{n}".encode()).hexdigest()
        + hashlib.md5(f"scale-b{n}".encode()).hexdigest()
    )


def _as_sent(statement: Select[Any]) -> str:
    return str(statement.compile(dialect=make_url("postgresql+asyncpg://").get_dialect()()))


# The statements behind the profile API and the code exchange, as the server sends them, with
# the values of one request: a digest, a batch of digests, a grant id.
PLANS: dict[str, tuple[str, str]] = {
    "bearer token lookup": (
        _as_sent(LIVE_TOKEN.one),
        f"'{_scale_digest(500000)}'",
    ),
    # Concurrent lookups of one worker go in one statement (storage/coalescing.py).
    "bearer token lookup, batched": (
        _as_sent(LIVE_TOKEN.many),
        "ARRAY[" + ", ".join(f"'{_scale_digest(n)}'" for n in (500000, 7, 90001)) + "]",
    ),
    "grant of a token": ("SELECT * FROM grants WHERE id = $1", "'scale77'"),
}


def explain(database_url: str) -> dict[str, str]:
    """The scans in the plan PostgreSQL runs each hot statement on, on the large database: the
    generic plan, with the planner settings of the server's hot connections
    (storage/driver.py)."""

    async def run() -> dict[str, str]:
        dsn = make_url(database_url).set(drivername="postgresql")
        connection = await asyncpg.connect(
            dsn.render_as_string(hide_password=False),
            server_settings=HOT_SETTINGS,
        )
        try:
            plans = {}
            for number, (name, (sql, values)) in enumerate(PLANS.items()):
                await connection.execute(f"PREPARE plan_{number} AS {sql}")
                rows = await connection.fetch(f"EXPLAIN EXECUTE plan_{number}({values})")
                scans = [row[0].strip() for row in rows if "Scan" in row[0]]
                plans[name] = " / ".join(scans)
            return plans
        finally:
            await connection.close()

    return asyncio.run(run())


def populate(database_url: str, client_id: str, *, users: int, tokens: int) -> float:
    """Insert the rows, then VACUUM ANALYZE and CHECKPOINT; returns the seconds it took.

    Measured right after a bulk insert, the runs would also measure the aftermath of the load
    (hint bits written on first read, a gigabyte of dirty pages flushed by the checkpointer,
    autovacuum starting): a database that has held its tokens for a while has none of that.
    """

    async def run() -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as connection:
                params = {"users": users, "tokens": tokens, "client_id": client_id}
                for statement in (ACCOUNTS, GRANTS, TOKENS):
                    await connection.execute(text(statement), params)
            async with engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                for statement in ("VACUUM ANALYZE", "CHECKPOINT"):
                    await autocommit.execute(text(statement))
        finally:
            await engine.dispose()

    started = time.monotonic()
    asyncio.run(run())
    return time.monotonic() - started
