"""Supporter status: the operator records a person's Patreon support on their account.

The profile document shows it under the `patreon` scope as `isActiveSupporter` and one
`supporterMetadata` entry of `"$type": "patreon"` (DESIGN: the profile document).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from resonite_auth.domain.accounts import Account, SupporterEntry
from resonite_auth.domain.audit import AuditEvent
from resonite_auth.errors import NotFound, ValidationFailed
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.accounts import AccountRepository, supporter_to_json

# A new supporter with no tier given starts at the platform's smallest tier, for one month.
DEFAULT_TIER_CENTS = 500
_MONTH = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class SupporterChange:
    """What the operator states: active or not, and optionally the tier and months supported."""

    active: bool
    tier_cents: int | None = None
    months: int | None = None


def check_change(change: SupporterChange) -> None:
    if change.tier_cents is not None and change.tier_cents < 1:
        raise ValidationFailed("The tier is a positive number of cents.")
    if change.months is not None and change.months < 1:
        raise ValidationFailed("The months supported is a positive number.")


def next_entry(
    existing: SupporterEntry | None, change: SupporterChange, now: datetime
) -> SupporterEntry | None:
    """The single Patreon entry after `change`; None for someone who never supported."""
    if existing is None and not change.active and change.tier_cents is None and not change.months:
        return None
    tier = change.tier_cents or (existing.last_tier_cents if existing else DEFAULT_TIER_CENTS)
    months = change.months or (existing.total_support_months if existing else 1)
    # Restating the tier or months restates the total; otherwise the recorded total stands.
    restated = change.tier_cents is not None or change.months is not None
    total = existing.total_support_cents if existing and not restated else tier * months
    first = existing.first_support_timestamp if existing else None
    last = existing.last_support_timestamp if existing else None
    return SupporterEntry(
        is_active_supporter=change.active,
        total_support_months=months,
        total_support_cents=total,
        last_tier_cents=tier,
        highest_tier_cents=max(tier, existing.highest_tier_cents) if existing else tier,
        lowest_tier_cents=min(tier, existing.lowest_tier_cents) if existing else tier,
        first_support_timestamp=first or now - months * _MONTH,
        last_support_timestamp=now if change.active else (last or now),
    )


async def set_supporter(
    ctx: Context, user: str, change: SupporterChange, *, actor: str = "cli"
) -> Account:
    """Set `isActiveSupporter` and the Patreon entry of the account with id or username `user`."""
    check_change(change)
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = AccountRepository(connection)
        account = await repository.find(user)
        if account is None:
            raise NotFound(f"No account has the id or username {user!r}.")
        existing = account.supporter_metadata[0] if account.supporter_metadata else None
        entry = next_entry(existing, change, now)
        await repository.update(
            account.id,
            is_active_supporter=change.active,
            supporter_metadata=[supporter_to_json(entry)] if entry else [],
        )
        await record(
            connection,
            AuditEvent(
                "account.supporter_changed",
                actor=actor,
                account_id=account.id,
                detail={
                    "active": change.active,
                    "tier_cents": entry.last_tier_cents if entry else None,
                    "months": entry.total_support_months if entry else None,
                },
            ),
            now,
        )
        updated = await repository.by_id(account.id)
    assert updated is not None
    return updated
