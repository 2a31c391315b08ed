"""What the person controls: the applications they connected and their signed-in sessions."""

from __future__ import annotations

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.audit import AuditEvent
from resonite_auth.errors import NotFound
from resonite_auth.security.tokens import digest, same
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.clients import ClientRepository
from resonite_auth.storage.repositories.grants import (
    ConnectedApp,
    ConnectedAppRepository,
    GrantRepository,
)
from resonite_auth.storage.repositories.sessions import SessionRepository, SessionRow


async def connected_apps(ctx: Context, account: Account) -> list[ConnectedApp]:
    async with ctx.db.read() as connection:
        return await ConnectedAppRepository(connection).for_account(account.id)


async def revoke_app(ctx: Context, account: Account, grant_id: str, *, ip: str | None) -> str:
    """Revoke the grant and every token under it at once; returns the application's name."""
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        apps = await ConnectedAppRepository(connection).for_account(account.id)
        app = next((a for a in apps if a.grant_id == grant_id), None)
        if app is None:
            raise NotFound("That application is not connected to your account.")
        await GrantRepository(connection).revoke(grant_id, now)
        await record(
            connection,
            AuditEvent(
                "consent.revoked",
                actor="user",
                account_id=account.id,
                client_id=app.client_id,
                ip=ip,
                detail={"grant_id": grant_id},
            ),
            now,
        )
    return app.client_name


async def revoked_app_name(ctx: Context, account: Account, grant_id: str) -> str | None:
    """The name of an application this person just revoked (for the confirmation notice)."""
    async with ctx.db.read() as connection:
        grant = await GrantRepository(connection).by_id(grant_id)
        if grant is None or grant.account_id != account.id or grant.revoked_at is None:
            return None
        client = await ClientRepository(connection).by_id(grant.client_id)
    return client.name if client else None


def session_handle(row_digest: str) -> str:
    """What the sessions page posts to name a session: derived from the stored digest, so the
    page never shows what the table keys on (and never, of course, the cookie)."""
    return digest("session-handle:" + row_digest)[:32]


async def live_sessions(ctx: Context, account: Account) -> list[SessionRow]:
    async with ctx.db.read() as connection:
        return await SessionRepository(connection).live_for_account(account.id, ctx.clock())


async def end_session_by_handle(
    ctx: Context, account: Account, handle: str, *, ip: str | None
) -> None:
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = SessionRepository(connection)
        rows = await repository.live_for_account(account.id, now)
        match = next((r for r in rows if same(session_handle(r.id_digest), handle)), None)
        if match is None:
            raise NotFound("That session has already ended.")
        await repository.end(match.id_digest, now)
        await record(
            connection,
            AuditEvent("session.ended", actor="user", account_id=account.id, ip=ip),
            now,
        )


async def end_all_other_sessions(
    ctx: Context, account: Account, *, current: str, ip: str | None
) -> int:
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        ended = await SessionRepository(connection).end_all(account.id, now, keep=current)
        await record(
            connection,
            AuditEvent(
                "session.ended_others",
                actor="user",
                account_id=account.id,
                ip=ip,
                detail={"sessions_ended": ended},
            ),
            now,
        )
    return ended
