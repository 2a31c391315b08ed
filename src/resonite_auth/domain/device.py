"""Device codes (RFC 8628): what a device waits on while a person decides in a browser."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class DeviceStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    REDEEMED = "redeemed"


@dataclass(frozen=True, slots=True)
class DeviceCode:
    device_digest: str
    client_id: str
    scopes: list[str]
    status: DeviceStatus
    created_at: datetime
    expires_at: datetime
    interval: int
    last_polled_at: datetime | None
    account_id: str | None
    grant_id: str | None
    auth_time: datetime | None
    amr: list[str]
