"""Clients (applications) and their secrets (stored as digests only)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.clients import Client, ClientSecretInfo, ClientStatus
from resonite_auth.storage.database import Database
from resonite_auth.storage.lookups import keyed_lookup
from resonite_auth.storage.tables import (
    authorization_codes,
    client_secrets,
    clients,
    grants,
    tokens,
)

# Every token and introspection request reads its client: these statements are built once and
# run with parameters, so no statement is constructed nor its cache key computed per call.
_BY_ID = keyed_lookup(select(clients), clients.c.client_id, "client_id")
# An unrevoked secret's client, by the secret's digest (its primary key), with the secret's
# expiry in the same row (checked in Python, so the statement takes text parameters only and
# runs by the driver). A keyed lookup: on PostgreSQL the token and introspection requests that
# authenticate at the same time share one statement (Database.lookup), as a busy application's
# requests, all with its one secret, do.
_SECRET_OWNER = keyed_lookup(
    select(clients, client_secrets.c.expires_at.label("secret_expires_at"))
    .select_from(client_secrets.join(clients, clients.c.client_id == client_secrets.c.client_id))
    .where(client_secrets.c.revoked_at.is_(None)),
    client_secrets.c.digest,
    "secret_digest",
)


async def client_by_id(db: Database, client_id: str) -> Client | None:
    """The client with this id, by the driver (every authorization request reads it)."""
    m = await db.lookup(_BY_ID, client_id)
    return None if m is None else to_client(m)


async def authenticating_client(
    db: Database, client_id: str, secret_digest: str | None, now: datetime
) -> tuple[Client, bool] | None:
    """The client, and whether a live secret of it has this digest.

    The secret is looked up by digest (a primary key), so timing reveals nothing about it
    beyond what the answer does. A secret that proves the client costs one keyed lookup; the
    client is read by its id only when none does (no secret, another client's, revoked or
    unknown), which the answer then refuses unless the client is public.
    """
    if secret_digest is not None:
        m = await db.lookup(_SECRET_OWNER, secret_digest)
        if m is not None and m["client_id"] == client_id:
            expires_at = m["secret_expires_at"]
            return to_client(m), expires_at is None or expires_at > now
    client = await client_by_id(db, client_id)
    return None if client is None else (client, False)


class ClientRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, values: dict[str, Any]) -> None:
        await self._db.execute(insert(clients).values(**values))

    async def by_id(self, client_id: str) -> Client | None:
        row = (await self._db.execute(_BY_ID.one, {"client_id": client_id})).first()
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

    async def set_options(self, client_id: str, values: dict[str, Any], now: datetime) -> None:
        await self._db.execute(
            update(clients).where(clients.c.client_id == client_id).values(**values, updated_at=now)
        )

    async def owned_by(self, owner_id: str) -> builtins.list[Client]:
        query = select(clients).where(clients.c.owner_id == owner_id).order_by(clients.c.created_at)
        return [to_client(row._mapping) for row in await self._db.execute(query)]

    async def update(self, client_id: str, now: datetime, **values: Any) -> None:
        await self._db.execute(
            update(clients).where(clients.c.client_id == client_id).values(updated_at=now, **values)
        )

    async def mark_secret_issued(self, client_id: str, now: datetime) -> bool:
        """Claim the first secret of a client; exactly one caller gets True, however many race."""
        result = await self._db.execute(
            update(clients)
            .where(clients.c.client_id == client_id, clients.c.secret_issued_at.is_(None))
            .values(secret_issued_at=now)
        )
        return result.rowcount == 1

    async def secrets(self, client_id: str) -> builtins.list[ClientSecretInfo]:
        query = (
            select(client_secrets)
            .where(client_secrets.c.client_id == client_id)
            .order_by(client_secrets.c.created_at.desc())
        )
        return [
            ClientSecretInfo(
                created_at=row.created_at, expires_at=row.expires_at, revoked_at=row.revoked_at
            )
            for row in await self._db.execute(query)
        ]

    async def expire_secrets(self, client_id: str, expires_at: datetime) -> None:
        """Give every live secret a deadline (rotation grace period); never extend one."""
        await self._db.execute(
            update(client_secrets)
            .where(
                client_secrets.c.client_id == client_id,
                client_secrets.c.revoked_at.is_(None),
                or_(
                    client_secrets.c.expires_at.is_(None),
                    client_secrets.c.expires_at > expires_at,
                ),
            )
            .values(expires_at=expires_at)
        )

    async def revoke_issued(self, client_id: str, now: datetime) -> int:
        """Revoke every grant and token of the client, and spend its unredeemed codes.

        The rows stay (revoked), so reinstating the client cannot bring any of them back.
        """
        await self._db.execute(
            update(grants)
            .where(grants.c.client_id == client_id, grants.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await self._db.execute(
            update(authorization_codes)
            .where(
                authorization_codes.c.client_id == client_id,
                authorization_codes.c.redeemed_at.is_(None),
            )
            .values(redeemed_at=now)
        )
        result = await self._db.execute(
            update(tokens)
            .where(tokens.c.client_id == client_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount

    async def delete(self, client_id: str) -> None:
        """Remove the client; its secrets, grants, codes and tokens go with it (FK cascade)."""
        grant_ids = select(grants.c.id).where(grants.c.client_id == client_id)
        await self._db.execute(delete(tokens).where(tokens.c.grant_id.in_(grant_ids)))
        await self._db.execute(
            delete(authorization_codes).where(authorization_codes.c.client_id == client_id)
        )
        await self._db.execute(delete(grants).where(grants.c.client_id == client_id))
        await self._db.execute(
            delete(client_secrets).where(client_secrets.c.client_id == client_id)
        )
        await self._db.execute(delete(clients).where(clients.c.client_id == client_id))

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

    async def revoke_secrets_before(self, client_id: str, before: datetime, now: datetime) -> int:
        result = await self._db.execute(
            update(client_secrets)
            .where(
                client_secrets.c.client_id == client_id,
                client_secrets.c.revoked_at.is_(None),
                client_secrets.c.created_at < before,
            )
            .values(revoked_at=now)
        )
        return result.rowcount


def to_client(row: Mapping[Any, Any]) -> Client:
    return Client(
        client_id=row["client_id"],
        name=row["name"],
        status=ClientStatus(row["status"]),
        is_public=row["is_public"],
        redirect_uris=list(row["redirect_uris"]),
        allowed_scopes=list(row["allowed_scopes"]),
        owner_id=row["owner_id"],
        created_at=row["created_at"],
        allow_device_grant=row["allow_device_grant"],
        is_resource_server=bool(row["is_resource_server"]),
        access_token_format=row["access_token_format"],
        id_token_signed_response_alg=row["id_token_signed_response_alg"],
        jwks=dict(row["jwks"]) if row["jwks"] else None,
        contact_name=row["contact_name"],
        reason=row["reason"],
        homepage_url=row["homepage_url"],
        logo_url=row["logo_url"],
        review_reason=row["review_reason"],
        pending_redirect_uris=list(row["pending_redirect_uris"] or []),
        secret_issued_at=row["secret_issued_at"],
        updated_at=row["updated_at"],
        post_logout_redirect_uris=list(row["post_logout_redirect_uris"] or []),
    )
