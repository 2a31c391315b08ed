"""Deleting what has expired: the storage half of `resonite-auth gc`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, delete, or_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from resonite_auth.domain.keys import KeyStatus
from resonite_auth.storage.tables import (
    audit_events,
    authorization_codes,
    browser_sessions,
    client_assertion_jtis,
    interactions,
    signing_keys,
    tokens,
)


class Housekeeping:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def _delete(self, table: Table, condition: ColumnElement[bool]) -> int:
        result = await self._db.execute(delete(table).where(condition))
        return int(result.rowcount)

    async def expired_codes(self, now: datetime) -> int:
        return await self._delete(authorization_codes, authorization_codes.c.expires_at < now)

    async def expired_tokens(self, now: datetime) -> int:
        return await self._delete(tokens, tokens.c.expires_at < now)

    async def finished_sessions(self, now: datetime) -> int:
        return await self._delete(
            browser_sessions,
            or_(browser_sessions.c.expires_at < now, browser_sessions.c.ended_at.is_not(None)),
        )

    async def expired_interactions(self, now: datetime) -> int:
        return await self._delete(interactions, interactions.c.expires_at < now)

    async def expired_assertions(self, now: datetime) -> int:
        return await self._delete(client_assertion_jtis, client_assertion_jtis.c.expires_at < now)

    async def unpublished_keys(self, retired_before: datetime) -> int:
        return await self._delete(
            signing_keys,
            (signing_keys.c.status == KeyStatus.RETIRED.value)
            & (signing_keys.c.retired_at < retired_before),
        )

    async def old_audit_events(self, before: datetime) -> int:
        return await self._delete(audit_events, audit_events.c.at < before)
