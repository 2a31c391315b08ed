"""`resonite-auth gc`: delete what has expired (the server also does it periodically)."""

from __future__ import annotations

from typing import Annotated

import typer

from resonite_auth.cli.base import emit, run


def register(app: typer.Typer) -> None:
    app.command("gc")(gc)


def gc(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Delete expired codes, tokens, sessions and assertions, unpublished retired keys, and
    audit events older than RESONITE_AUTH_AUDIT_RETENTION_DAYS."""
    from resonite_auth.services.housekeeping import collect_garbage

    deleted = run(collect_garbage)
    emit(deleted, as_json, "\n".join(f"{name}: {count} deleted" for name, count in deleted.items()))
