"""`migrate`, `serve` and `demo`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Annotated

import typer

from resonite_auth.cli.base import emit, migrate_database, run
from resonite_auth.config import Settings

HASHING_SOCKET_ENV = "RESONITE_AUTH_PASSWORD_HASHING_SOCKET"


def register(app: typer.Typer) -> None:
    app.command()(migrate)
    app.command()(serve)
    app.command()(demo)


def migrate() -> None:
    """Apply pending database migrations."""
    migrate_database()
    typer.echo("database is up to date")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Apply pending migrations, then serve HTTP."""
    import uvicorn

    from resonite_auth.web.one_send import UVICORN_HTTP

    migrate_database()
    settings = Settings()
    typer.echo(f"resonite-auth serving {settings.issuer} (listening on http://{host}:{port})")
    with password_hashing(settings.password_hash_concurrency), balanced_workers(workers) as loop:
        uvicorn.run(
            "resonite_auth.web.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop=loop,
            # Each response's head and body in one send (web/one_send.py).
            http=UVICORN_HTTP,
            log_level=settings.log_level,
            proxy_headers=True,
        )


@contextlib.contextmanager
def balanced_workers(workers: int) -> Iterator[str]:
    """With several workers, the table through which they spread connections evenly
    (web/balanced_accept.py), and the event loop that uses it; yields uvicorn's `loop`."""
    if workers < 2:
        yield "auto"
        return
    from resonite_auth.web.balanced_accept import TABLE_ENV, WorkerTable

    table = WorkerTable.create()
    os.environ[TABLE_ENV] = str(table)  # the spawned workers inherit it
    try:
        yield "resonite_auth.web.balanced_accept:BalancedLoop"
    finally:
        del os.environ[TABLE_ENV]
        table.unlink(missing_ok=True)


@contextlib.contextmanager
def password_hashing(concurrency: int) -> Iterator[None]:
    """The server's password hashing process (security/hashing_service.py), whose socket the
    workers find in the environment they inherit; stopped when the server stops."""
    from resonite_auth.security.hashing_service import HashingProcess

    hashing = HashingProcess.start(concurrency)
    before = os.environ.get(HASHING_SOCKET_ENV)
    os.environ[HASHING_SOCKET_ENV] = str(hashing.socket_path)
    try:
        yield
    finally:
        if before is None:
            del os.environ[HASHING_SOCKET_ENV]
        else:
            os.environ[HASHING_SOCKET_ENV] = before
        hashing.stop()


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

    migrate_database()
    seeded = run(lambda ctx: seed_demo(ctx, app_url))
    emit(seeded, as_json, "\n".join(f"{key}: {value}" for key, value in seeded.items()))
