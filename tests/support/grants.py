"""A fresh account, client and live grant, for the storage tests of what is issued under
grants."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from resonite_auth.services.accounts import NewAccount, create_account
from resonite_auth.services.clients import NewClient, create_client
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.grants import GrantRepository

NOW = datetime(2026, 12, 5, 3, 0, 0, 123456, tzinfo=UTC)


async def a_grant(
    ctx: Context, scopes: tuple[str, ...] = ("openid", "offline_access")
) -> tuple[str, str, str]:
    """A fresh account, client and live grant of `scopes`: (account id, client id, grant id)."""
    tag = secrets.token_hex(4)
    account = await create_account(
        ctx, NewAccount(f"Granter {tag}", f"granter.{tag}@example.test", "long enough password")
    )
    client = await create_client(
        ctx, NewClient(f"Grantee {tag}", ["https://s.example/cb"], ["openid"], approve=True)
    )
    grant_id = secrets.token_hex(16)
    async with ctx.db.transaction() as connection:
        await GrantRepository(connection).add(
            {
                "id": grant_id,
                "account_id": account.id,
                "client_id": client.client.client_id,
                "scopes": list(scopes),
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    return account.id, client.client.client_id, grant_id
