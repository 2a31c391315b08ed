"""Browser sessions: a random id in a cookie, its digest in the table (DESIGN: Flow state)."""

from __future__ import annotations

from datetime import timedelta

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.grants import BrowserSession
from resonite_auth.security.tokens import digest, new_secret
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.sessions import SessionRepository, live_session_with_account

# "Last seen" is kept to the minute; writing it on every request would serialise readers.
TOUCH_AFTER = timedelta(seconds=60)


async def start_session(
    ctx: Context, account: Account, amr: list[str], *, ip: str | None, user_agent: str | None
) -> str:
    """Create a session and return the raw id for the cookie."""
    raw = new_secret()
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        await SessionRepository(connection).add(
            {
                "id_digest": digest(raw),
                "account_id": account.id,
                "created_at": now,
                "auth_time": now,
                "amr": amr,
                "last_seen_at": now,
                "expires_at": now + timedelta(seconds=ctx.settings.session_ttl),
                "user_agent": (user_agent or "")[:512] or None,
                "ip": ip,
            }
        )
        await record(
            connection,
            AuditEvent("signin.succeeded", account_id=account.id, ip=ip, detail={"amr": amr}),
            now,
        )
    return raw


async def current_session(ctx: Context, raw: str | None) -> tuple[BrowserSession, Account] | None:
    """The live session and its account; a locked account has no session."""
    if not raw:
        return None
    found = await live_session_with_account(ctx.db, digest(raw), ctx.clock())
    if found is None or found[1].is_locked:
        return None
    session, account = found
    now = ctx.clock()
    if session.last_seen_at is None or now - session.last_seen_at > TOUCH_AFTER:
        async with ctx.db.transaction() as connection:
            await SessionRepository(connection).touch(session.id_digest, now)
    return session, account


async def end_session(ctx: Context, raw: str | None) -> None:
    if not raw:
        return
    async with ctx.db.transaction() as connection:
        await SessionRepository(connection).end(digest(raw), ctx.clock())
