"""Security events, appended to the audit table and never updated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditEvent:
    event: str
    actor: str | None = None
    account_id: str | None = None
    client_id: str | None = None
    ip: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
