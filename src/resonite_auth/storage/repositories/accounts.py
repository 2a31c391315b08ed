"""Accounts: the platform's users."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.accounts import (
    Account,
    ProfileDetails,
    SupporterEntry,
    normalize_username,
)
from resonite_auth.errors import Conflict
from resonite_auth.storage.tables import accounts

# What `to_account` reads: an account as the rest of the system sees it. The password hash and
# the TOTP secret are left out, so the lookups of every API call and every page never carry them.
ACCOUNT_COLUMNS = (
    accounts.c.id,
    accounts.c.username,
    accounts.c.normalized_username,
    accounts.c.email,
    accounts.c.email_verified,
    accounts.c.registration_date,
    accounts.c.is_verified,
    accounts.c.is_locked,
    accounts.c.supress_ban_evasion,
    accounts.c.totp_enabled,
    accounts.c.is_admin,
    accounts.c.tags,
    accounts.c.icon_url,
    accounts.c.tagline,
    accounts.c.description,
    accounts.c.pronouns,
    accounts.c.display_badges,
    accounts.c.is_active_supporter,
    accounts.c.supporter_metadata,
)


class AccountRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, values: dict[str, Any]) -> None:
        try:
            async with self._db.begin_nested():
                await self._db.execute(insert(accounts).values(**values))
        except IntegrityError as exc:
            raise Conflict("That username or email is already taken.") from exc

    async def by_id(self, account_id: str) -> Account | None:
        query = select(*ACCOUNT_COLUMNS).where(accounts.c.id == account_id)
        row = (await self._db.execute(query)).first()
        return to_account(row._mapping) if row else None

    async def credentials_by_login(self, login: str) -> tuple[Account, str] | None:
        """The account and its password hash, by username or email (case-insensitive)."""
        normalized = login.strip().casefold()
        query = select(*ACCOUNT_COLUMNS, accounts.c.password_hash).where(
            (accounts.c.normalized_username == normalized)
            | (accounts.c.normalized_email == normalized)
        )
        row = (await self._db.execute(query)).first()
        if row is None:
            return None
        return to_account(row._mapping), row._mapping["password_hash"]

    async def by_email(self, email: str) -> Account | None:
        query = select(*ACCOUNT_COLUMNS).where(
            accounts.c.normalized_email == email.strip().casefold()
        )
        row = (await self._db.execute(query)).first()
        return to_account(row._mapping) if row else None

    async def username_taken(self, username: str) -> bool:
        query = select(accounts.c.id).where(
            accounts.c.normalized_username == normalize_username(username)
        )
        return (await self._db.execute(query)).first() is not None

    async def find(self, id_or_username: str) -> Account | None:
        query = select(*ACCOUNT_COLUMNS).where(
            (accounts.c.id == id_or_username)
            | (accounts.c.normalized_username == id_or_username.strip().casefold())
        )
        row = (await self._db.execute(query)).first()
        return to_account(row._mapping) if row else None

    async def set_password_hash(self, account_id: str, password_hash: str) -> None:
        await self._db.execute(
            update(accounts).where(accounts.c.id == account_id).values(password_hash=password_hash)
        )

    async def update(self, account_id: str, **values: Any) -> int:
        result = await self._db.execute(
            update(accounts).where(accounts.c.id == account_id).values(**values)
        )
        return result.rowcount

    async def all(self) -> list[Account]:
        query = select(*ACCOUNT_COLUMNS).order_by(accounts.c.registration_date, accounts.c.id)
        return [to_account(row._mapping) for row in await self._db.execute(query)]

    async def count(self) -> int:
        return int(
            (await self._db.execute(select(func.count()).select_from(accounts))).scalar_one()
        )


def to_account(row: Mapping[Any, Any]) -> Account:
    return Account(
        id=row["id"],
        username=row["username"],
        normalized_username=row["normalized_username"],
        email=row["email"],
        email_verified=row["email_verified"],
        registration_date=row["registration_date"],
        is_verified=row["is_verified"],
        is_locked=row["is_locked"],
        supress_ban_evasion=row["supress_ban_evasion"],
        two_factor_enabled=row["totp_enabled"],
        is_admin=row["is_admin"],
        tags=list(row["tags"]),
        profile=ProfileDetails(
            icon_url=row["icon_url"],
            tagline=row["tagline"],
            description=row["description"],
            pronouns=row["pronouns"],
            display_badges=list(row["display_badges"]),
        ),
        is_active_supporter=row["is_active_supporter"],
        supporter_metadata=[_supporter(e) for e in row["supporter_metadata"]],
    )


def _supporter(entry: dict[str, Any]) -> SupporterEntry:
    return SupporterEntry(
        is_active_supporter=bool(entry["is_active_supporter"]),
        total_support_months=int(entry["total_support_months"]),
        total_support_cents=int(entry["total_support_cents"]),
        last_tier_cents=int(entry["last_tier_cents"]),
        highest_tier_cents=int(entry["highest_tier_cents"]),
        lowest_tier_cents=int(entry["lowest_tier_cents"]),
        first_support_timestamp=_parse(entry.get("first_support_timestamp")),
        last_support_timestamp=_parse(entry.get("last_support_timestamp")),
    )


def supporter_to_json(entry: SupporterEntry) -> dict[str, Any]:
    return {
        "is_active_supporter": entry.is_active_supporter,
        "total_support_months": entry.total_support_months,
        "total_support_cents": entry.total_support_cents,
        "last_tier_cents": entry.last_tier_cents,
        "highest_tier_cents": entry.highest_tier_cents,
        "lowest_tier_cents": entry.lowest_tier_cents,
        "first_support_timestamp": _format(entry.first_support_timestamp),
        "last_support_timestamp": _format(entry.last_support_timestamp),
    }


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _format(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
