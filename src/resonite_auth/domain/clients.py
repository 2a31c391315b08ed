"""Registered applications (OAuth clients)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any


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
    allow_device_grant: bool = False
    # Token options (RFC 7662 resource server, RFC 9068 JWT access tokens, OIDC Registration
    # §2 id_token_signed_response_alg, RFC 7523 private_key_jwt with a registered JWKS).
    is_resource_server: bool = False
    access_token_format: str = "opaque"
    id_token_signed_response_alg: str = "RS256"
    jwks: dict[str, Any] | None = None

    @property
    def is_active(self) -> bool:
        return self.status is ClientStatus.APPROVED
