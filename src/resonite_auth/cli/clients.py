"""`resonite-auth clients …`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from resonite_auth.cli.base import emit, run

if TYPE_CHECKING:
    from resonite_auth.domain.clients import Client
    from resonite_auth.services.client_secrets import Rotation
    from resonite_auth.services.context import Context
    from resonite_auth.services.reviews import Decision

app = typer.Typer(help="Manage applications (OAuth clients).", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="The application's name, shown to people.")],
    redirect_uri: Annotated[
        list[str], typer.Option("--redirect-uri", help="A redirect URI (repeatable).")
    ],
    scope: Annotated[
        str, typer.Option(help="Scopes the application may ask for, space separated.")
    ] = "openid profile",
    public: Annotated[
        bool, typer.Option("--public", help="A public client (PKCE, no secret).")
    ] = False,
    approve: Annotated[bool, typer.Option("--approve", help="Approve at once.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register an application; the secret is printed once and never stored."""
    from resonite_auth.services.clients import NewClient, create_client

    new = NewClient(
        name=name,
        redirect_uris=redirect_uri,
        scopes=scope.split(),
        is_public=public,
        approve=approve,
    )
    registered = run(lambda ctx: create_client(ctx, new))
    data: dict[str, Any] = {
        "client_id": registered.client.client_id,
        "status": registered.client.status.value,
    }
    if registered.secret is not None:
        data["client_secret"] = registered.secret
    emit(data, as_json, "\n".join(f"{key}: {value}" for key, value in data.items()))


STATUSES = ("pending", "approved", "rejected", "suspended")


def _summary(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "status": client.status.value,
        "public": client.is_public,
        "owner_id": client.owner_id,
        "contact_name": client.contact_name,
        "reason": client.reason,
        "redirect_uris": client.redirect_uris,
        "pending_redirect_uris": client.pending_redirect_uris,
        "scopes": client.allowed_scopes,
        "review_reason": client.review_reason,
        "created_at": client.created_at.isoformat(),
    }


@app.command("list")
def list_clients(
    status: Annotated[
        str | None, typer.Option(help="Only this status: pending|approved|rejected|suspended.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List applications, those awaiting review first."""
    from resonite_auth.domain.clients import ClientStatus
    from resonite_auth.services.reviews import list_clients as listing

    if status is not None and status not in STATUSES:
        typer.echo(f"error: --status must be one of {', '.join(STATUSES)}", err=True)
        raise typer.Exit(2)
    wanted = ClientStatus(status) if status else None
    clients = run(lambda ctx: listing(ctx, wanted))
    rows = [_summary(client) for client in clients]
    text = "\n".join(
        f"{c.client_id}  {c.status.value:<9}  {'*' if c.awaits_review else ' '} {c.name}"
        for c in clients
    )
    emit(rows, as_json, text or "no applications")


@app.command("approve")
def approve(
    client_id: Annotated[str, typer.Argument(help="The application's client id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Approve an application (or its new redirect URIs); a first secret is printed once."""
    from resonite_auth.services.reviews import Actor
    from resonite_auth.services.reviews import approve as decide

    decision = run(lambda ctx: decide(ctx, client_id, Actor("cli"), issue_secret=True))
    data = {
        "client_id": decision.client.client_id,
        "client_secret": decision.secret,
        "status": decision.client.status.value,
    }
    text = f"{decision.client.name}: {decision.outcome.replace('_', ' ')}"
    if decision.secret:
        text += f"\nclient_id: {client_id}\nclient_secret: {decision.secret}\n(shown only now)"
    emit(data, as_json, text)


def _decided(decision: Decision, as_json: bool) -> None:
    emit(
        {"client_id": decision.client.client_id, "status": decision.client.status.value},
        as_json,
        f"{decision.client.name}: {decision.outcome.replace('_', ' ')}",
    )


@app.command("reject")
def reject(
    client_id: Annotated[str, typer.Argument(help="The application's client id.")],
    reason: Annotated[str, typer.Option(help="Why; the applicant reads it.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Reject an application (or drop its new redirect URIs)."""
    from resonite_auth.services.reviews import Actor
    from resonite_auth.services.reviews import reject as decide

    _decided(run(lambda ctx: decide(ctx, client_id, reason, Actor("cli"))), as_json)


@app.command("suspend")
def suspend(
    client_id: Annotated[str, typer.Argument(help="The application's client id.")],
    reason: Annotated[str, typer.Option(help="Why; the owner reads it.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Suspend an application at once and revoke every token it holds."""
    from resonite_auth.services.reviews import Actor
    from resonite_auth.services.reviews import suspend as decide

    _decided(run(lambda ctx: decide(ctx, client_id, reason, Actor("cli"))), as_json)


@app.command("reinstate")
def reinstate(
    client_id: Annotated[str, typer.Argument(help="The application's client id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Let a suspended application sign people in again (revoked tokens stay revoked)."""
    from resonite_auth.services.reviews import Actor
    from resonite_auth.services.reviews import reinstate as decide

    _decided(run(lambda ctx: decide(ctx, client_id, Actor("cli"))), as_json)


@app.command("rotate-secret")
def rotate_secret(
    client_id: Annotated[str, typer.Argument(help="The application's client id.")],
    revoke_old: Annotated[
        bool, typer.Option("--revoke-old", help="Revoke the old secrets now (no grace period).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Mint a new secret (printed once); old ones work until the grace period ends."""
    from resonite_auth.services.client_secrets import rotate_secret as rotate

    async def _rotate(ctx: Context) -> Rotation:
        return await rotate(
            ctx, await _client(ctx, client_id), actor="cli", revoke_previous=revoke_old
        )

    rotation = run(_rotate)
    until = rotation.previous_valid_until
    data = {
        "client_id": client_id,
        "client_secret": rotation.secret,
        "previous_secrets_valid_until": until.isoformat() if until else None,
    }
    emit(data, as_json, "\n".join(f"{key}: {value}" for key, value in data.items()))


async def _client(ctx: Context, client_id: str) -> Client:
    from resonite_auth.errors import NotFound
    from resonite_auth.storage.repositories.clients import ClientRepository

    async with ctx.db.read() as connection:
        client = await ClientRepository(connection).by_id(client_id)
    if client is None:
        raise NotFound(f"No application with client id {client_id!r}.")
    return client
