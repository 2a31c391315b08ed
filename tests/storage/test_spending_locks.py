"""How a PostgreSQL spending (one statement, storage/repositories/spending.py) meets other
transactions on the grant's row: spendings under one grant share it, a revocation orders itself
with them, and the two never deadlock. The other transaction is held open at the point that
matters, and the spending is seen waiting (pg_stat_activity) before it is let go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.grants import TokenRepository, code_by_digest
from resonite_auth.storage.repositories.spending import Credential, Spent
from resonite_auth.storage.tables import grants, tokens
from tests.storage.test_spending import a_code, count_tokens, last_used, spend, token_rows
from tests.support.grants import NOW, a_grant

# The spending's statement, as pg_stat_activity shows it.
SPENDING = "WITH %INSERT INTO tokens%"
# Long enough for a loaded CI machine; a spending that should not wait returns in milliseconds.
PATIENCE = 30.0


@pytest.fixture(scope="module")
def backend() -> str:
    """Row locks are PostgreSQL's: the storage tests' `ctx` on PostgreSQL only."""
    return "postgresql"


async def waiting_spendings(ctx: Context) -> int:
    async with ctx.db.read() as connection:
        statement = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE :spending"
        )
        return int((await connection.execute(statement, {"spending": SPENDING})).scalar_one())


async def until_a_spending_waits(ctx: Context, spending: asyncio.Task[Spent]) -> None:
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while await waiting_spendings(ctx) == 0:
        assert not spending.done(), f"the spending did not wait: {spending.result()}"
        assert asyncio.get_running_loop().time() < deadline, "the spending never waited"
        await asyncio.sleep(0.01)


async def test_spendings_under_one_grant_do_not_wait_for_each_other(ctx: Context) -> None:
    """Another spending holds the grant's row (in share mode) until it commits: this one goes
    on, and leaves `last_used_at` for a later spending rather than wait for the row."""
    account_id, client_id, grant_id = await a_grant(ctx)
    code = await a_code(ctx, account_id, client_id, grant_id)
    rows = token_rows(account_id, client_id, grant_id, refresh=True)
    async with ctx.db.transaction() as other:
        held = select(grants.c.id).where(grants.c.id == grant_id).with_for_update(read=True)
        assert (await other.execute(held)).scalar_one() == grant_id
        outcome = await asyncio.wait_for(
            spend(ctx, Credential.CODE, code, account_id, grant_id, rows), PATIENCE
        )
        assert outcome is Spent.ISSUED
        assert await last_used(ctx, grant_id) is None  # skipped: the row was held
    assert await count_tokens(ctx, grant_id) == 2
    # Once the row is free, the next spending marks the grant used.
    refresh = rows[1]["digest"]
    again = token_rows(account_id, client_id, grant_id, refresh=True, parent=refresh)
    assert await spend(ctx, Credential.REFRESH_TOKEN, refresh, account_id, grant_id, again) is (
        Spent.ISSUED
    )
    assert await last_used(ctx, grant_id) == NOW


@asynccontextmanager
async def a_revocation_waited_for(
    ctx: Context, grant_id: str, spending: Coroutine[Any, Any, Spent]
) -> AsyncIterator[tuple[AsyncConnection, asyncio.Task[Spent]]]:
    """The grant's row updated by a revocation not yet committed, and `spending` started and
    seen waiting; the revocation commits when the block ends."""
    async with ctx.db.transaction() as revocation:
        await revocation.execute(
            update(grants).where(grants.c.id == grant_id).values(revoked_at=NOW)
        )
        task = asyncio.create_task(spending)
        await until_a_spending_waits(ctx, task)
        yield revocation, task


async def test_a_spending_waits_for_a_revocation_and_then_buys_nothing(ctx: Context) -> None:
    """The grant is revoked (not yet committed) as the code is spent: the spending waits for
    the revocation, finds the grant dead on the row as revoked, and leaves the code unspent."""
    account_id, client_id, grant_id = await a_grant(ctx)
    code = await a_code(ctx, account_id, client_id, grant_id)
    rows = token_rows(account_id, client_id, grant_id, refresh=True)
    spending_code = spend(ctx, Credential.CODE, code, account_id, grant_id, rows)
    async with a_revocation_waited_for(ctx, grant_id, spending_code) as (_, spending):
        pass
    assert await asyncio.wait_for(spending, PATIENCE) is Spent.GRANT_DEAD
    unspent = await code_by_digest(ctx.db, code)
    assert unspent is not None and unspent.redeemed_at is None
    assert await count_tokens(ctx, grant_id) == 0


async def test_a_refresh_and_a_revocation_of_its_grant_do_not_deadlock(ctx: Context) -> None:
    """A revocation updates the grant's row, then its tokens. A refresh that locked its token
    before waiting for the grant would hold what the revocation waits for, and each would
    wait for the other: the spending takes the grant first, in the revocation's order."""
    account_id, client_id, grant_id = await a_grant(ctx)
    first = token_rows(account_id, client_id, grant_id, refresh=True)
    async with ctx.db.transaction() as connection:
        await TokenRepository(connection).add_all(first)
    refresh = first[1]["digest"]
    rows = token_rows(account_id, client_id, grant_id, refresh=True, parent=refresh)
    refreshing = spend(ctx, Credential.REFRESH_TOKEN, refresh, account_id, grant_id, rows)
    async with a_revocation_waited_for(ctx, grant_id, refreshing) as (revocation, spending):
        revoked = await asyncio.wait_for(
            revocation.execute(
                update(tokens).where(tokens.c.grant_id == grant_id).values(revoked_at=NOW)
            ),
            PATIENCE,
        )
        assert revoked.rowcount == 2
    assert await asyncio.wait_for(spending, PATIENCE) is Spent.GRANT_DEAD
    assert await count_tokens(ctx, grant_id) == 2  # the first two, revoked; nothing new
