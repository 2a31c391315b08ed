"""Browser sessions and pending interactions (DESIGN: Flow state)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.grants import BrowserSession, PendingInteraction
from resonite_auth.storage.tables import browser_sessions, interactions


class SessionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, values: dict[str, Any]) -> None:
        await self._db.execute(insert(browser_sessions).values(**values))

    async def live(self, id_digest: str, now: datetime) -> BrowserSession | None:
        query = select(browser_sessions).where(
            browser_sessions.c.id_digest == id_digest,
            browser_sessions.c.ended_at.is_(None),
            browser_sessions.c.expires_at > now,
        )
        row = (await self._db.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        return BrowserSession(
            id_digest=m["id_digest"],
            account_id=m["account_id"],
            auth_time=m["auth_time"],
            amr=list(m["amr"]),
            expires_at=m["expires_at"],
        )

    async def touch(self, id_digest: str, now: datetime) -> None:
        await self._db.execute(
            update(browser_sessions)
            .where(browser_sessions.c.id_digest == id_digest)
            .values(last_seen_at=now)
        )

    async def end(self, id_digest: str, now: datetime) -> None:
        await self._db.execute(
            update(browser_sessions)
            .where(browser_sessions.c.id_digest == id_digest, browser_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )


class InteractionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, values: dict[str, Any]) -> None:
        await self._db.execute(insert(interactions).values(**values))

    async def live(self, interaction_id: str, now: datetime) -> PendingInteraction | None:
        query = select(interactions).where(
            interactions.c.id == interaction_id, interactions.c.expires_at > now
        )
        row = (await self._db.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        return PendingInteraction(
            id=m["id"],
            binding_digest=m["binding_digest"],
            kind=m["kind"],
            params=dict(m["params"]),
            created_at=m["created_at"],
            expires_at=m["expires_at"],
            login_completed_at=m["login_completed_at"],
        )

    async def mark_login(self, interaction_id: str, now: datetime) -> None:
        await self._db.execute(
            update(interactions)
            .where(interactions.c.id == interaction_id)
            .values(login_completed_at=now)
        )

    async def finish(self, interaction_id: str) -> bool:
        """Remove the interaction; False when another request finished it first."""
        result = await self._db.execute(
            delete(interactions).where(interactions.c.id == interaction_id)
        )
        return result.rowcount == 1
