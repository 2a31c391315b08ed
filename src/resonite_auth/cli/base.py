"""What every CLI command shares: the Typer apps, running a use case, printing results."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from resonite_auth.config import Settings
from resonite_auth.errors import ResoniteAuthError
from resonite_auth.services.context import Context
from resonite_auth.storage.migrate import upgrade

T = TypeVar("T")


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
    """One JSON object or list with --json, readable text otherwise."""
    typer.echo(json.dumps(data, default=str) if as_json else text)


def migrate_database() -> None:
    async def _migrate(ctx: Context) -> None:
        await upgrade(ctx.db)
        await ctx.keyring.ensure_signing_key(ctx.db)

    run(_migrate)
