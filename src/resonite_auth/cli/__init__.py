"""`resonite-auth …`: serve, migrate, users, clients, intake, demo.

Every command reads RESONITE_AUTH_DATABASE_URL and RESONITE_AUTH_ISSUER; errors go to stderr
with a non-zero exit status. Names and flags are a contract other tools script against.
"""

from __future__ import annotations

import typer

from resonite_auth.cli import clients, gc, intake, keys, server, users


def build() -> typer.Typer:
    app = typer.Typer(
        help="resonite-auth: the platform's OAuth 2.0 / OpenID Connect server.",
        no_args_is_help=True,
        add_completion=False,
    )
    server.register(app)
    app.add_typer(users.app, name="users")
    app.add_typer(clients.app, name="clients")
    app.add_typer(keys.app, name="keys")
    gc.register(app)
    app.add_typer(intake.app, name="intake")
    return app


def main() -> None:
    build()()
