"""`resonite-auth …`: serve, migrate, users, clients, demo.

Every command reads RESONITE_AUTH_DATABASE_URL and RESONITE_AUTH_ISSUER; errors go to stderr
with a non-zero exit status. Names and flags are a contract other tools script against.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from resonite_auth.config import Settings
from resonite_auth.errors import ResoniteAuthError
from resonite_auth.services.context import Context
from resonite_auth.storage.migrate import upgrade

T = TypeVar("T")

app = typer.Typer(
    help="resonite-auth: the platform's OAuth 2.0 / OpenID Connect server.",
    no_args_is_help=True,
    add_completion=False,
)
users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
clients_app = typer.Typer(help="Manage applications (OAuth clients).", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(clients_app, name="clients")


def run(work: Callable[[Context], Awaitable[T]]) -> T:
    """Run `work` with a fresh context; known errors become a message and exit status 1."""

    async def _main() -> T:
        ctx = Context.from_settings(Settings())
        try:
            return await work(ctx)
        finally:
            await ctx.close()

    try:
        return asyncio.run(_main())
    except ResoniteAuthError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


def emit(data: dict[str, Any] | list[Any], as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, default=str) if as_json else text)


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    migrate_quietly()
    typer.echo("database is up to date")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Apply pending migrations, then serve HTTP."""
    import uvicorn

    migrate_quietly()
    settings = Settings()
    typer.echo(f"resonite-auth serving {settings.issuer} (listening on http://{host}:{port})")
    uvicorn.run(
        "resonite_auth.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        proxy_headers=True,
    )


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="The platform username.")],
    email: Annotated[str, typer.Option(help="The account's email address.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    admin: Annotated[bool, typer.Option("--admin", help="Make the account an admin.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create an account."""
    from resonite_auth.services.accounts import NewAccount, create_account

    if not password_stdin:
        typer.echo("error: pass --password-stdin and the password on standard input", err=True)
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\r\n")
    new = NewAccount(
        username=username, email=email, password=password, is_admin=admin, is_verified=True
    )
    account = run(lambda ctx: create_account(ctx, new))
    emit(
        {"id": account.id, "username": account.username},
        as_json,
        f"created {account.username} ({account.id})",
    )


@clients_app.command("create")
def clients_create(
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
    text = "\n".join(f"{key}: {value}" for key, value in data.items())
    emit(data, as_json, text)


@app.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    app_url: Annotated[
        str, typer.Option(help="Base URL of the example event registration site.")
    ] = "http://127.0.0.1:8081",
) -> None:
    """Seed demo data (idempotent) and print the demo credentials.

    The demo client's secret is replaced on every run, since only its digest is kept.
    """
    from resonite_auth.services.demo import seed_demo

    migrate_quietly()
    seeded = run(lambda ctx: seed_demo(ctx, app_url))
    emit(seeded, as_json, "\n".join(f"{key}: {value}" for key, value in seeded.items()))


def migrate_quietly() -> None:
    async def _migrate(ctx: Context) -> None:
        await upgrade(ctx.db)
        await ctx.keyring.ensure_signing_key(ctx.db)

    run(_migrate)


def main() -> None:
    app()
