"""Writing security events inside the caller's transaction."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.audit import AuditEvent
from resonite_auth.storage.repositories.audit import AuditRepository

log = logging.getLogger("resonite_auth.audit")


async def record(connection: AsyncConnection, event: AuditEvent, now: datetime) -> None:
    await AuditRepository(connection).append(event, now)
    # The detail holds identifiers only, never secrets; safe to log.
    log.info("%s account=%s client=%s", event.event, event.account_id, event.client_id)
