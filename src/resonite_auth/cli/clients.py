"""`resonite-auth clients …`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from resonite_auth.cli.base import emit, run

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
