"""Client assertion `jti`s seen so far, so that each assertion is accepted once (RFC 7523 §3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.storage.tables import client_assertion_jtis


class AssertionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def remember(self, client_id: str, jti_digest: str, expires_at: datetime) -> bool:
        """Record a jti; True only for the first caller, however many race."""
        dialect = postgresql if self._db.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(client_assertion_jtis)
            .values(client_id=client_id, jti_digest=jti_digest, expires_at=expires_at)
            .on_conflict_do_nothing()
        )
        result = await self._db.execute(statement)
        return result.rowcount == 1
