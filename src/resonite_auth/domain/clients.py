"""Registered applications (OAuth clients)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class ClientStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    name: str
    status: ClientStatus
    is_public: bool
    redirect_uris: list[str]
    allowed_scopes: list[str]
    owner_id: str | None
    created_at: datetime
    # OIDC RP-Initiated Logout §3: where the client may send people after signing out.
    post_logout_redirect_uris: list[str] = field(default_factory=list)

    @property
    def is_active(self) -> bool:
        return self.status is ClientStatus.APPROVED
