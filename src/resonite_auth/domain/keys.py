"""Signing keys as the server keeps them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class KeyStatus(enum.StrEnum):
    NEXT = "next"
    CURRENT = "current"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    status: KeyStatus
    private_jwk: dict[str, str]
    created_at: datetime
    retired_at: datetime | None
    activated_at: datetime | None = None
