"""Remembering consent: one live grant per person and application, widened as asked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.oauth.scopes import canonical
from resonite_auth.security.tokens import new_id
from resonite_auth.storage.repositories.grants import GrantRepository


async def remember_consent(
    connection: AsyncConnection, account_id: str, client_id: str, scopes: list[str], now: datetime
) -> str:
    """The id of the live grant covering `scopes`, created or widened inside the caller's unit."""
    grants = GrantRepository(connection)
    grant = await grants.active_for(account_id, client_id)
    if grant is None:
        grant_id = new_id()
        await grants.add(
            {
                "id": grant_id,
                "account_id": account_id,
                "client_id": client_id,
                "scopes": canonical(scopes),
                "created_at": now,
                "updated_at": now,
            }
        )
        return grant_id
    if not set(scopes) <= set(grant.scopes):
        await grants.set_scopes(grant.id, canonical(grant.scopes + scopes), now)
    return grant.id
