"""The person's own security settings, and what operators do to accounts (lock, 2FA reset)."""

from __future__ import annotations

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.audit import AuditEvent
from resonite_auth.errors import NotFound, ValidationFailed
from resonite_auth.security.password_policy import password_problem
from resonite_auth.services import limits, two_factor
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.accounts import AccountRepository
from resonite_auth.storage.repositories.grants import TokenRepository
from resonite_auth.storage.repositories.sessions import SessionRepository


def check_new_password(account: Account, new: str, confirm: str) -> None:
    if new != confirm:
        raise ValidationFailed("The two new passwords are not the same.")
    problem = password_problem(new, username=account.username, email=account.email)
    if problem:
        raise ValidationFailed(problem)


async def change_password(
    ctx: Context,
    account: Account,
    current: str,
    new: str,
    confirm: str,
    *,
    keep_session: str | None,
    ip: str | None,
) -> None:
    """New password; refresh tokens are revoked and other sessions end (someone may know it)."""
    subjects = limits.signin_subjects(ctx.settings, account.id, account.username, ip)
    await limits.guard(ctx, subjects)
    async with ctx.db.read() as connection:
        found = await AccountRepository(connection).credentials_by_login(account.username)
    if not await ctx.passwords.verify(found[1] if found else None, current):
        await limits.count_failure(ctx, subjects, ip=ip)
        raise ValidationFailed("Your current password is not right.")
    check_new_password(account, new, confirm)
    await set_password(
        ctx, account, new, keep_session=keep_session, ip=ip, event="password.changed"
    )


async def set_password(
    ctx: Context,
    account: Account,
    new: str,
    *,
    keep_session: str | None,
    ip: str | None,
    event: str,
) -> None:
    password_hash = await ctx.passwords.hash(new)
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        await AccountRepository(connection).set_password_hash(account.id, password_hash)
        revoked = await TokenRepository(connection).revoke_refresh_for_account(account.id, now)
        ended = await SessionRepository(connection).end_all(account.id, now, keep=keep_session)
        await record(
            connection,
            AuditEvent(
                event,
                account_id=account.id,
                ip=ip,
                detail={"refresh_tokens_revoked": revoked, "sessions_ended": ended},
            ),
            now,
        )


async def _find(ctx: Context, user: str) -> Account:
    async with ctx.db.read() as connection:
        account = await AccountRepository(connection).find(user)
    if account is None:
        raise NotFound(f"No account {user!r}.")
    return account


async def set_locked(ctx: Context, user: str, locked: bool, *, actor: str) -> Account:
    """Lock: sign-in refused, sessions ended, tokens refused (checked on every use)."""
    account = await _find(ctx, user)
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = AccountRepository(connection)
        await repository.update(account.id, is_locked=locked)
        ended = await SessionRepository(connection).end_all(account.id, now) if locked else 0
        await record(
            connection,
            AuditEvent(
                "account.locked" if locked else "account.unlocked",
                actor=actor,
                account_id=account.id,
                detail={"sessions_ended": ended},
            ),
            now,
        )
        updated = await repository.by_id(account.id)
    assert updated is not None
    return updated


async def reset_two_factor(ctx: Context, user: str, *, actor: str) -> Account:
    account = await _find(ctx, user)
    await two_factor.reset(ctx, account, actor=actor)
    return account


async def list_accounts(ctx: Context) -> list[Account]:
    async with ctx.db.read() as connection:
        return await AccountRepository(connection).all()
