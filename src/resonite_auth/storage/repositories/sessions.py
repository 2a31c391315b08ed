"""Browser sessions and pending interactions (DESIGN: Flow state)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.grants import BrowserSession, PendingInteraction
from resonite_auth.storage.database import Database
from resonite_auth.storage.lookups import keyed_lookup
from resonite_auth.storage.repositories.accounts import ACCOUNT_COLUMNS, to_account
from resonite_auth.storage.tables import accounts, browser_sessions, interactions

# Every page and every authorization request reads the browser's session and its account: one
# statement, built once, run by the driver (Database.lookup); liveness is checked in Python, so
# the statement takes the digest alone.
SESSION_WITH_ACCOUNT = keyed_lookup(
    select(
        browser_sessions.c.id_digest.label("session_id_digest"),
        browser_sessions.c.auth_time.label("session_auth_time"),
        browser_sessions.c.amr.label("session_amr"),
        browser_sessions.c.expires_at.label("session_expires_at"),
        browser_sessions.c.last_seen_at.label("session_last_seen_at"),
        browser_sessions.c.ended_at.label("session_ended_at"),
        *ACCOUNT_COLUMNS,
    ).join(accounts, accounts.c.id == browser_sessions.c.account_id),
    browser_sessions.c.id_digest,
    "id_digest",
)


async def live_session_with_account(
    db: Database, id_digest: str, now: datetime
) -> tuple[BrowserSession, Account] | None:
    """The session with this digest if it has neither ended nor expired, and its account."""
    m = await db.lookup(SESSION_WITH_ACCOUNT, id_digest)
    if m is None or m["session_ended_at"] is not None or m["session_expires_at"] <= now:
        return None
    session = BrowserSession(
        id_digest=m["session_id_digest"],
        account_id=m["id"],
        auth_time=m["session_auth_time"],
        amr=list(m["session_amr"]),
        expires_at=m["session_expires_at"],
        last_seen_at=m["session_last_seen_at"],
    )
    return session, to_account(m)


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session as its owner sees it in the sessions list."""

    id_digest: str
    created_at: datetime
    last_seen_at: datetime
    user_agent: str | None
    ip: str | None
    amr: list[str]


class SessionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, values: dict[str, Any]) -> None:
        await self._db.execute(insert(browser_sessions).values(**values))

    async def live_for_account(self, account_id: str, now: datetime) -> list[SessionRow]:
        query = (
            select(browser_sessions)
            .where(
                browser_sessions.c.account_id == account_id,
                browser_sessions.c.ended_at.is_(None),
                browser_sessions.c.expires_at > now,
            )
            .order_by(browser_sessions.c.last_seen_at.desc())
        )
        return [
            SessionRow(
                id_digest=m["id_digest"],
                created_at=m["created_at"],
                last_seen_at=m["last_seen_at"],
                user_agent=m["user_agent"],
                ip=m["ip"],
                amr=list(m["amr"]),
            )
            for m in (row._mapping for row in await self._db.execute(query))
        ]

    async def end_all(self, account_id: str, now: datetime, *, keep: str | None = None) -> int:
        """End every live session of the account, except the one whose digest is `keep`."""
        query = update(browser_sessions).where(
            browser_sessions.c.account_id == account_id, browser_sessions.c.ended_at.is_(None)
        )
        if keep is not None:
            query = query.where(browser_sessions.c.id_digest != keep)
        return (await self._db.execute(query.values(ended_at=now))).rowcount

    async def set_amr(self, id_digest: str, amr: list[str]) -> None:
        await self._db.execute(
            update(browser_sessions)
            .where(browser_sessions.c.id_digest == id_digest)
            .values(amr=amr)
        )

    async def touch(self, id_digest: str, now: datetime) -> None:
        await self._db.execute(
            update(browser_sessions)
            .where(browser_sessions.c.id_digest == id_digest)
            .values(last_seen_at=now)
        )

    async def end(self, id_digest: str, now: datetime) -> None:
        await self._db.execute(
            update(browser_sessions)
            .where(browser_sessions.c.id_digest == id_digest, browser_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )


class InteractionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, values: dict[str, Any]) -> None:
        await self._db.execute(insert(interactions).values(**values))

    async def live(self, interaction_id: str, now: datetime) -> PendingInteraction | None:
        query = select(interactions).where(
            interactions.c.id == interaction_id, interactions.c.expires_at > now
        )
        row = (await self._db.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        return PendingInteraction(
            id=m["id"],
            binding_digest=m["binding_digest"],
            kind=m["kind"],
            params=dict(m["params"]),
            created_at=m["created_at"],
            expires_at=m["expires_at"],
            login_completed_at=m["login_completed_at"],
        )

    async def mark_login(self, interaction_id: str, now: datetime) -> None:
        await self._db.execute(
            update(interactions)
            .where(interactions.c.id == interaction_id)
            .values(login_completed_at=now)
        )

    async def finish(self, interaction_id: str) -> bool:
        """Remove the interaction; False when another request finished it first."""
        result = await self._db.execute(
            delete(interactions).where(interactions.c.id == interaction_id)
        )
        return result.rowcount == 1
