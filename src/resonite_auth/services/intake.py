"""The intake switch: whether the developer portal accepts new applications.

Kept in `server_settings` so every instance agrees; closing it never touches existing
applications.
"""

from __future__ import annotations

from resonite_auth.domain.audit import AuditEvent
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.settings import SettingsRepository

INTAKE_KEY = "applications.intake_open"
CLOSED_NOTICE = (
    "We're temporarily not accepting new registrations. Please stay tuned for future updates."
)


async def intake_is_open(ctx: Context) -> bool:
    async with ctx.db.read() as connection:
        value = await SettingsRepository(connection).get(INTAKE_KEY)
    return value is None or bool(value)  # open until an operator closes it


async def set_intake(
    ctx: Context, is_open: bool, *, actor: str = "cli", ip: str | None = None
) -> bool:
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        await SettingsRepository(connection).put(INTAKE_KEY, is_open)
        event = "intake.opened" if is_open else "intake.closed"
        await record(connection, AuditEvent(event, actor=actor, ip=ip), now)
    return is_open
