"""Signing keys, kept in the database so every instance signs and publishes the same ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.keys import KeyStatus, SigningKey
from resonite_auth.storage.tables import signing_keys


class KeyRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def all(self) -> list[SigningKey]:
        rows = await self._db.execute(select(signing_keys).order_by(signing_keys.c.created_at))
        return [_key(row._mapping) for row in rows]

    async def add(self, values: dict[str, Any]) -> None:
        await self._db.execute(insert(signing_keys).values(**values))

    async def promote(self, kid: str, now: datetime) -> None:
        """`next` becomes `current`: it signs from now on."""
        await self._db.execute(
            update(signing_keys)
            .where(signing_keys.c.kid == kid)
            .values(status=KeyStatus.CURRENT.value, activated_at=now)
        )

    async def retire(self, kid: str, now: datetime) -> None:
        """`current` becomes `retired`: it signs no more but stays published for a while."""
        await self._db.execute(
            update(signing_keys)
            .where(signing_keys.c.kid == kid)
            .values(status=KeyStatus.RETIRED.value, retired_at=now)
        )

    async def lock_for_creation(self) -> None:
        """Serialise key creation and rotation between instances.

        PostgreSQL: an advisory transaction lock; SQLite: the writer's BEGIN IMMEDIATE already
        serialises every write transaction.
        """
        if self._db.dialect.name == "postgresql":
            await self._db.exec_driver_sql("SELECT pg_advisory_xact_lock(728361)")


def _key(m: RowMapping) -> SigningKey:
    return SigningKey(
        kid=m["kid"],
        alg=m["alg"],
        status=KeyStatus(m["status"]),
        private_jwk=dict(m["private_jwk"]),
        created_at=m["created_at"],
        retired_at=m["retired_at"],
        activated_at=m["activated_at"],
    )


def current_key(keys: list[SigningKey], alg: str = "RS256") -> SigningKey | None:
    for key in reversed(keys):
        if key.status is KeyStatus.CURRENT and key.alg == alg:
            return key
    return None


def next_key(keys: list[SigningKey], alg: str) -> SigningKey | None:
    for key in reversed(keys):
        if key.status is KeyStatus.NEXT and key.alg == alg:
            return key
    return None
