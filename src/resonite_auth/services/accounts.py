"""Accounts: creation and password sign-in."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from resonite_auth.domain.accounts import Account, normalize_username
from resonite_auth.domain.audit import AuditEvent
from resonite_auth.errors import ValidationFailed
from resonite_auth.security.password_policy import MAX_LENGTH
from resonite_auth.services import limits
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.accounts import AccountRepository

# The platform's usernames: letters, digits, spaces, dots, dashes and underscores.
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._\-]{1,30}[A-Za-z0-9_]$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


def new_user_id() -> str:
    """A platform user id: `U-` and random characters (ids are case-sensitive)."""
    return "U-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))


@dataclass(frozen=True, slots=True)
class NewAccount:
    username: str
    email: str
    password: str
    is_admin: bool = False
    is_verified: bool = False


def check_new_account(new: NewAccount) -> None:
    if not _USERNAME.match(new.username):
        raise ValidationFailed(
            "Usernames are 3 to 32 characters: letters, digits, spaces, dots, dashes, underscores."
        )
    if not _EMAIL.match(new.email) or len(new.email) > 320:
        raise ValidationFailed("That does not look like an email address.")
    if len(new.password) < MIN_PASSWORD:
        raise ValidationFailed(f"Passwords need at least {MIN_PASSWORD} characters.")
    if len(new.password) > MAX_LENGTH:
        raise ValidationFailed(f"Passwords are at most {MAX_LENGTH} characters.")


async def create_account(ctx: Context, new: NewAccount, *, actor: str = "cli") -> Account:
    check_new_account(new)
    password_hash = await ctx.passwords.hash(new.password)
    now = ctx.clock()
    account_id = new_user_id()
    async with ctx.db.transaction() as connection:
        repository = AccountRepository(connection)
        await repository.add(
            {
                "id": account_id,
                "username": new.username,
                "normalized_username": normalize_username(new.username),
                "email": new.email,
                "normalized_email": new.email.strip().casefold(),
                "email_verified": new.is_verified,
                "password_hash": password_hash,
                "registration_date": now,
                "is_verified": new.is_verified,
                "is_locked": False,
                "supress_ban_evasion": False,
                "totp_enabled": False,
                "is_admin": new.is_admin,
                "tags": [],
                "display_badges": [],
                "is_active_supporter": False,
                "supporter_metadata": [],
            }
        )
        await record(
            connection,
            AuditEvent("account.created", actor=actor, account_id=account_id),
            now,
        )
        account = await repository.by_id(account_id)
    assert account is not None
    return account


async def authenticate(
    ctx: Context, login: str, password: str, *, ip: str | None
) -> Account | None:
    """The account when the password matches and the account may sign in; otherwise None.

    Unknown users cost one dummy verify, so timing does not reveal which usernames exist, and
    they are rate limited by the login typed exactly like known ones (RateLimited when over).
    """
    async with ctx.db.read() as connection:
        found = await AccountRepository(connection).credentials_by_login(login)
    account, stored_hash = found if found else (None, None)
    subjects = limits.signin_subjects(ctx.settings, account.id if account else None, login, ip)
    await limits.guard(ctx, subjects)
    matches = await ctx.passwords.verify(stored_hash, password)
    if account is None or stored_hash is None or not matches or account.is_locked:
        reason = "unknown" if account is None else "locked" if matches else "password"
        event = AuditEvent(
            "signin.failed",
            account_id=account.id if account else None,
            ip=ip,
            detail={"reason": reason},
        )
        async with ctx.db.transaction() as connection:
            await record(connection, event, ctx.clock())
        await limits.count_failure(ctx, subjects, ip=ip)
        return None
    # Hashed before the unit of work: the write lock is not held while argon2 works.
    rehashed = (
        await ctx.passwords.hash(password) if ctx.passwords.needs_rehash(stored_hash) else None
    )
    async with ctx.db.transaction() as connection:
        if rehashed is not None:
            await AccountRepository(connection).set_password_hash(account.id, rehashed)
        await record(
            connection, AuditEvent("signin.password", account_id=account.id, ip=ip), ctx.clock()
        )
    await limits.clear_account(ctx, subjects)
    return account
