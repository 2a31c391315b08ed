"""Self-service accounts: registration, email verification, password reset by emailed link.

Links carry a 256-bit random value; only its digest is stored, each works once, and reset
links live minutes, not days. Asking for a reset answers the same whether or not the account
exists (no enumeration); the mail itself is sent after the answer.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from urllib.parse import urlencode

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.audit import AuditEvent
from resonite_auth.errors import ValidationFailed
from resonite_auth.security.password_policy import password_problem
from resonite_auth.security.tokens import digest, new_secret
from resonite_auth.services import limits
from resonite_auth.services.account_security import check_new_password, set_password
from resonite_auth.services.accounts import NewAccount, check_new_account, create_account
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.services.mailer import Mail
from resonite_auth.storage.repositories.accounts import AccountRepository
from resonite_auth.storage.repositories.security import AccountLinkRepository

log = logging.getLogger("resonite_auth.mail")
VERIFY = "verify_email"
RESET = "reset_password"
BAD_LINK = "This link is not valid any more: it was used already, or it expired."


async def register(
    ctx: Context, username: str, email: str, password: str, confirm: str, *, ip: str | None
) -> None:
    """Create the account and mail the confirmation link.

    Usernames are public on the platform, so a taken one is said plainly; a taken email is
    not: the page answers as for a new account and the mail tells the owner instead.
    """
    if password != confirm:
        raise ValidationFailed("The two passwords are not the same.")
    problem = password_problem(password, username=username, email=email)
    if problem:
        raise ValidationFailed(problem)
    new = NewAccount(username=username.strip(), email=email.strip(), password=password)
    check_new_account(new)
    async with ctx.db.read() as connection:
        repository = AccountRepository(connection)
        if await repository.username_taken(new.username):
            raise ValidationFailed("That username is taken; choose another.")
        owner = await repository.by_email(new.email)
    if owner is not None:
        await deliver(ctx, _already_registered_mail(ctx, owner))
        return
    account = await create_account(ctx, new, actor="signup")
    await deliver(ctx, await verification_mail(ctx, account))


def _already_registered_mail(ctx: Context, owner: Account) -> Mail:
    return Mail(
        to=owner.email,
        subject="You already have a Resonite account",
        body=f"Hello {owner.username},\n\nSomeone tried to create a new Resonite account with "
        "this email address, which already belongs to your account. If it was you, sign in "
        f"instead:\n\n{ctx.settings.url('/signin')}\n\nForgot your password? "
        f"{ctx.settings.url('/forgot-password')}\n\nIf it was not you, ignore this message.\n",
    )


async def deliver(ctx: Context, mail: Mail) -> bool:
    """Send, or log that the mail server refused: the person can ask for the link again."""
    try:
        await ctx.mailer.send(mail)
    except (OSError, smtplib.SMTPException) as error:
        log.error("mail %r to %s not sent: %s", mail.subject, mail.to, error)
        return False
    return True


async def _new_link(ctx: Context, account: Account, purpose: str, ttl: int) -> str:
    raw = new_secret()
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        links = AccountLinkRepository(connection)
        await links.spend_all(account.id, purpose, now)  # only the newest link works
        await links.add(digest(raw), account.id, purpose, now, now + timedelta(seconds=ttl))
    return raw


async def verification_mail(ctx: Context, account: Account) -> Mail:
    raw = await _new_link(ctx, account, VERIFY, ctx.settings.email_link_ttl)
    link = ctx.settings.url("/verify-email?" + urlencode({"token": raw}))
    return Mail(
        to=account.email,
        subject="Confirm your email address",
        body=f"Hello {account.username},\n\nConfirm that this is your email address by opening "
        f"this link:\n\n{link}\n\nIf you did not create a Resonite account, ignore this "
        "message.\n",
    )


async def link_is_live(ctx: Context, raw: str, purpose: str) -> bool:
    async with ctx.db.read() as connection:
        return (
            await AccountLinkRepository(connection).live(digest(raw), purpose, ctx.clock())
            is not None
        )


async def verify_email(ctx: Context, raw: str) -> None:
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        account_id = await AccountLinkRepository(connection).consume(digest(raw), VERIFY, now)
        if account_id is None:
            raise ValidationFailed(BAD_LINK)
        await AccountRepository(connection).update(
            account_id, email_verified=True, is_verified=True
        )
        await record(connection, AuditEvent("email.verified", account_id=account_id), now)


async def reset_mail(ctx: Context, login: str, *, ip: str | None) -> Mail | None:
    """The reset mail to send, if the account exists and may sign in; callers answer alike."""
    subjects = [(limits.signin_address(ctx.settings), ip)]
    await limits.guard(ctx, subjects)
    await limits.count_failure(ctx, subjects, ip=ip)  # each request counts: mail is not free
    async with ctx.db.read() as connection:
        found = await AccountRepository(connection).credentials_by_login(login)
    if found is None or found[0].is_locked:
        return None
    account = found[0]
    raw = await _new_link(ctx, account, RESET, ctx.settings.reset_link_ttl)
    async with ctx.db.transaction() as connection:
        await record(
            connection,
            AuditEvent("password.reset_requested", account_id=account.id, ip=ip),
            ctx.clock(),
        )
    link = ctx.settings.url("/reset-password?" + urlencode({"token": raw}))
    minutes = ctx.settings.reset_link_ttl // 60
    return Mail(
        to=account.email,
        subject="Reset your password",
        body=f"Hello {account.username},\n\nSomeone asked to reset the password of your "
        f"Resonite account. To choose a new one, open this link within {minutes} minutes:\n\n"
        f"{link}\n\nIf it was not you, ignore this message; your password stays as it is.\n",
    )


async def reset_password(ctx: Context, raw: str, new: str, confirm: str, *, ip: str | None) -> None:
    now = ctx.clock()
    async with ctx.db.read() as connection:
        account_id = await AccountLinkRepository(connection).live(digest(raw), RESET, now)
        account = await AccountRepository(connection).by_id(account_id) if account_id else None
    if account is None or account.is_locked:
        raise ValidationFailed(BAD_LINK)
    check_new_password(account, new, confirm)
    async with ctx.db.transaction() as connection:
        if await AccountLinkRepository(connection).consume(digest(raw), RESET, now) is None:
            raise ValidationFailed(BAD_LINK)
    await set_password(ctx, account, new, keep_session=None, ip=ip, event="password.reset")
