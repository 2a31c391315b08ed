"""The developer portal's use cases: apply, and manage one's own applications.

A person only ever sees and changes applications they own; anything else reads as missing
(so the portal does not reveal which client ids exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.audit import AuditEvent
from resonite_auth.domain.clients import Client, ClientSecretInfo, ClientStatus
from resonite_auth.errors import FormInvalid, NotFound, ValidationFailed
from resonite_auth.services import application_form as form
from resonite_auth.services.audit import record
from resonite_auth.services.clients import NewClient, RegisteredClient, create_client
from resonite_auth.services.context import Context
from resonite_auth.services.intake import CLOSED_NOTICE, intake_is_open
from resonite_auth.storage.repositories.clients import ClientRepository


class IntakeClosed(ValidationFailed):
    """Applications are not accepted right now (the intake switch is off)."""

    def __init__(self) -> None:
        super().__init__(CLOSED_NOTICE)


@dataclass(frozen=True, slots=True)
class Edit:
    name: str
    redirect_uris: list[str]
    homepage_url: str | None
    logo_url: str | None


async def apply(
    ctx: Context, account: Account, new: NewClient, *, ip: str | None = None
) -> RegisteredClient:
    """Submit an application for review; it starts `pending`, with no secret."""
    if not await intake_is_open(ctx):
        raise IntakeClosed()
    pending = NewClient(
        name=new.name,
        redirect_uris=new.redirect_uris,
        scopes=new.scopes,
        is_public=new.is_public,
        approve=False,
        owner_id=account.id,
        contact_name=new.contact_name,
        reason=new.reason,
        homepage_url=new.homepage_url,
        logo_url=new.logo_url,
    )
    return await create_client(ctx, pending, actor=account.id, ip=ip)


async def owned_applications(ctx: Context, account: Account) -> list[Client]:
    async with ctx.db.read() as connection:
        return await ClientRepository(connection).owned_by(account.id)


async def owned_application(
    ctx: Context, account: Account, client_id: str
) -> tuple[Client, list[ClientSecretInfo]]:
    async with ctx.db.read() as connection:
        repository = ClientRepository(connection)
        client = await repository.by_id(client_id)
        if client is None or client.owner_id != account.id:
            raise NotFound("No application of yours has this client id.")
        return client, await repository.secrets(client_id)


def edit_errors(edit: Edit) -> dict[str, str]:
    return form.only_errors(
        {
            "name": form.name_error(edit.name),
            "redirect_uris": form.redirect_uris_error(edit.redirect_uris),
            "homepage_url": form.optional_url_error(edit.homepage_url, "homepage"),
            "logo_url": form.optional_url_error(edit.logo_url, "logo address"),
        }
    )


def split_redirect_uris(client: Client, wanted: list[str]) -> tuple[list[str], list[str]]:
    """(usable now, awaiting review). Once an application was approved, a removed URI stops
    working at once while an added one waits for an admin: a new redirect target is exactly
    what an attacker who took over a developer's account would add. (A suspended application
    counts as approved here, so reinstating it cannot slip in unreviewed URIs.)"""
    if client.status not in (ClientStatus.APPROVED, ClientStatus.SUSPENDED):
        return wanted, []
    return [u for u in wanted if u in client.redirect_uris], [
        u for u in wanted if u not in client.redirect_uris
    ]


async def edit_application(
    ctx: Context, account: Account, client: Client, edit: Edit, *, ip: str | None = None
) -> Client:
    errors = edit_errors(edit)
    if errors:
        raise FormInvalid(errors)
    live, pending = split_redirect_uris(client, edit.redirect_uris)
    values: dict[str, Any] = {
        "name": edit.name.strip(),
        "homepage_url": edit.homepage_url or None,
        "logo_url": edit.logo_url or None,
        "redirect_uris": live,
        "pending_redirect_uris": pending or None,
    }
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = ClientRepository(connection)
        await repository.update(client.client_id, now, **values)
        detail = {
            "name": values["name"],
            "removed_redirect_uris": [u for u in client.redirect_uris if u not in live],
            "redirect_uris_for_review": pending,
        }
        await record(
            connection,
            AuditEvent(
                "client.updated", actor=account.id, client_id=client.client_id, ip=ip, detail=detail
            ),
            now,
        )
        updated = await repository.by_id(client.client_id)
    assert updated is not None
    return updated


async def delete_application(
    ctx: Context, account: Account, client: Client, *, ip: str | None = None
) -> None:
    """Delete the application and everything it was given (grants, codes, tokens, secrets)."""
    now = ctx.clock()
    async with ctx.db.transaction() as connection:
        repository = ClientRepository(connection)
        revoked = await repository.revoke_issued(client.client_id, now)
        await repository.delete(client.client_id)
        await record(
            connection,
            AuditEvent(
                "client.deleted",
                actor=account.id,
                client_id=client.client_id,
                ip=ip,
                detail={"name": client.name, "tokens_revoked": revoked},
            ),
            now,
        )
