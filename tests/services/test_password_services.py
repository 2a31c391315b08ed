"""Passwords in use, against real SQLite and PostgreSQL: a hash made with weaker parameters is
replaced on the next successful sign-in (argon2id's current parameters), and a wrong password
changes nothing."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from resonite_auth.config import Settings
from resonite_auth.security.passwords import Passwords
from resonite_auth.services.accounts import NewAccount, authenticate, create_account
from resonite_auth.services.context import Context
from resonite_auth.storage.migrate import upgrade

PASSWORD = "a long and unusual passphrase"


@pytest.fixture
async def ctx(database_url: str) -> AsyncIterator[Context]:
    context = Context.from_settings(Settings(database_url=database_url))
    await upgrade(context.db)
    yield context
    await context.close()


async def stored_hash(ctx: Context, account_id: str) -> str:
    async with ctx.db.read() as connection:
        value = await connection.scalar(
            text("SELECT password_hash FROM accounts WHERE id = :id"), {"id": account_id}
        )
    assert isinstance(value, str)
    return value


async def test_sign_in_rehashes_a_weaker_hash_and_a_failure_keeps_it(ctx: Context) -> None:
    weak = Passwords(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    ctx.passwords, strong = weak, ctx.passwords
    name = f"hash{secrets.token_hex(4)}"
    account = await create_account(ctx, NewAccount(name, f"{name}@example.com", PASSWORD))
    old = await stored_hash(ctx, account.id)
    assert "m=8192,t=1,p=1" in old
    ctx.passwords = strong

    assert await authenticate(ctx, name, "not the password", ip="203.0.113.9") is None
    assert await stored_hash(ctx, account.id) == old  # a failure rewrites nothing

    signed_in = await authenticate(ctx, name, PASSWORD, ip="203.0.113.9")
    assert signed_in is not None and signed_in.id == account.id
    new = await stored_hash(ctx, account.id)
    assert new != old and not strong.needs_rehash(new)
    assert await strong.verify(new, PASSWORD)
    assert await authenticate(ctx, name, PASSWORD, ip="203.0.113.9") is not None
    assert await stored_hash(ctx, account.id) == new  # current parameters: left as it is
