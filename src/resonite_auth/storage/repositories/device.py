"""Device codes, looked up by the digest of the device code or of the user code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.device import DeviceCode, DeviceStatus
from resonite_auth.storage.tables import device_codes


class DeviceCodeRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, values: dict[str, Any]) -> bool:
        """Insert; False when the user code collides with a stored one (caller retries)."""
        try:
            async with self._db.begin_nested():
                await self._db.execute(insert(device_codes).values(**values))
        except IntegrityError:
            return False
        return True

    async def by_user_code(self, user_code_digest: str) -> DeviceCode | None:
        query = select(device_codes).where(device_codes.c.user_code_digest == user_code_digest)
        row = (await self._db.execute(query)).first()
        return _device(row._mapping) if row else None

    async def by_device_code(self, device_digest: str, *, lock: bool = False) -> DeviceCode | None:
        query = select(device_codes).where(device_codes.c.device_digest == device_digest)
        if lock:
            query = query.with_for_update()  # serialises polls (SQLite: BEGIN IMMEDIATE does)
        row = (await self._db.execute(query)).first()
        return _device(row._mapping) if row else None

    async def record_poll(self, device_digest: str, now: datetime, interval: int) -> None:
        await self._db.execute(
            update(device_codes)
            .where(device_codes.c.device_digest == device_digest)
            .values(last_polled_at=now, interval=interval)
        )

    async def decide(self, device_digest: str, values: dict[str, Any], now: datetime) -> bool:
        """Approve or deny a pending, unexpired code; False when it was no longer pending."""
        result = await self._db.execute(
            update(device_codes)
            .where(
                device_codes.c.device_digest == device_digest,
                device_codes.c.status == DeviceStatus.PENDING.value,
                device_codes.c.expires_at > now,
            )
            .values(decided_at=now, **values)
        )
        return result.rowcount == 1

    async def redeem(self, device_digest: str) -> bool:
        """approved → redeemed, exactly once (RFC 8628 §3.5: tokens are issued once)."""
        result = await self._db.execute(
            update(device_codes)
            .where(
                device_codes.c.device_digest == device_digest,
                device_codes.c.status == DeviceStatus.APPROVED.value,
            )
            .values(status=DeviceStatus.REDEEMED.value)
        )
        return result.rowcount == 1


def _device(m: RowMapping) -> DeviceCode:
    return DeviceCode(
        device_digest=m["device_digest"],
        client_id=m["client_id"],
        scopes=list(m["scopes"]),
        status=DeviceStatus(m["status"]),
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        interval=m["interval"],
        last_polled_at=m["last_polled_at"],
        account_id=m["account_id"],
        grant_id=m["grant_id"],
        auth_time=m["auth_time"],
        amr=list(m["amr"] or []),
    )
