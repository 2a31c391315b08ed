"""The owner's page of one application (shared by the portal's routes)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from resonite_auth.domain.accounts import Account
from resonite_auth.errors import NotFound
from resonite_auth.oauth.scopes import describe
from resonite_auth.services.applications import owned_application
from resonite_auth.web.access import NOT_YOURS
from resonite_auth.web.http import context_of, error_page, render


async def application_page(
    request: Request,
    account: Account,
    client_id: str,
    *,
    edit_values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    ctx = context_of(request)
    try:
        client, secrets = await owned_application(ctx, account, client_id)
    except NotFound:
        return error_page(request, NOT_YOURS, status_code=404)
    now = ctx.clock()
    live = [info for info in secrets if info.is_live(now)]
    values = edit_values or {
        "name": client.name,
        "redirect_uris": "\n".join(client.redirect_uris + client.pending_redirect_uris),
        "homepage_url": client.homepage_url or "",
        "logo_url": client.logo_url or "",
    }
    return render(
        request,
        "developers/application.html",
        {
            "title": client.name,
            "client": client,
            "scopes": describe(client.allowed_scopes),
            "secrets": secrets,
            "live_secrets": live,
            "now": now,
            "grace_days": ctx.settings.client_secret_grace_period // 86400,
            "values": values,
            "errors": errors or {},
            "notice": notice,
            "token_endpoint": ctx.settings.url("/connect/token"),
            "authorization_endpoint": ctx.settings.url("/connect/authorize"),
        },
        status_code=status_code,
    )
