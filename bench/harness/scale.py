"""The scale run: 100,000 users and 1,000,000 stored tokens in PostgreSQL, inserted with SQL.

Rows are written with generate_series straight into the tables (minutes through the API would
be hours). Every token is live and belongs to a real grant of a real account, so the indexes
the hot paths use hold their full size.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

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


# The statements behind the profile API and the code exchange, as the server sends them.
PLANS = {
    "bearer token lookup": """
SELECT tokens.kind, tokens.scopes, grants.revoked_at, clients.status, accounts.*
FROM tokens JOIN grants ON grants.id = tokens.grant_id
JOIN clients ON clients.client_id = tokens.client_id
JOIN accounts ON accounts.id = tokens.account_id
WHERE tokens.digest = md5('scale-a' || 500000) || md5('scale-b' || 500000)
""",
    # Concurrent lookups of one worker go in one statement (storage/coalescing.py).
    "bearer token lookup, batched": """
SELECT tokens.kind, tokens.scopes, grants.revoked_at, clients.status, accounts.*
FROM tokens JOIN grants ON grants.id = tokens.grant_id
JOIN clients ON clients.client_id = tokens.client_id
JOIN accounts ON accounts.id = tokens.account_id
WHERE tokens.digest = ANY(ARRAY[md5('scale-a' || 500000) || md5('scale-b' || 500000),
  md5('scale-a' || 7) || md5('scale-b' || 7), md5('scale-a' || 90001) || md5('scale-b' || 90001)])
""",
    "grant of a token": "SELECT * FROM grants WHERE id = 'scale77'",
}


def explain(database_url: str) -> dict[str, str]:
    """The scans in PostgreSQL's plan of each hot statement on the large database."""

    async def run() -> dict[str, str]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                plans = {}
                for name, sql in PLANS.items():
                    rows = (await connection.execute(text("EXPLAIN " + sql))).all()
                    scans = [row[0].strip() for row in rows if "Scan" in row[0]]
                    plans[name] = " / ".join(scans)
                return plans
        finally:
            await engine.dispose()

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
