"""Operator use cases for signing keys: list and rotate (DESIGN: operators rotate keys)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.keys import KeyStatus
from resonite_auth.errors import ValidationFailed
from resonite_auth.security.keys import SUPPORTED_ALGS
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.services.keyring import add_key
from resonite_auth.storage.repositories.keys import KeyRepository, current_key, next_key


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What an operator may see of a key: never its private half."""

    kid: str
    alg: str
    status: str
    published: bool
    created_at: datetime
    activated_at: datetime | None
    retired_at: datetime | None


async def list_keys(ctx: Context) -> list[KeyInfo]:
    async with ctx.db.read() as connection:
        keys = await KeyRepository(connection).all()
    now = ctx.clock()
    return [
        KeyInfo(
            kid=key.kid,
            alg=key.alg,
            status=key.status.value,
            published=ctx.keyring.is_published(key, now),
            created_at=key.created_at,
            activated_at=key.activated_at,
            retired_at=key.retired_at,
        )
        for key in keys
    ]


@dataclass(frozen=True, slots=True)
class Rotation:
    alg: str
    retired: str | None
    current: str
    next: str


async def rotate_key(ctx: Context, alg: str = "RS256", *, actor: str = "cli") -> Rotation:
    """current → retired, next → current, a fresh key → next; all in one transaction.

    The key that starts signing has been published as `next` since the previous rotation, so
    verifiers that cache the JWKS already hold it (RFC 7517 §5, OIDC Core §10.1.1).
    """
    if alg not in SUPPORTED_ALGS:
        raise ValidationFailed(f"Unsupported algorithm {alg!r}; use {', '.join(SUPPORTED_ALGS)}.")
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = KeyRepository(connection)
        await repository.lock_for_creation()
        keys = await repository.all()
        old, upcoming = current_key(keys, alg), next_key(keys, alg)
        if old is not None:
            await repository.retire(old.kid, now)
        if upcoming is not None:
            await repository.promote(upcoming.kid, now)
            new_current = upcoming.kid
        else:  # no key was waiting (never happens after migrate): sign with a fresh one
            new_current = (await add_key(connection, alg, KeyStatus.CURRENT, now)).kid
        fresh = await add_key(connection, alg, KeyStatus.NEXT, now)
        rotation = Rotation(alg, old.kid if old else None, new_current, fresh.kid)
        await record(
            connection,
            AuditEvent(
                "key.rotated",
                actor=actor,
                detail={"alg": alg, "retired": rotation.retired, "current": new_current},
            ),
            now,
        )
    ctx.keyring.invalidate()
    return rotation
