"""`resonite-auth users …`."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from resonite_auth.cli.base import emit, run
from resonite_auth.domain.accounts import Account

app = typer.Typer(help="Manage accounts.", no_args_is_help=True)


@app.command("create")
def create(
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


@app.command("supporter")
def supporter(
    user: Annotated[str, typer.Argument(help="The account's id (U-…) or username.")],
    active: Annotated[
        bool,
        typer.Option(
            "--active/--inactive", help="Whether the person currently supports the platform."
        ),
    ],
    tier_cents: Annotated[
        int | None, typer.Option("--tier-cents", help="Monthly tier in cents (e.g. 500).")
    ] = None,
    months: Annotated[
        int | None, typer.Option("--months", help="Total months of support so far.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record a person's Patreon support (shown to applications granted `patreon`)."""
    from resonite_auth.oauth.profile import profile_document
    from resonite_auth.services.supporters import SupporterChange, set_supporter

    change = SupporterChange(active=active, tier_cents=tier_cents, months=months)
    account = run(lambda ctx: set_supporter(ctx, user, change))
    document = profile_document(account, ["patreon"])
    state = "an active supporter" if account.is_active_supporter else "not an active supporter"
    emit(
        {
            "id": account.id,
            "username": account.username,
            "isActiveSupporter": document["isActiveSupporter"],
            "supporterMetadata": document["supporterMetadata"],
        },
        as_json,
        f"{account.username} ({account.id}) is now {state}",
    )


def _account_json(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "username": account.username,
        "email": account.email,
        "isVerified": account.is_verified,
        "isLocked": account.is_locked,
        "2fa_login": account.two_factor_enabled,
        "isAdmin": account.is_admin,
        "registrationDate": account.registration_date.isoformat(),
    }


@app.command("list")
def list_users(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List accounts."""
    from resonite_auth.services.account_security import list_accounts

    accounts = run(list_accounts)
    rows = [_account_json(a) for a in accounts]
    lines = [
        f"{a.id}  {a.username:<32}  {'locked' if a.is_locked else 'active':<6}  "
        f"2fa={'on' if a.two_factor_enabled else 'off'}"
        for a in accounts
    ]
    emit(rows, as_json, "\n".join(lines) or "no accounts")


@app.command("lock")
def lock(
    user: Annotated[str, typer.Argument(help="User id or username.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Lock an account: sign-in refused, its sessions end, its tokens stop working."""
    from resonite_auth.services.account_security import set_locked

    account = run(lambda ctx: set_locked(ctx, user, True, actor="cli"))
    emit(_account_json(account), as_json, f"locked {account.username} ({account.id})")


@app.command("unlock")
def unlock(
    user: Annotated[str, typer.Argument(help="User id or username.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Unlock an account."""
    from resonite_auth.services.account_security import set_locked

    account = run(lambda ctx: set_locked(ctx, user, False, actor="cli"))
    emit(_account_json(account), as_json, f"unlocked {account.username} ({account.id})")


@app.command("reset-2fa")
def reset_2fa(
    user: Annotated[str, typer.Argument(help="User id or username.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Turn two-step sign-in off for an account (lost device and recovery codes)."""
    from resonite_auth.services.account_security import reset_two_factor

    account = run(lambda ctx: reset_two_factor(ctx, user, actor="cli"))
    emit(
        {"id": account.id, "username": account.username, "2fa_login": False},
        as_json,
        f"two-step sign-in is off for {account.username} ({account.id})",
    )
