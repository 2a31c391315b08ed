"""The owner's secret actions: reveal the first secret once, rotate, end the grace period.

A secret is only ever in the answer to the POST that minted it (`no-store`); no page that a
GET or a reload can fetch shows it again.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.clients import Client
from resonite_auth.errors import Conflict, NotFound
from resonite_auth.services import client_secrets
from resonite_auth.services.applications import owned_application
from resonite_auth.web.access import NOT_YOURS, member
from resonite_auth.web.http import (
    client_ip,
    context_of,
    csrf_failed_page,
    csrf_ok,
    error_page,
    form_params,
    render,
    see_other,
)
from resonite_auth.web.routes.developer_pages import application_page

router = APIRouter(prefix="/developers/applications/{client_id}")


async def _owner_post(
    request: Request, client_id: str
) -> tuple[Account, Client, dict[str, str | None]] | Response:
    """Checks every secret action needs: signed in, CSRF, and the application is theirs."""
    account = await member(request)
    if not isinstance(account, Account):
        return account
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    try:
        client, _ = await owned_application(context_of(request), account, client_id)
    except NotFound:
        return error_page(request, NOT_YOURS, status_code=404)
    fields = {name: params.raw(name) for name in ("revoke_previous", "expected")}
    return account, client, fields


def _secret_page(
    request: Request, client: Client, secret: str, heading: str, note: str
) -> Response:
    return render(
        request,
        "developers/secret.html",
        {"title": heading, "client": client, "secret": secret, "note": note},
    )


@router.post("/reveal")
async def reveal(request: Request, client_id: str) -> Response:
    checked = await _owner_post(request, client_id)
    if isinstance(checked, Response):
        return checked
    account, client, _ = checked
    try:
        secret = await client_secrets.reveal_first_secret(
            context_of(request), client, actor=account.id, ip=client_ip(request)
        )
    except Conflict as error:
        return await application_page(
            request, account, client_id, notice=str(error), status_code=409
        )
    return _secret_page(request, client, secret, "Your client secret", "")


@router.post("/rotate")
async def rotate(request: Request, client_id: str) -> Response:
    checked = await _owner_post(request, client_id)
    if isinstance(checked, Response):
        return checked
    account, client, fields = checked
    expected = fields["expected"]
    try:
        rotation = await client_secrets.rotate_secret(
            context_of(request),
            client,
            actor=account.id,
            ip=client_ip(request),
            revoke_previous=fields["revoke_previous"] == "yes",
            expected_count=int(expected) if expected and expected.isdigit() else -1,
        )
    except Conflict as error:
        return await application_page(
            request, account, client_id, notice=str(error), status_code=409
        )
    until = rotation.previous_valid_until
    note = (
        "Your previous secret was revoked and no longer works."
        if until is None
        else f"Your previous secret keeps working until {until:%d %B %Y, %H:%M} UTC, "
        "or until you revoke it on the application's page."
    )
    return _secret_page(request, client, rotation.secret, "Your new client secret", note)


@router.post("/revoke-previous")
async def revoke_previous(request: Request, client_id: str) -> Response:
    checked = await _owner_post(request, client_id)
    if isinstance(checked, Response):
        return checked
    account, client, _ = checked
    await client_secrets.revoke_previous_secrets(
        context_of(request), client, actor=account.id, ip=client_ip(request)
    )
    return see_other(f"/developers/applications/{client_id}")
