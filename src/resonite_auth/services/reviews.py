"""Review decisions on applications: approve, reject, suspend, reinstate.

An admin takes them from the queue (`/admin/applications`) or the CLI. What is under review
is either a new application (`pending`) or redirect URIs added to an approved one; approve
and reject decide on whichever it is. Every decision is audited and mailed to the owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.clients import Client, ClientStatus
from resonite_auth.errors import Conflict, NotFound, ValidationFailed
from resonite_auth.services.audit import record
from resonite_auth.services.client_secrets import mint_first_secret
from resonite_auth.services.context import Context
from resonite_auth.services.notifications import notify_owner
from resonite_auth.storage.repositories.accounts import AccountRepository
from resonite_auth.storage.repositories.clients import ClientRepository

MAX_REASON = 2000


@dataclass(frozen=True, slots=True)
class Actor:
    """Who decides, and from where (audit: who, when, what, from where)."""

    name: str = "cli"
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    client: Client
    outcome: str  # approved | rejected | suspended | reinstated | changes_approved | …
    secret: str | None = None  # only when the approval minted the first secret


async def _load(connection: AsyncConnection, client_id: str) -> Client:
    client = await ClientRepository(connection).by_id(client_id)
    if client is None:
        raise NotFound(f"No application with client id {client_id!r}.")
    return client


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("Give a reason; the applicant will read it.")
    if len(text) > MAX_REASON:
        raise ValidationFailed(f"Keep the reason under {MAX_REASON} characters.")
    return text


async def _finish(
    ctx: Context, connection: AsyncConnection, client_id: str, event: AuditEvent
) -> Client:
    await record(connection, event, ctx.clock())
    return await _load(connection, client_id)


async def approve(
    ctx: Context, client_id: str, actor: Actor, *, issue_secret: bool = False
) -> Decision:
    """Approve a new application, or the redirect URIs added to an approved one.

    `issue_secret`: the CLI hands the first secret to the operator (printed once); from the
    queue no secret is minted and the owner reveals it once in the portal instead.
    """
    now, secret = ctx.clock(), None
    async with ctx.db.transaction() as connection:
        client = await _load(connection, client_id)
        repository = ClientRepository(connection)
        if client.status in (ClientStatus.PENDING, ClientStatus.REJECTED):
            outcome = "approved"
            await repository.update(
                client_id, now, status=ClientStatus.APPROVED.value, review_reason=None
            )
            if issue_secret and not client.is_public:
                secret = await mint_first_secret(connection, client_id, now)
        elif client.status is ClientStatus.APPROVED and client.pending_redirect_uris:
            outcome = "changes_approved"
            merged = list(dict.fromkeys(client.redirect_uris + client.pending_redirect_uris))
            await repository.update(
                client_id, now, redirect_uris=merged, pending_redirect_uris=None, review_reason=None
            )
        else:
            raise Conflict(f"{client.name} is {client.status.value}: there is nothing to approve.")
        detail = {"outcome": outcome, "secret_issued": secret is not None}
        if outcome == "changes_approved":
            detail["redirect_uris"] = client.pending_redirect_uris
        event = AuditEvent(
            "client.approved", actor=actor.name, client_id=client_id, ip=actor.ip, detail=detail
        )
        client = await _finish(ctx, connection, client_id, event)
    await notify_owner(ctx, client, outcome)
    return Decision(client, outcome, secret)


async def reject(ctx: Context, client_id: str, reason: str | None, actor: Actor) -> Decision:
    """Reject a new application, or drop the redirect URIs added to an approved one."""
    text, now = _reason(reason), ctx.clock()
    async with ctx.db.transaction() as connection:
        client = await _load(connection, client_id)
        repository = ClientRepository(connection)
        if client.status is ClientStatus.PENDING:
            outcome = "rejected"
            await repository.update(
                client_id, now, status=ClientStatus.REJECTED.value, review_reason=text
            )
        elif client.status is ClientStatus.APPROVED and client.pending_redirect_uris:
            outcome = "changes_rejected"
            await repository.update(client_id, now, pending_redirect_uris=None, review_reason=text)
        else:
            raise Conflict(f"{client.name} is {client.status.value}: there is nothing to reject.")
        event = AuditEvent(
            "client.rejected",
            actor=actor.name,
            client_id=client_id,
            ip=actor.ip,
            detail={"outcome": outcome, "reason": text},
        )
        client = await _finish(ctx, connection, client_id, event)
    await notify_owner(ctx, client, outcome)
    return Decision(client, outcome)


async def suspend(ctx: Context, client_id: str, reason: str | None, actor: Actor) -> Decision:
    """Stop an application at once: no new flows, and every grant and token revoked."""
    text, now = _reason(reason), ctx.clock()
    async with ctx.db.transaction() as connection:
        client = await _load(connection, client_id)
        if client.status is not ClientStatus.APPROVED:
            raise Conflict(
                f"{client.name} is {client.status.value}: only approved can be suspended."
            )
        repository = ClientRepository(connection)
        await repository.update(
            client_id, now, status=ClientStatus.SUSPENDED.value, review_reason=text
        )
        revoked = await repository.revoke_issued(client_id, now)
        event = AuditEvent(
            "client.suspended",
            actor=actor.name,
            client_id=client_id,
            ip=actor.ip,
            detail={"reason": text, "tokens_revoked": revoked},
        )
        client = await _finish(ctx, connection, client_id, event)
    await notify_owner(ctx, client, "suspended")
    return Decision(client, "suspended")


async def reinstate(ctx: Context, client_id: str, actor: Actor) -> Decision:
    """Let a suspended application sign people in again; what was revoked stays revoked."""
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        client = await _load(connection, client_id)
        if client.status is not ClientStatus.SUSPENDED:
            raise Conflict(f"{client.name} is {client.status.value}: only suspended is reinstated.")
        await ClientRepository(connection).update(
            client_id, now, status=ClientStatus.APPROVED.value, review_reason=None
        )
        event = AuditEvent("client.reinstated", actor=actor.name, client_id=client_id, ip=actor.ip)
        client = await _finish(ctx, connection, client_id, event)
    await notify_owner(ctx, client, "reinstated")
    return Decision(client, "reinstated")


async def under_review(ctx: Context, client_id: str) -> tuple[Client, Account | None]:
    """An application and the account that applied for it (None: registered from the CLI)."""
    async with ctx.db.read() as connection:
        client = await _load(connection, client_id)
        owner = None
        if client.owner_id is not None:
            owner = await AccountRepository(connection).by_id(client.owner_id)
    return client, owner


async def list_clients(ctx: Context, status: ClientStatus | None = None) -> list[Client]:
    """Every application; those awaiting review first, oldest first within each group."""
    async with ctx.db.read() as connection:
        clients = await ClientRepository(connection).list(status)
    return sorted(clients, key=lambda client: not client.awaits_review)
