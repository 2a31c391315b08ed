"""Second factors and emailed links: TOTP state, recovery codes, single-use account links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.storage.tables import account_links, accounts, recovery_codes


@dataclass(frozen=True, slots=True)
class TotpState:
    secret: str | None
    enabled: bool
    last_step: int | None


class TotpRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def state(self, account_id: str) -> TotpState | None:
        query = select(
            accounts.c.totp_secret, accounts.c.totp_enabled, accounts.c.totp_last_step
        ).where(accounts.c.id == account_id)
        row = (await self._db.execute(query)).first()
        return TotpState(row[0], bool(row[1]), row[2]) if row else None

    async def set(
        self, account_id: str, *, secret: str | None, enabled: bool, last_step: int | None = None
    ) -> int:
        result = await self._db.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(totp_secret=secret, totp_enabled=enabled, totp_last_step=last_step)
        )
        return result.rowcount

    async def accept_step(self, account_id: str, step: int) -> bool:
        """Record `step` as used; False when it (or a later one) was used already.

        A conditional update, so two requests racing with the same code cannot both win.
        """
        result = await self._db.execute(
            update(accounts)
            .where(
                accounts.c.id == account_id,
                or_(accounts.c.totp_last_step.is_(None), accounts.c.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        return result.rowcount == 1


class RecoveryCodeRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def replace(self, account_id: str, digests: list[str], now: datetime) -> None:
        await self.remove_all(account_id)
        for code_digest in digests:
            await self._db.execute(
                insert(recovery_codes).values(
                    digest=code_digest, account_id=account_id, created_at=now
                )
            )

    async def remove_all(self, account_id: str) -> None:
        await self._db.execute(
            delete(recovery_codes).where(recovery_codes.c.account_id == account_id)
        )

    async def use(self, account_id: str, code_digest: str, now: datetime) -> bool:
        """Spend a code; True exactly once per code (looked up by digest, a primary key)."""
        result = await self._db.execute(
            update(recovery_codes)
            .where(
                recovery_codes.c.digest == code_digest,
                recovery_codes.c.account_id == account_id,
                recovery_codes.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return result.rowcount == 1

    async def remaining(self, account_id: str) -> int:
        query = (
            select(func.count())
            .select_from(recovery_codes)
            .where(recovery_codes.c.account_id == account_id, recovery_codes.c.used_at.is_(None))
        )
        return int((await self._db.execute(query)).scalar_one())


class AccountLinkRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(
        self, link_digest: str, account_id: str, purpose: str, now: datetime, expires_at: datetime
    ) -> None:
        await self._db.execute(
            insert(account_links).values(
                digest=link_digest,
                account_id=account_id,
                purpose=purpose,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def live(self, link_digest: str, purpose: str, now: datetime) -> str | None:
        """The account a live, unused link belongs to."""
        query = select(account_links.c.account_id).where(
            account_links.c.digest == link_digest,
            account_links.c.purpose == purpose,
            account_links.c.used_at.is_(None),
            account_links.c.expires_at > now,
        )
        return (await self._db.execute(query)).scalar_one_or_none()

    async def consume(self, link_digest: str, purpose: str, now: datetime) -> str | None:
        """Use a live link once; the account id, or None when it is unknown, used or expired."""
        account_id = await self.live(link_digest, purpose, now)
        if account_id is None:
            return None
        result = await self._db.execute(
            update(account_links)
            .where(account_links.c.digest == link_digest, account_links.c.used_at.is_(None))
            .values(used_at=now)
        )
        return account_id if result.rowcount == 1 else None

    async def spend_all(self, account_id: str, purpose: str, now: datetime) -> None:
        await self._db.execute(
            update(account_links)
            .where(
                account_links.c.account_id == account_id,
                account_links.c.purpose == purpose,
                account_links.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
