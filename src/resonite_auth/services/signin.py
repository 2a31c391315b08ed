"""Finishing a sign-in: straight to a session, or through the second step when TOTP is on.

Between the password and the code the person holds a short-lived challenge: a random value in
a cookie whose digest is a pending interaction of kind `second_factor` (DESIGN: Flow state).
It names the account and where to go afterwards, never a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from resonite_auth.domain.accounts import Account
from resonite_auth.errors import UnverifiedRedirect
from resonite_auth.security.tokens import digest, new_secret
from resonite_auth.services import limits, two_factor
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.accounts import AccountRepository
from resonite_auth.storage.repositories.sessions import InteractionRepository

CHALLENGE_TTL = 300
CHALLENGE_KIND = "second_factor"
CHALLENGE_EXPIRED = UnverifiedRedirect(
    "Your sign-in has expired",
    "Too much time passed between your password and your code. Sign in again.",
)


@dataclass(frozen=True, slots=True)
class Challenge:
    """A password that was right, waiting for the second step."""

    raw: str
    account: Account
    return_to: str
    interaction_id: str | None


async def start_challenge(
    ctx: Context, account: Account, *, return_to: str, interaction_id: str | None
) -> str:
    raw = new_secret()
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        await InteractionRepository(connection).add(
            {
                "id": digest(raw),
                "binding_digest": digest(raw),
                "kind": CHALLENGE_KIND,
                "params": {
                    "account_id": account.id,
                    "return_to": return_to,
                    "interaction_id": interaction_id,
                },
                "created_at": now,
                "expires_at": now + timedelta(seconds=CHALLENGE_TTL),
            }
        )
    return raw


async def load_challenge(ctx: Context, raw: str | None) -> Challenge:
    if not raw:
        raise CHALLENGE_EXPIRED
    async with ctx.db.read() as connection:
        pending = await InteractionRepository(connection).live(digest(raw), ctx.clock())
        if pending is None or pending.kind != CHALLENGE_KIND:
            raise CHALLENGE_EXPIRED
        account = await AccountRepository(connection).by_id(pending.params["account_id"])
    if account is None or account.is_locked or not account.two_factor_enabled:
        raise CHALLENGE_EXPIRED
    return Challenge(
        raw=raw,
        account=account,
        return_to=pending.params["return_to"],
        interaction_id=pending.params.get("interaction_id"),
    )


async def answer_challenge(
    ctx: Context, challenge: Challenge, code: str, *, ip: str | None
) -> bool:
    """Check the code (rate limited per account and address); True finishes the challenge."""
    subjects = limits.second_factor_subjects(ctx.settings, challenge.account.id, ip)
    await limits.guard(ctx, subjects)
    if not await two_factor.check_second_factor(ctx, challenge.account.id, code, ip=ip):
        await limits.count_failure(ctx, subjects, ip=ip)
        return False
    await limits.clear_account(ctx, subjects)
    async with ctx.db.transaction() as connection:
        if not await InteractionRepository(connection).finish(digest(challenge.raw)):
            raise CHALLENGE_EXPIRED
    return True
