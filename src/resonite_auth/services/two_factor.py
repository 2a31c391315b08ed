"""Two-step sign-in: TOTP enrolment and removal, code checks, recovery codes.

Enrolment keeps the new secret on the account while `totp_enabled` is false; a correct code
turns it on and returns ten recovery codes, shown once and kept only as digests.
"""

from __future__ import annotations

from dataclasses import dataclass

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.audit import AuditEvent
from resonite_auth.errors import ValidationFailed
from resonite_auth.security import totp
from resonite_auth.services import limits
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.accounts import AccountRepository
from resonite_auth.storage.repositories.security import RecoveryCodeRepository, TotpRepository
from resonite_auth.storage.repositories.sessions import SessionRepository

ISSUER_NAME = "Resonite"
WRONG_CODE = "That code is not right. Codes change every 30 seconds and each works only once."


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    uri: str
    qr: str


async def begin_enrolment(ctx: Context, account: Account) -> Enrolment:
    """A fresh secret (replacing an unconfirmed one); refused when two-step is already on."""
    secret = totp.new_totp_secret()
    async with ctx.db.transaction() as connection:
        repository = TotpRepository(connection)
        state = await repository.state(account.id)
        if state is None or state.enabled:
            raise ValidationFailed("Two-step sign-in is already on.")
        await repository.set(account.id, secret=secret, enabled=False)
    uri = totp.provisioning_uri(secret, account.username, ISSUER_NAME)
    return Enrolment(secret=secret, uri=uri, qr=totp.qr_data_uri(uri))


async def pending_enrolment(ctx: Context, account: Account) -> Enrolment | None:
    async with ctx.db.read() as connection:
        state = await TotpRepository(connection).state(account.id)
    if state is None or state.enabled or state.secret is None:
        return None
    uri = totp.provisioning_uri(state.secret, account.username, ISSUER_NAME)
    return Enrolment(secret=state.secret, uri=uri, qr=totp.qr_data_uri(uri))


async def confirm_enrolment(
    ctx: Context, account: Account, code: str, *, session_digest: str, ip: str | None
) -> list[str]:
    """Turn two-step on with a first correct code; returns the recovery codes (shown once)."""
    subjects = limits.second_factor_subjects(ctx.settings, account.id, ip)
    await limits.guard(ctx, subjects)
    codes = totp.new_recovery_codes()
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = TotpRepository(connection)
        state = await repository.state(account.id)
        if state is None or state.enabled or state.secret is None:
            raise ValidationFailed("Start setting up two-step sign-in again.")
        step = totp.matching_step(state.secret, code, now, state.last_step)
        if step is not None:
            await repository.set(account.id, secret=state.secret, enabled=True, last_step=step)
            await RecoveryCodeRepository(connection).replace(
                account.id, [totp.recovery_digest(c) for c in codes], now
            )
            # The person just proved the second factor on this session (RFC 8176 "otp").
            await SessionRepository(connection).set_amr(session_digest, ["pwd", "otp"])
            await record(connection, AuditEvent("2fa.enabled", account_id=account.id, ip=ip), now)
    if step is None:
        await limits.count_failure(ctx, subjects, ip=ip)
        raise ValidationFailed(WRONG_CODE)
    return codes


async def disable(
    ctx: Context, account: Account, password: str, code: str, *, ip: str | None
) -> None:
    """Turn two-step off: needs the password and a current code (or a recovery code)."""
    subjects = limits.second_factor_subjects(ctx.settings, account.id, ip)
    await limits.guard(ctx, subjects)
    async with ctx.db.read() as connection:
        found = await AccountRepository(connection).credentials_by_login(account.username)
    password_ok = await ctx.passwords.verify(found[1] if found else None, password)
    code_ok = password_ok and await check_second_factor(ctx, account.id, code, ip=ip)
    if not code_ok:
        await limits.count_failure(ctx, subjects, ip=ip)
        raise ValidationFailed("The password or the code is not right.")
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        await TotpRepository(connection).set(account.id, secret=None, enabled=False)
        await RecoveryCodeRepository(connection).remove_all(account.id)
        await record(connection, AuditEvent("2fa.disabled", account_id=account.id, ip=ip), now)


async def new_recovery_codes(
    ctx: Context, account: Account, password: str, *, ip: str | None
) -> list[str]:
    """Replace every recovery code (the old ones stop working); needs the password."""
    subjects = limits.signin_subjects(ctx.settings, account.id, account.username, ip)
    await limits.guard(ctx, subjects)
    async with ctx.db.read() as connection:
        found = await AccountRepository(connection).credentials_by_login(account.username)
    if not await ctx.passwords.verify(found[1] if found else None, password):
        await limits.count_failure(ctx, subjects, ip=ip)
        raise ValidationFailed("Your password is not right.")
    codes = totp.new_recovery_codes()
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        state = await TotpRepository(connection).state(account.id)
        if state is None or not state.enabled:
            raise ValidationFailed("Two-step sign-in is off.")
        await RecoveryCodeRepository(connection).replace(
            account.id, [totp.recovery_digest(c) for c in codes], now
        )
        await record(
            connection, AuditEvent("2fa.recovery_codes_replaced", account_id=account.id, ip=ip), now
        )
    return codes


async def check_second_factor(ctx: Context, account_id: str, code: str, *, ip: str | None) -> bool:
    """A TOTP code (not replayed) or an unused recovery code; spends it when it is right."""
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = TotpRepository(connection)
        state = await repository.state(account_id)
        if state is None or not state.enabled or state.secret is None:
            return False
        stripped = "".join(code.split())
        if stripped.isdigit():
            step = totp.matching_step(state.secret, stripped, now, state.last_step)
            ok = step is not None and await repository.accept_step(account_id, step)
            kind = "totp"
        else:
            ok = await RecoveryCodeRepository(connection).use(
                account_id, totp.recovery_digest(code), now
            )
            kind = "recovery_code"
        await record(
            connection,
            AuditEvent(
                "2fa.succeeded" if ok else "2fa.failed",
                account_id=account_id,
                ip=ip,
                detail={"kind": kind},
            ),
            now,
        )
    return ok


async def remaining_recovery_codes(ctx: Context, account_id: str) -> int:
    async with ctx.db.read() as connection:
        return await RecoveryCodeRepository(connection).remaining(account_id)


async def reset(ctx: Context, account: Account, *, actor: str) -> None:
    """An operator turns two-step off (the person lost their device and recovery codes)."""
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        await TotpRepository(connection).set(account.id, secret=None, enabled=False)
        await RecoveryCodeRepository(connection).remove_all(account.id)
        await record(connection, AuditEvent("2fa.reset", actor=actor, account_id=account.id), now)
