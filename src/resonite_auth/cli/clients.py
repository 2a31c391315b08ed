"""`resonite-auth clients …`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from resonite_auth.cli.base import emit, run

if TYPE_CHECKING:
    from resonite_auth.domain.clients import Client
    from resonite_auth.services.client_secrets import Rotation
    from resonite_auth.services.context import Context
    from resonite_auth.services.reviews import Decision

app = typer.Typer(help="Manage applications (OAuth clients).", no_args_is_help=True)

ResourceServer = Annotated[
    bool | None,
    typer.Option(
        "--resource-server/--no-resource-server",
        help="May introspect any client's tokens (RFC 7662).",
    ),
]
AccessTokenFormat = Annotated[
    str | None,
    typer.Option("--access-token-format", help="opaque (default) or jwt (RFC 9068)."),
]
IdTokenAlg = Annotated[
    str | None,
    typer.Option("--id-token-alg", help="ID token signing algorithm: RS256, ES256 or EdDSA."),
]
DeviceGrant = Annotated[
    bool | None,
    typer.Option(
        "--device-grant/--no-device-grant",
        help="May use the device authorization grant (RFC 8628).",
    ),
]
JwksFile = Annotated[
    Path | None,
    typer.Option(
        "--jwks-file",
        help="The client's public JWK set (JSON file) for private_key_jwt; such a client "
        "gets no secret.",
    ),
]


def _option_changes(
    device_grant: bool | None,
    resource_server: bool | None,
    access_token_format: str | None,
    id_token_alg: str | None,
    jwks_file: Path | None,
) -> dict[str, Any]:
    from resonite_auth.errors import ValidationFailed

    changes: dict[str, Any] = {}
    if device_grant is not None:
        changes["allow_device_grant"] = device_grant
    if resource_server is not None:
        changes["is_resource_server"] = resource_server
    if access_token_format is not None:
        changes["access_token_format"] = access_token_format
    if id_token_alg is not None:
        changes["id_token_signed_response_alg"] = id_token_alg
    if jwks_file is not None:
        try:
            changes["jwks"] = json.loads(jwks_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            typer.echo(f"error: {ValidationFailed(f'cannot read {jwks_file}: {exc}')}", err=True)
            raise typer.Exit(1) from None
    return changes


def _describe(client: Any, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "client_id": client.client_id,
        "status": client.status.value,
        "allow_device_grant": client.allow_device_grant,
        "is_resource_server": client.is_resource_server,
        "access_token_format": client.access_token_format,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "token_endpoint_auth_method": "private_key_jwt"
        if client.jwks
        else ("none" if client.is_public else "client_secret_basic"),
    }
    if secret is not None:
        data["client_secret"] = secret
    return data


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="The application's name, shown to people.")],
    redirect_uri: Annotated[
        list[str], typer.Option("--redirect-uri", help="A redirect URI (repeatable).")
    ],
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option(
            "--post-logout-redirect-uri",
            help="Where the application may send people after signing out (repeatable).",
        ),
    ] = None,
    scope: Annotated[
        str, typer.Option(help="Scopes the application may ask for, space separated.")
    ] = "openid profile",
    public: Annotated[
        bool, typer.Option("--public", help="A public client (PKCE, no secret).")
    ] = False,
    approve: Annotated[bool, typer.Option("--approve", help="Approve at once.")] = False,
    device_grant: DeviceGrant = None,
    resource_server: ResourceServer = None,
    access_token_format: AccessTokenFormat = None,
    id_token_alg: IdTokenAlg = None,
    jwks_file: JwksFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register an application; the secret is printed once and never stored."""
    from resonite_auth.services.client_options import ClientOptions
    from resonite_auth.services.clients import NewClient, create_client

    changes = _option_changes(
        device_grant, resource_server, access_token_format, id_token_alg, jwks_file
    )
    new = NewClient(
        name=name,
        redirect_uris=redirect_uri,
        scopes=scope.split(),
        is_public=public,
        approve=approve,
        options=ClientOptions().replaced(changes),
        post_logout_redirect_uris=post_logout_redirect_uri or [],
    )
    registered = run(lambda ctx: create_client(ctx, new))
    data = _describe(registered.client, registered.secret)
    emit(data, as_json, "\n".join(f"{key}: {value}" for key, value in data.items()))


@app.command("update")
def update(
    client_id: Annotated[str, typer.Argument(help="The application's client id.")],
    device_grant: DeviceGrant = None,
    resource_server: ResourceServer = None,
    access_token_format: AccessTokenFormat = None,
    id_token_alg: IdTokenAlg = None,
    jwks_file: JwksFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Change an application's token options; options not given stay as they are."""
    from resonite_auth.services.clients import update_client_options

    changes = _option_changes(
        device_grant, resource_server, access_token_format, id_token_alg, jwks_file
    )
    client = run(lambda ctx: update_client_options(ctx, client_id, changes))
    data = _describe(client)
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
