"""Which rate limits apply where (DESIGN: sign-in and token endpoints are rate limited).

Failures are counted, per account (or the login typed, so unknown names are limited exactly
like known ones) and per client address; a success clears the account's count.
"""

from __future__ import annotations

from resonite_auth.config import Settings
from resonite_auth.domain.audit import AuditEvent
from resonite_auth.security.ratelimit import Limit, RateLimited
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context

Subjects = list[tuple[Limit, str | None]]

SIGNIN_MESSAGE = "Too many sign-in attempts. For your security, wait a while and try again."
DEVICE_MESSAGE = "Too many wrong device codes. For your security, wait a while and try again."
TOKEN_MESSAGE = "Too many refused token requests from this address; slow down."


def signin_account(settings: Settings) -> Limit:
    return Limit("signin-account", settings.signin_attempts_per_account, settings.signin_window)


def signin_address(settings: Settings) -> Limit:
    return Limit("signin-address", settings.signin_attempts_per_address, settings.signin_window)


def second_factor_account(settings: Settings) -> Limit:
    """TOTP and recovery codes share one count: both guard the same second step."""
    return Limit("2fa-account", settings.signin_attempts_per_account, settings.signin_window)


def token_address(settings: Settings) -> Limit:
    return Limit("token-address", settings.token_failures_per_address, settings.token_window)


def device_guess_subjects(settings: Settings, session_id: str, ip: str | None) -> Subjects:
    """RFC 8628 §5.1: user codes are short, so wrong guesses are limited per session and
    per address."""
    window = settings.device_guess_window
    return [
        (Limit("device-session", settings.device_guesses_per_session, window), session_id),
        (Limit("device-address", settings.device_guesses_per_address, window), ip),
    ]


def signin_subjects(
    settings: Settings, account_id: str | None, login: str, ip: str | None
) -> Subjects:
    """The account (whichever of its names was typed), or the unknown name typed."""
    subject = f"account:{account_id}" if account_id else "login:" + login.strip().casefold()
    return [(signin_account(settings), subject), (signin_address(settings), ip)]


def second_factor_subjects(settings: Settings, account_id: str, ip: str | None) -> Subjects:
    return [(second_factor_account(settings), account_id), (signin_address(settings), ip)]


async def guard(ctx: Context, subjects: Subjects, message: str = SIGNIN_MESSAGE) -> None:
    """Raise RateLimited when any subject is over its limit."""
    waits = [
        wait
        for limit, subject in subjects
        if subject is not None and (wait := await ctx.limiter.blocked(limit, subject)) is not None
    ]
    if waits:
        raise RateLimited(max(waits), message)


async def count_failure(ctx: Context, subjects: Subjects, *, ip: str | None) -> None:
    """Count one failure; the failure that reaches a limit goes to the audit log (once per
    window, since later attempts are refused before they are counted)."""
    tripped = []
    for limit, subject in subjects:
        if subject is not None:
            await ctx.limiter.hit(limit, subject)
            if await ctx.limiter.blocked(limit, subject) is not None:
                tripped.append(limit.name)
    if tripped:
        async with ctx.db.transaction() as connection:
            event = AuditEvent("ratelimit.tripped", ip=ip, detail={"limits": tripped})
            await record(connection, event, ctx.clock())


async def clear_account(ctx: Context, subjects: Subjects) -> None:
    """After a success: the account's count starts over (the address count does not)."""
    limit, subject = subjects[0]
    if subject is not None:
        await ctx.limiter.reset(limit, subject)
