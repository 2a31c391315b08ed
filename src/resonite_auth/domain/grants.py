"""Consent grants and everything issued under them: codes, tokens, sessions, interactions."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Grant:
    """A person's consent to one client for a set of scopes. Codes and tokens point here."""

    id: str
    account_id: str
    client_id: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None

    def covers(self, scopes: list[str]) -> bool:
        """Every one of `scopes` was consented to."""
        return set(scopes) <= set(self.scopes)


class TokenKind(enum.StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """What an authorization code was bound to (RFC 6749 §4.1.3, RFC 7636 §4.6)."""

    digest: str
    grant_id: str
    client_id: str
    account_id: str
    redirect_uri: str
    scopes: list[str]
    code_challenge: str | None
    nonce: str | None
    auth_time: datetime
    amr: list[str]
    expires_at: datetime
    redeemed_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    digest: str
    kind: TokenKind
    grant_id: str
    client_id: str
    account_id: str
    scopes: list[str]
    issued_at: datetime
    expires_at: datetime
    absolute_expires_at: datetime | None
    auth_time: datetime | None
    amr: list[str]
    revoked_at: datetime | None
    rotated_at: datetime | None


@dataclass(frozen=True, slots=True)
class BrowserSession:
    id_digest: str
    account_id: str
    auth_time: datetime
    amr: list[str]
    expires_at: datetime
    last_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PendingInteraction:
    """A validated authorization request waiting for sign-in and consent (DESIGN: Flow state)."""

    id: str
    binding_digest: str
    kind: str
    params: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    login_completed_at: datetime | None
