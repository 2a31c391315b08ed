"""`resonite-auth intake open|close|status`: whether the developer portal takes applications."""

from __future__ import annotations

from typing import Annotated

import typer

from resonite_auth.cli.base import emit, run

app = typer.Typer(help="Open or close intake of new applications.", no_args_is_help=True)


def _show(is_open: bool, as_json: bool) -> None:
    emit(
        {"intake": "open" if is_open else "closed"},
        as_json,
        f"intake is {'open' if is_open else 'closed'}",
    )


@app.command("open")
def open_intake(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Accept new applications in the developer portal."""
    from resonite_auth.services.intake import set_intake

    _show(run(lambda ctx: set_intake(ctx, True)), as_json)


@app.command("close")
def close_intake(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Stop accepting new applications; existing ones are untouched."""
    from resonite_auth.services.intake import set_intake

    _show(run(lambda ctx: set_intake(ctx, False)), as_json)


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Say whether intake is open."""
    from resonite_auth.services.intake import intake_is_open

    _show(run(intake_is_open), as_json)
