"""`resonite-auth clients …`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from resonite_auth.cli.base import emit, run

app = typer.Typer(help="Manage applications (OAuth clients).", no_args_is_help=True)


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
        post_logout_redirect_uris=post_logout_redirect_uri or [],
    )
    registered = run(lambda ctx: create_client(ctx, new))
    data: dict[str, Any] = {
        "client_id": registered.client.client_id,
        "status": registered.client.status.value,
    }
    if registered.secret is not None:
        data["client_secret"] = registered.secret
    emit(data, as_json, "\n".join(f"{key}: {value}" for key, value in data.items()))
