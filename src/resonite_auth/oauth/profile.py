"""The profile document of `/api/user/profiles`, filtered by scope (DESIGN: profile document).

A field outside the granted scopes is absent, never null.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from resonite_auth.domain.accounts import Account, SupporterEntry


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def profile_document(account: Account, scopes: list[str]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": account.id,
        "username": account.username,
        "normalizedUsername": account.normalized_username,
        "registrationDate": iso(account.registration_date),
        "isVerified": account.is_verified,
        "isLocked": account.is_locked,
        "supressBanEvasion": account.supress_ban_evasion,
        "2fa_login": account.two_factor_enabled,
        "tags": list(account.tags),
        "profile": {
            "iconUrl": account.profile.icon_url,
            "tagline": account.profile.tagline,
            "description": account.profile.description,
            "pronouns": account.profile.pronouns,
            "displayBadges": list(account.profile.display_badges),
        },
    }
    if "email" in scopes:
        document["email"] = account.email
    if "patreon" in scopes:
        document["isActiveSupporter"] = account.is_active_supporter
        document["supporterMetadata"] = [_supporter(e) for e in account.supporter_metadata]
    return document


def _supporter(entry: SupporterEntry) -> dict[str, Any]:
    return {
        "$type": "patreon",
        "isActiveSupporter": entry.is_active_supporter,
        "totalSupportMonths": entry.total_support_months,
        "totalSupportCents": entry.total_support_cents,
        "lastTierCents": entry.last_tier_cents,
        "highestTierCents": entry.highest_tier_cents,
        "lowestTierCents": entry.lowest_tier_cents,
        "firstSupportTimestamp": iso(entry.first_support_timestamp),
        "lastSupportTimestamp": iso(entry.last_support_timestamp),
    }


def userinfo_claims(account: Account, scopes: list[str], picture_base: str) -> dict[str, Any]:
    """OIDC Core §5.3.2 claims, by scope."""
    claims: dict[str, Any] = {"sub": account.id}
    if "profile" in scopes:
        claims["preferred_username"] = account.username
        claims["name"] = account.username
        picture = icon_http_url(account.profile.icon_url, picture_base)
        if picture is not None:
            claims["picture"] = picture
    if "email" in scopes:
        claims["email"] = account.email
        claims["email_verified"] = account.email_verified
    return claims


def icon_http_url(icon_url: str | None, asset_base: str) -> str | None:
    """`resdb:///<hash>.webp` as a viewable https URL on the platform's asset host."""
    prefix = "resdb:///"
    if not icon_url or not icon_url.startswith(prefix):
        return None
    name = icon_url[len(prefix) :]
    if not name or "/" in name:
        return None
    return f"{asset_base.rstrip('/')}/{name}"
