"""Units of work on real SQLite and PostgreSQL: reads see committed data at once and hold no
lock; a failed read leaves the pool usable; pool settings reach the engine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import DBAPIError

from resonite_auth.config import Settings
from resonite_auth.services.accounts import NewAccount, create_account
from resonite_auth.services.bearer import LIVE_TOKEN
from resonite_auth.services.context import Context
from resonite_auth.storage.inline_sqlite import InlineConnection, first
from resonite_auth.storage.repositories.accounts import ACCOUNT_COLUMNS
from resonite_auth.storage.repositories.sessions import (
    SESSION_WITH_ACCOUNT,
    SessionRepository,
    live_session_with_account,
)
from resonite_auth.storage.tables import accounts, audit_events, server_settings


async def _keys(connection: object) -> set[str]:
    result = await connection.execute(select(server_settings.c.key))  # type: ignore[attr-defined]
    return {row[0] for row in result}


async def test_a_read_sees_what_was_committed_just_before(ctx: Context) -> None:
    """Nothing is cached between units: a revocation is seen by the very next read."""
    async with ctx.db.transaction() as connection:
        await connection.execute(insert(server_settings).values(key="unit.first", value=1))
    async with ctx.db.read() as connection:
        assert "unit.first" in await _keys(connection)


async def test_a_read_holds_no_lock_and_each_statement_sees_committed_data(ctx: Context) -> None:
    async with ctx.db.read() as reader:
        before = await _keys(reader)
        # A writer commits while the read unit is open: it must not wait for the reader
        # (on SQLite it takes the write lock with BEGIN IMMEDIATE).
        async with ctx.db.transaction() as writer:
            await writer.execute(insert(server_settings).values(key="unit.during", value=2))
        after = await _keys(reader)
    assert "unit.during" not in before
    assert "unit.during" in after  # statement-level visibility, as in READ COMMITTED


async def test_a_failed_read_leaves_the_pool_usable(ctx: Context) -> None:
    with pytest.raises(DBAPIError):
        async with ctx.db.read() as connection:
            await connection.exec_driver_sql("SELECT * FROM no_such_table")
    for _ in range(3):
        async with ctx.db.read() as connection:
            assert (await connection.exec_driver_sql("SELECT 1")).scalar() == 1


async def test_a_failed_write_is_rolled_back(ctx: Context) -> None:
    with pytest.raises(DBAPIError):
        async with ctx.db.transaction() as connection:
            await connection.execute(insert(server_settings).values(key="unit.half", value=3))
            await connection.execute(insert(server_settings).values(key="unit.half", value=4))
    async with ctx.db.read() as connection:
        assert "unit.half" not in await _keys(connection)


async def test_pool_settings_reach_the_engine(backend: str, database_url: str) -> None:
    settings = Settings(
        database_url=database_url, db_pool_size=3, db_pool_pre_ping=True, db_pool_recycle=60
    )
    context = Context.from_settings(settings)
    try:
        pool = context.db.engine.pool
        assert pool.size() == 3  # type: ignore[attr-defined]
        assert pool._max_overflow == 1  # type: ignore[attr-defined]
        if backend == "postgresql":
            assert pool._pre_ping is True
            assert pool._recycle == 60
        async with context.db.read() as connection:
            assert (await connection.exec_driver_sql("SELECT 1")).scalar() == 1
    finally:
        await context.close()
    default = Context.from_settings(Settings(database_url=database_url))
    try:
        assert default.db.engine.pool._pre_ping is False
        assert default.db.engine.pool.size() == 20  # type: ignore[attr-defined]
    finally:
        await default.close()


async def test_an_in_memory_sqlite_database_needs_no_pool_settings() -> None:
    context = Context.from_settings(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    try:
        async with context.db.read() as connection:
            assert (await connection.exec_driver_sql("SELECT 1")).scalar() == 1
    finally:
        await context.close()


async def test_concurrent_writers_all_commit_in_turn(ctx: Context) -> None:
    """SQLite has one writer at a time; on both backends every concurrent unit commits."""

    async def write(n: int) -> None:
        async with ctx.db.transaction() as connection:
            await connection.execute(insert(server_settings).values(key=f"unit.w{n}", value=n))
            await asyncio.sleep(0)  # yield inside the transaction, as real work does

    await asyncio.gather(*(write(n) for n in range(30)))
    async with ctx.db.read() as connection:
        keys = await _keys(connection)
    assert {f"unit.w{n}" for n in range(30)} <= keys


async def test_reads_take_the_cheapest_path_of_each_database(backend: str, ctx: Context) -> None:
    """SQLite file: reads run on the caller's thread (no aiosqlite hand-over) through a
    connection SQLite itself keeps from writing. PostgreSQL: pooled, in autocommit (no BEGIN)."""
    async with ctx.db.transaction() as connection:
        await connection.execute(insert(server_settings).values(key="unit.paths", value=6))
    async with ctx.db.read() as connection:
        assert (await connection.scalar(select(server_settings.c.key).limit(1))) is not None
        assert list(await connection.scalars(select(server_settings.c.key))) != []
        if backend == "postgresql":
            assert not isinstance(connection, InlineConnection)
            options = connection.sync_connection.get_execution_options()  # type: ignore[union-attr]
            assert options["isolation_level"] == "AUTOCOMMIT"
            return
        assert isinstance(connection, InlineConnection)
        with pytest.raises(DBAPIError, match="readonly"):
            await connection.execute(insert(server_settings).values(key="unit.inline", value=5))
    async with ctx.db.read() as connection:
        assert "unit.inline" not in await _keys(connection)


async def test_first_gives_the_row_sqlalchemy_gives(ctx: Context) -> None:
    """`Database.first` (asyncpg directly on PostgreSQL) returns the same values, JSON decoded
    and datetimes aware in UTC, as a SQLAlchemy execution of the same statement."""
    at = datetime(2026, 12, 4, 23, 59, 58, 123456, tzinfo=UTC)
    detail = {"scopes": ["openid", "profile"], "count": 3, "nothing": None, "name": "Zoë"}
    async with ctx.db.transaction() as connection:
        await connection.execute(
            insert(audit_events).values(at=at, event="unit.first-row", detail=detail)
        )
    statement = select(audit_events).where(audit_events.c.event == bindparam("event"))
    fast = await ctx.db.first(statement, {"event": "unit.first-row"})
    again = await ctx.db.first(statement, {"event": "unit.first-row"})  # compiled once, reused
    async with ctx.db.read() as connection:
        row = (await connection.execute(statement, {"event": "unit.first-row"})).one()
    assert fast is not None and again is not None
    assert dict(fast) == dict(again) == dict(row._mapping)
    assert fast["detail"] == detail
    assert fast["at"] == at and fast["at"].utcoffset() == timedelta(0)
    assert fast["actor"] is None
    assert await ctx.db.first(statement, {"event": "unit.no-such-event"}) is None


async def test_a_read_in_a_unit_of_work_sees_its_writes_as_sqlalchemy_gives_them(
    backend: str, ctx: Context
) -> None:
    """`first` in a unit (pysqlite on the unit's own connection in an inline SQLite unit,
    SQLAlchemy elsewhere) reads inside the unit's transaction: its own uncommitted writes, with
    the values a SQLAlchemy execution gives."""
    at = datetime(2026, 12, 6, 4, 30, 1, 654321, tzinfo=UTC)
    detail = {"scopes": ["openid", "email"], "count": 2, "name": "Zoë"}
    statement = select(audit_events).where(audit_events.c.event == bindparam("event"))
    async with ctx.db.transaction() as connection:
        assert isinstance(connection, InlineConnection) == (backend == "sqlite")
        await connection.execute(
            insert(audit_events).values(at=at, event="unit.read-in-unit", detail=detail)
        )
        fast = await first(connection, statement, {"event": "unit.read-in-unit"})
        row = (await connection.execute(statement, {"event": "unit.read-in-unit"})).one()
        assert fast is not None
        assert dict(fast) == dict(row._mapping)
        assert fast["detail"] == detail
        assert fast["at"] == at and fast["at"].utcoffset() == timedelta(0)
        assert await first(connection, statement, {"event": "unit.no-such-event"}) is None
    assert await ctx.db.first(statement, {"event": "unit.read-in-unit"}) is not None


async def test_first_gives_an_account_row_as_sqlalchemy_does(ctx: Context) -> None:
    """Booleans, JSON lists, timestamps and NULLs of a whole account row come out of the hot
    path (pysqlite or asyncpg directly) exactly as SQLAlchemy gives them."""
    account = await create_account(
        ctx, NewAccount("Row Check", "row.check@example.test", "a long pass phrase", True, True)
    )
    statement = select(accounts).where(accounts.c.id == bindparam("id"))
    fast = await ctx.db.first(statement, {"id": account.id})
    async with ctx.db.read() as connection:
        row = (await connection.execute(statement, {"id": account.id})).one()
    assert fast is not None
    assert dict(fast) == dict(row._mapping)
    assert list(fast) == list(row._mapping)  # same keys, same order
    assert fast["is_admin"] is True and fast["is_locked"] is False
    assert fast["tags"] == [] and fast["registration_date"].utcoffset() == timedelta(0)


async def test_live_session_with_account(ctx: Context) -> None:
    """One driver-run lookup: a live session and its account; an ended or expired session, or
    an unknown digest, is no session."""
    account = await create_account(
        ctx, NewAccount("Session Row", "session.row@example.test", "a long pass phrase")
    )
    now = datetime.now(UTC)
    base = {
        "account_id": account.id,
        "created_at": now - timedelta(hours=1),
        "auth_time": now - timedelta(hours=1),
        "amr": ["pwd", "otp"],
        "last_seen_at": now - timedelta(minutes=5),
        "user_agent": "test",
        "ip": "127.0.0.1",
    }
    async with ctx.db.transaction() as connection:
        sessions = SessionRepository(connection)
        await sessions.add({**base, "id_digest": "1" * 64, "expires_at": now + timedelta(hours=1)})
        await sessions.add(
            {**base, "id_digest": "2" * 64, "expires_at": now - timedelta(seconds=1)}
        )
        await sessions.add(
            {**base, "id_digest": "3" * 64, "expires_at": now + timedelta(hours=1), "ended_at": now}
        )
    found = await live_session_with_account(ctx.db, "1" * 64, now)
    assert found is not None
    session, who = found
    assert (session.id_digest, session.account_id, session.amr) == (
        "1" * 64,
        account.id,
        ["pwd", "otp"],
    )
    assert session.auth_time == base["auth_time"] and session.last_seen_at == base["last_seen_at"]
    assert who == account
    for refused in ("2" * 64, "3" * 64, "4" * 64):
        assert await live_session_with_account(ctx.db, refused, now) is None


async def test_first_sees_each_commit_at_once(ctx: Context) -> None:
    """The hot path keeps no snapshot between lookups: a change committed right after one
    lookup is seen by the next (revocation must take effect on the very next request)."""
    statement = select(server_settings).where(server_settings.c.key == bindparam("key"))
    async with ctx.db.transaction() as connection:
        await connection.execute(insert(server_settings).values(key="unit.fresh", value=1))
    for value in (2, 3, 4):
        seen = await ctx.db.first(statement, {"key": "unit.fresh"})
        assert seen is not None and seen["value"] == value - 1
        async with ctx.db.transaction() as connection:
            await connection.execute(
                server_settings.update()
                .where(server_settings.c.key == "unit.fresh")
                .values(value=value)
            )
    async with ctx.db.transaction() as connection:
        await connection.execute(
            server_settings.delete().where(server_settings.c.key == "unit.fresh")
        )
    assert await ctx.db.first(statement, {"key": "unit.fresh"}) is None


def test_per_request_lookups_leave_the_secrets_in_the_database() -> None:
    """The bearer and session lookups, run on every API call and page, select the account as
    `to_account` reads it: never its password hash or TOTP secret."""
    secrets = {"password_hash", "totp_secret", "totp_last_step"}
    for lookup in (LIVE_TOKEN, SESSION_WITH_ACCOUNT):
        selected = {column.name for column in lookup.one.selected_columns}
        assert selected >= {column.name for column in ACCOUNT_COLUMNS}
        assert not selected & secrets
