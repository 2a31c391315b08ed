"""Signing keys, kept in the database so every instance signs and publishes the same ones."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.keys import KeyStatus, SigningKey
from resonite_auth.storage.tables import signing_keys


class KeyRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def all(self) -> list[SigningKey]:
        rows = await self._db.execute(select(signing_keys).order_by(signing_keys.c.created_at))
        return [
            SigningKey(
                kid=m["kid"],
                alg=m["alg"],
                status=KeyStatus(m["status"]),
                private_jwk=dict(m["private_jwk"]),
                created_at=m["created_at"],
                retired_at=m["retired_at"],
            )
            for m in (row._mapping for row in rows)
        ]

    async def add(self, values: dict[str, Any]) -> None:
        await self._db.execute(insert(signing_keys).values(**values))

    async def lock_for_creation(self) -> None:
        """Serialise first-key creation between instances (PostgreSQL advisory lock)."""
        if self._db.dialect.name == "postgresql":
            await self._db.exec_driver_sql("SELECT pg_advisory_xact_lock(728361)")


def current_key(keys: list[SigningKey], alg: str = "RS256") -> SigningKey | None:
    for key in reversed(keys):
        if key.status is KeyStatus.CURRENT and key.alg == alg:
            return key
    return None
