"""The platform's user account, shaped as Resonite spells its user document."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SupporterEntry:
    """One entry of `supporterMetadata` (`"$type": "patreon"`)."""

    is_active_supporter: bool
    total_support_months: int
    total_support_cents: int
    last_tier_cents: int
    highest_tier_cents: int
    lowest_tier_cents: int
    first_support_timestamp: datetime | None
    last_support_timestamp: datetime | None


@dataclass(frozen=True, slots=True)
class ProfileDetails:
    icon_url: str | None = None
    tagline: str | None = None
    description: str | None = None
    pronouns: str | None = None
    display_badges: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    username: str
    normalized_username: str
    email: str
    email_verified: bool
    registration_date: datetime
    is_verified: bool
    is_locked: bool
    supress_ban_evasion: bool
    two_factor_enabled: bool
    is_admin: bool
    tags: list[str]
    profile: ProfileDetails
    is_active_supporter: bool
    supporter_metadata: list[SupporterEntry]


def normalize_username(username: str) -> str:
    """The platform compares usernames ignoring case."""
    return username.strip().casefold()
