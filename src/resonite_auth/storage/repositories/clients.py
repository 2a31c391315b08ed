"""Clients (applications) and their secrets (stored as digests only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.clients import Client, ClientStatus
from resonite_auth.storage.tables import client_secrets, clients


class ClientRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, values: dict[str, Any]) -> None:
        await self._db.execute(insert(clients).values(**values))

    async def by_id(self, client_id: str) -> Client | None:
        row = (
            await self._db.execute(select(clients).where(clients.c.client_id == client_id))
        ).first()
        return to_client(row._mapping) if row else None

    async def list(self, status: ClientStatus | None = None) -> list[Client]:
        query = select(clients).order_by(clients.c.created_at)
        if status is not None:
            query = query.where(clients.c.status == status.value)
        return [to_client(row._mapping) for row in await self._db.execute(query)]

    async def set_status(self, client_id: str, status: ClientStatus, now: datetime) -> None:
        await self._db.execute(
            update(clients)
            .where(clients.c.client_id == client_id)
            .values(status=status.value, updated_at=now)
        )

    async def add_secret(
        self, client_id: str, secret_digest: str, now: datetime, expires_at: datetime | None = None
    ) -> None:
        await self._db.execute(
            insert(client_secrets).values(
                digest=secret_digest, client_id=client_id, created_at=now, expires_at=expires_at
            )
        )

    async def revoke_secrets(self, client_id: str, now: datetime) -> None:
        await self._db.execute(
            update(client_secrets)
            .where(client_secrets.c.client_id == client_id, client_secrets.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def secret_is_valid(self, client_id: str, secret_digest: str, now: datetime) -> bool:
        """A live secret of this client with this digest exists.

        The lookup is by digest (a primary key), so timing reveals nothing about the secret.
        """
        query = select(client_secrets.c.client_id).where(
            client_secrets.c.digest == secret_digest,
            client_secrets.c.client_id == client_id,
            client_secrets.c.revoked_at.is_(None),
            or_(client_secrets.c.expires_at.is_(None), client_secrets.c.expires_at > now),
        )
        return (await self._db.execute(query)).first() is not None


def to_client(row: RowMapping) -> Client:
    return Client(
        client_id=row["client_id"],
        name=row["name"],
        status=ClientStatus(row["status"]),
        is_public=row["is_public"],
        redirect_uris=list(row["redirect_uris"]),
        allowed_scopes=list(row["allowed_scopes"]),
        owner_id=row["owner_id"],
        created_at=row["created_at"],
        post_logout_redirect_uris=list(row["post_logout_redirect_uris"] or []),
    )
