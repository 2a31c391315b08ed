"""The append-only audit log: rows are inserted, never updated here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.audit import AuditEvent
from resonite_auth.storage.tables import audit_events


class AuditRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def append(self, event: AuditEvent, now: datetime) -> None:
        await self._db.execute(
            insert(audit_events).values(
                at=now,
                event=event.event,
                actor=event.actor,
                account_id=event.account_id,
                client_id=event.client_id,
                ip=event.ip,
                detail=event.detail,
            )
        )

    async def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
        return [dict(row._mapping) for row in await self._db.execute(query)]
