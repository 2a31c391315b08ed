"""Client secrets: minted once, shown once, kept only as digests.

How "shown exactly once" works:
- The first secret of an application is minted when someone entitled to it asks, and only
  once: `clients.secret_issued_at` is claimed by a conditional UPDATE, so of any number of
  concurrent requests exactly one mints it. Approving from the CLI mints it there and prints
  it (the operator hands it over); approving from the queue mints nothing, and the owner
  reveals it in the portal (a POST; the page that answers it is `no-store`, and a reload or a
  second reveal finds it claimed and shows no secret).
- Rotation mints a new secret, shown in the answer to the POST only. The previous secrets
  keep working for `client_secret_grace_period` (deployments update without downtime, RFC 9700
  §2.5 urges rotation) unless the owner revokes them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.clients import Client, ClientStatus
from resonite_auth.errors import Conflict
from resonite_auth.security.tokens import digest, new_secret
from resonite_auth.services.audit import record
from resonite_auth.services.context import Context
from resonite_auth.storage.repositories.clients import ClientRepository


@dataclass(frozen=True, slots=True)
class Rotation:
    secret: str
    previous_valid_until: datetime | None  # None: the previous secrets were revoked at once


async def mint_first_secret(connection: AsyncConnection, client_id: str, now: datetime) -> str:
    """The client's first secret, or Conflict if it was already handed out."""
    repository = ClientRepository(connection)
    if not await repository.mark_secret_issued(client_id, now):
        raise Conflict("This secret was already shown once. Rotate it to get a new one.")
    secret = new_secret()
    await repository.add_secret(client_id, digest(secret), now)
    return secret


def _require_confidential_and_approved(client: Client) -> None:
    if client.is_public:
        raise Conflict("A public client has no secret: it proves itself with PKCE.")
    if client.status is not ClientStatus.APPROVED:
        raise Conflict("Secrets can only be issued while the application is approved.")


async def reveal_first_secret(
    ctx: Context, client: Client, *, actor: str, ip: str | None = None
) -> str:
    _require_confidential_and_approved(client)
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        secret = await mint_first_secret(connection, client.client_id, now)
        await record(
            connection,
            AuditEvent("client.secret_revealed", actor=actor, client_id=client.client_id, ip=ip),
            now,
        )
    return secret


async def rotate_secret(
    ctx: Context,
    client: Client,
    *,
    actor: str,
    ip: str | None = None,
    revoke_previous: bool = False,
    expected_count: int | None = None,
) -> Rotation:
    """A new secret; the previous ones end after the grace period, or now.

    `expected_count` (how many secrets the form saw) makes a resubmitted form harmless: it no
    longer matches, so a reload cannot rotate twice and revoke the secret just shown.
    """
    _require_confidential_and_approved(client)
    now = ctx.clock()
    until = (
        None
        if revoke_previous
        else now + timedelta(seconds=ctx.settings.client_secret_grace_period)
    )
    async with ctx.db.transaction() as connection:
        repository = ClientRepository(connection)
        if (
            expected_count is not None
            and len(await repository.secrets(client.client_id)) != expected_count
        ):
            raise Conflict("This secret was already rotated. Open the application again.")
        if until is None:
            await repository.revoke_secrets(client.client_id, now)
        else:
            await repository.expire_secrets(client.client_id, until)
        secret = new_secret()
        await repository.add_secret(client.client_id, digest(secret), now)
        await repository.mark_secret_issued(client.client_id, now)
        await record(
            connection,
            AuditEvent(
                "client.secret_rotated",
                actor=actor,
                client_id=client.client_id,
                ip=ip,
                detail={"previous_valid_until": until.isoformat() if until else "revoked"},
            ),
            now,
        )
    return Rotation(secret, until)


async def revoke_previous_secrets(
    ctx: Context, client: Client, *, actor: str, ip: str | None = None
) -> int:
    """End the grace period: every secret but the newest stops working now."""
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = ClientRepository(connection)
        secrets = [info for info in await repository.secrets(client.client_id) if info.is_live(now)]
        if len(secrets) < 2:
            return 0
        revoked = await repository.revoke_secrets_before(
            client.client_id, secrets[0].created_at, now
        )
        await record(
            connection,
            AuditEvent(
                "client.secrets_revoked",
                actor=actor,
                client_id=client.client_id,
                ip=ip,
                detail={"revoked": revoked},
            ),
            now,
        )
    return revoked
