"""`resonite-auth keys …`: list and rotate the signing keys."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from resonite_auth.cli.base import emit, run

app = typer.Typer(help="Manage the signing keys (JWKS).", no_args_is_help=True)


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every key: status (next, current, retired), algorithm, and whether the JWKS shows it."""
    from resonite_auth.services.keys import list_keys

    keys = run(list_keys)
    rows = [asdict(key) for key in keys]
    lines = [
        f"{key.kid}  {key.alg:<6} {key.status:<8} "
        f"{'published' if key.published else 'unpublished':<12} created {key.created_at:%Y-%m-%d}"
        for key in keys
    ]
    emit(rows, as_json, "\n".join(lines) or "no keys")


@app.command("rotate")
def rotate(
    alg: Annotated[
        str, typer.Option("--alg", help="Which algorithm's keys to rotate: RS256, ES256 or EdDSA.")
    ] = "RS256",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The next key starts signing, the current one retires, a new next key is published.

    Retired keys stay in the JWKS until every token they signed has expired.
    """
    from resonite_auth.services.keys import rotate_key

    rotation = run(lambda ctx: rotate_key(ctx, alg))
    emit(
        asdict(rotation),
        as_json,
        f"{rotation.alg}: {rotation.current} signs now; {rotation.next} is next"
        + (f"; {rotation.retired} retired" if rotation.retired else ""),
    )
