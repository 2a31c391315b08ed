"""Registered applications (OAuth clients)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
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
    # What the applicant wrote and what the reviewer answered (the developer portal).
    contact_name: str | None = None
    reason: str | None = None
    homepage_url: str | None = None
    logo_url: str | None = None
    review_reason: str | None = None
    # Redirect URIs added to an approved application: not usable until an admin reviews them.
    pending_redirect_uris: list[str] = field(default_factory=list)
    secret_issued_at: datetime | None = None
    updated_at: datetime | None = None
    # OIDC RP-Initiated Logout §3: where the client may send people after signing out.
    post_logout_redirect_uris: list[str] = field(default_factory=list)

    @property
    def is_active(self) -> bool:
        return self.status is ClientStatus.APPROVED

    @property
    def awaits_review(self) -> bool:
        """A new application, or an approved one with redirect URIs to review."""
        return self.status is ClientStatus.PENDING or (
            self.status is ClientStatus.APPROVED and bool(self.pending_redirect_uris)
        )


@dataclass(frozen=True, slots=True)
class ClientSecretInfo:
    """A client secret as the owner may see it: never the secret, only its dates."""

    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
