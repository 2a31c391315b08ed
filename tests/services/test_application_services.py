"""Application use cases against real SQLite and PostgreSQL: races, grace period, mail paths."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from resonite_auth.config import Settings
from resonite_auth.domain.accounts import Account
from resonite_auth.errors import Conflict, NotFound, ValidationFailed
from resonite_auth.services import reviews
from resonite_auth.services.accounts import NewAccount, create_account
from resonite_auth.services.applications import IntakeClosed, apply
from resonite_auth.services.client_secrets import reveal_first_secret, rotate_secret
from resonite_auth.services.clients import NewClient
from resonite_auth.services.context import Context
from resonite_auth.services.intake import set_intake
from resonite_auth.storage.migrate import upgrade
from resonite_auth.storage.repositories.clients import authenticating_client
from tests.support.live import free_port

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@asynccontextmanager
async def context(database_url: str, **settings: Any) -> AsyncIterator[Context]:
    ctx = Context.from_settings(Settings(database_url=database_url, **settings))
    await upgrade(ctx.db)
    try:
        yield ctx
    finally:
        await ctx.close()


async def query(ctx: Context, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with ctx.db.read() as connection:
        return [dict(row._mapping) for row in await connection.execute(text(sql), params)]


async def owner(ctx: Context) -> Account:
    name = f"svc{secrets.token_hex(4)}"
    return await create_account(
        ctx, NewAccount(username=name, email=f"{name}@example.com", password="long enough pw!")
    )


def application(name: str = "Service App") -> NewClient:
    return NewClient(
        name=name,
        redirect_uris=["https://app.example/cb"],
        scopes=["openid", "profile"],
        contact_name="Ada",
        reason="Testing",
    )


async def test_only_one_of_many_concurrent_reveals_gets_the_secret(database_url: str) -> None:
    async with context(database_url) as ctx:
        registered = await apply(ctx, await owner(ctx), application())
        decision = await reviews.approve(ctx, registered.client.client_id, reviews.Actor("t"))
        assert decision.secret is None  # from the queue: the owner reveals it

        async def attempt() -> str | None:
            try:
                return await reveal_first_secret(ctx, decision.client, actor="t")
            except Conflict:
                return None

        results = await asyncio.gather(*(attempt() for _ in range(6)))
        assert len([secret for secret in results if secret]) == 1
        rows = await query(
            ctx,
            "SELECT digest FROM client_secrets WHERE client_id = :c",
            c=registered.client.client_id,
        )
        assert len(rows) == 1


async def test_rotation_grace_period_follows_the_setting(database_url: str) -> None:
    async with context(database_url, client_secret_grace_period=3600) as ctx:
        ctx.clock = lambda: NOW
        registered = await apply(ctx, await owner(ctx), application())
        client_id = registered.client.client_id
        first = await reviews.approve(ctx, client_id, reviews.Actor("t"), issue_secret=True)
        assert first.secret is not None
        rotation = await rotate_secret(ctx, first.client, actor="t")
        assert rotation.previous_valid_until == NOW + timedelta(hours=1)

        async def secret_is_valid(secret: str, at: datetime) -> bool:
            found = await authenticating_client(ctx.db, client_id, _digest(secret), at)
            assert found is not None
            return found[1]

        assert await secret_is_valid(first.secret, NOW + timedelta(minutes=59))
        assert not await secret_is_valid(first.secret, NOW + timedelta(minutes=61))
        assert await secret_is_valid(rotation.secret, NOW + timedelta(days=365))


def _digest(secret: str) -> str:
    import hashlib

    return hashlib.sha256(secret.encode()).hexdigest()


async def test_decisions_refuse_what_does_not_apply(database_url: str) -> None:
    async with context(database_url) as ctx:
        registered = await apply(ctx, await owner(ctx), application())
        client_id, actor = registered.client.client_id, reviews.Actor("t")
        with pytest.raises(NotFound):
            await reviews.approve(ctx, "no-such-client", actor)
        with pytest.raises(Conflict):
            await reviews.suspend(ctx, client_id, "why", actor)  # pending
        with pytest.raises(Conflict):
            await reviews.reinstate(ctx, client_id, actor)  # not suspended
        with pytest.raises(ValidationFailed, match="Give a reason"):
            await reviews.reject(ctx, client_id, "", actor)
        await reviews.reject(ctx, client_id, "no", actor)
        with pytest.raises(Conflict):
            await reviews.reject(ctx, client_id, "again", actor)  # already rejected


async def test_without_smtp_decisions_go_to_the_outbox(database_url: str) -> None:
    async with context(database_url) as ctx:
        person = await owner(ctx)
        registered = await apply(ctx, person, application("Outboxed"))
        await reviews.reject(
            ctx, registered.client.client_id, "Needs a privacy policy.", reviews.Actor("t")
        )
        rows = await query(
            ctx,
            "SELECT recipient, subject, body FROM outbox WHERE recipient = :r",
            r=person.email,
        )
        assert [row["subject"] for row in rows] == ["Your application Outboxed was not approved"]
        assert "Needs a privacy policy." in rows[0]["body"]


async def test_an_unreachable_smtp_server_does_not_undo_the_decision(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    async with context(database_url, smtp_url=dead) as ctx:
        registered = await apply(ctx, await owner(ctx), application("Unmailed"))
        with caplog.at_level(logging.WARNING, logger="resonite_auth.notifications"):
            decision = await reviews.approve(
                ctx, registered.client.client_id, reviews.Actor("t"), issue_secret=True
            )
        assert decision.client.status.value == "approved"
        assert decision.secret is not None
        assert decision.secret not in caplog.text  # nothing secret in logs
        assert "could not mail" in caplog.text


async def test_closed_intake_refuses_applications(database_url: str) -> None:
    async with context(database_url) as ctx:
        person = await owner(ctx)
        await set_intake(ctx, False, actor="t")
        try:
            with pytest.raises(IntakeClosed):
                await apply(ctx, person, application("Refused"))
        finally:
            await set_intake(ctx, True, actor="t")
        events = await query(ctx, "SELECT event FROM audit_events WHERE event LIKE 'intake.%'")
        assert [row["event"] for row in events][-2:] == ["intake.closed", "intake.opened"]
