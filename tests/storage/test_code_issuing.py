"""`add_code_under_grant` on real SQLite (a transaction) and PostgreSQL (one statement without
an interaction): a code is stored only under a live grant covering its scopes, and ending an
interaction happens in the same unit."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.code_issuing import (
    CODE_COLUMNS,
    CodeIssue,
    add_code_under_grant,
)
from resonite_auth.storage.repositories.grants import GrantRepository, code_by_digest
from resonite_auth.storage.repositories.sessions import InteractionRepository
from resonite_auth.storage.tables import authorization_codes, interactions
from tests.support.grants import NOW, a_grant


def code_row(account_id: str, client_id: str, scopes: list[str]) -> dict[str, Any]:
    return {
        "digest": secrets.token_hex(32),
        "client_id": client_id,
        "account_id": account_id,
        "redirect_uri": "https://s.example/cb",
        "scopes": scopes,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "nonce": "n-0S6_WzA2Mj",
        "auth_time": NOW - timedelta(minutes=3),
        "amr": ["pwd", "otp"],
        "created_at": NOW,
        "expires_at": NOW + timedelta(minutes=1),
    }


async def an_interaction(ctx: Context) -> str:
    interaction_id = secrets.token_hex(12)
    async with ctx.db.transaction() as connection:
        await InteractionRepository(connection).add(
            {
                "id": interaction_id,
                "binding_digest": secrets.token_hex(32),
                "kind": "authorize",
                "params": {"client_id": "x"},
                "created_at": NOW,
                "expires_at": NOW + timedelta(minutes=10),
            }
        )
    return interaction_id


async def codes_of(ctx: Context, account_id: str) -> int:
    async with ctx.db.read() as connection:
        query = select(func.count()).where(authorization_codes.c.account_id == account_id)
        return int((await connection.execute(query)).scalar_one())


async def interaction_pending(ctx: Context, interaction_id: str) -> bool:
    async with ctx.db.read() as connection:
        query = select(func.count()).where(interactions.c.id == interaction_id)
        return (await connection.execute(query)).scalar_one() == 1


async def test_a_code_within_the_grant_is_stored_under_it_with_every_column(
    ctx: Context,
) -> None:
    account_id, client_id, grant_id = await a_grant(ctx, ("openid", "profile", "email"))
    row = code_row(account_id, client_id, ["profile", "openid"])

    assert await add_code_under_grant(ctx.db, row, interaction_id=None) is CodeIssue.ISSUED

    stored = await code_by_digest(ctx.db, row["digest"])
    assert stored is not None
    assert stored.grant_id == grant_id
    assert (stored.client_id, stored.account_id) == (client_id, account_id)
    assert stored.redirect_uri == row["redirect_uri"]
    assert stored.scopes == ["profile", "openid"]
    assert (stored.code_challenge, stored.nonce) == (row["code_challenge"], row["nonce"])
    assert (stored.auth_time, stored.expires_at) == (row["auth_time"], row["expires_at"])
    assert stored.amr == ["pwd", "otp"]
    assert stored.redeemed_at is None


@pytest.mark.parametrize(
    "requested",
    [["openid", "email"], ["patreon"], ["openid", "openid", "offline_access", "profile"]],
    ids=["one-scope-more", "another-scope", "repeated-and-wider"],
)
async def test_a_scope_beyond_the_grant_stores_nothing(ctx: Context, requested: list[str]) -> None:
    account_id, client_id, _ = await a_grant(ctx, ("openid", "offline_access"))

    issued = await add_code_under_grant(
        ctx.db, code_row(account_id, client_id, requested), interaction_id=None
    )

    assert issued is CodeIssue.NOT_CONSENTED
    assert await codes_of(ctx, account_id) == 0


async def test_a_revoked_grant_stores_nothing(ctx: Context) -> None:
    account_id, client_id, grant_id = await a_grant(ctx)
    async with ctx.db.transaction() as connection:
        await GrantRepository(connection).revoke(grant_id, NOW)

    issued = await add_code_under_grant(
        ctx.db, code_row(account_id, client_id, ["openid"]), interaction_id=None
    )

    assert issued is CodeIssue.NOT_CONSENTED
    assert await codes_of(ctx, account_id) == 0


async def test_another_accounts_or_clients_grant_does_not_count(ctx: Context) -> None:
    account_id, client_id, _ = await a_grant(ctx)
    other_account, other_client, _ = await a_grant(ctx)

    for row in (
        code_row(account_id, other_client, ["openid"]),
        code_row(other_account, client_id, ["openid"]),
    ):
        assert await add_code_under_grant(ctx.db, row, interaction_id=None) is (
            CodeIssue.NOT_CONSENTED
        )
    assert await codes_of(ctx, account_id) == await codes_of(ctx, other_account) == 0


async def test_a_row_missing_a_column_is_refused_before_any_write(ctx: Context) -> None:
    account_id, client_id, _ = await a_grant(ctx)
    row = code_row(account_id, client_id, ["openid"])
    del row["nonce"]

    with pytest.raises(ValueError, match="nonce"):
        await add_code_under_grant(ctx.db, row, interaction_id=None)
    with pytest.raises(ValueError, match="grant_id"):
        await add_code_under_grant(
            ctx.db, {**row, "nonce": None, "grant_id": "x"}, interaction_id=None
        )

    assert await codes_of(ctx, account_id) == 0
    assert "grant_id" not in CODE_COLUMNS


async def test_ending_an_interaction_issues_once(ctx: Context) -> None:
    account_id, client_id, _ = await a_grant(ctx)
    interaction_id = await an_interaction(ctx)
    first, second = (
        code_row(account_id, client_id, ["openid"]),
        code_row(account_id, client_id, ["openid"]),
    )

    assert await add_code_under_grant(ctx.db, first, interaction_id=interaction_id) is (
        CodeIssue.ISSUED
    )
    assert await add_code_under_grant(ctx.db, second, interaction_id=interaction_id) is (
        CodeIssue.INTERACTION_GONE
    )

    assert not await interaction_pending(ctx, interaction_id)
    assert await code_by_digest(ctx.db, first["digest"]) is not None
    assert await code_by_digest(ctx.db, second["digest"]) is None


async def test_an_interaction_without_consent_stays_pending(ctx: Context) -> None:
    account_id, client_id, _ = await a_grant(ctx, ("openid",))
    interaction_id = await an_interaction(ctx)

    issued = await add_code_under_grant(
        ctx.db, code_row(account_id, client_id, ["openid", "email"]), interaction_id=interaction_id
    )

    assert issued is CodeIssue.NOT_CONSENTED
    # The unit rolled back: the consent page can still be submitted.
    assert await interaction_pending(ctx, interaction_id)
    assert await codes_of(ctx, account_id) == 0


async def test_concurrent_requests_each_get_their_own_code(ctx: Context) -> None:
    account_id, client_id, _ = await a_grant(ctx)
    rows = [code_row(account_id, client_id, ["openid"]) for _ in range(4)]

    outcomes = await asyncio.gather(
        *(add_code_under_grant(ctx.db, row, interaction_id=None) for row in rows)
    )

    assert outcomes == [CodeIssue.ISSUED] * 4
    assert await codes_of(ctx, account_id) == 4
