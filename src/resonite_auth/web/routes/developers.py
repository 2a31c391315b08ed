"""The developer portal: apply for an application, then see, edit and delete your own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import Response

from resonite_auth.domain.accounts import Account
from resonite_auth.errors import FormInvalid, NotFound
from resonite_auth.oauth.params import Params
from resonite_auth.oauth.scopes import SCOPES
from resonite_auth.services import applications
from resonite_auth.services.application_form import split_lines
from resonite_auth.services.applications import Edit, IntakeClosed
from resonite_auth.services.clients import NewClient, new_client_errors
from resonite_auth.services.intake import CLOSED_NOTICE, intake_is_open
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

router = APIRouter(prefix="/developers/applications")

BLANK = {"scopes": ["openid", "profile"], "client_type": "confidential"}


def _new_client(params: Params) -> NewClient:
    client_type = params.raw("client_type")
    return NewClient(
        name=params.raw("name") or "",
        redirect_uris=split_lines(params.raw("redirect_uris")),
        scopes=[name for name in SCOPES if params.raw(f"scope_{name}")],
        is_public=client_type == "public",
        contact_name=params.raw("contact_name"),
        reason=params.raw("reason"),
        homepage_url=(params.raw("homepage_url") or "").strip() or None,
        logo_url=(params.raw("logo_url") or "").strip() or None,
    )


async def _listing(
    request: Request,
    account: Account,
    values: Mapping[str, object],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    ctx = context_of(request)
    return render(
        request,
        "developers/applications.html",
        {
            "title": "Your applications",
            "account": account,
            "applications": await applications.owned_applications(ctx, account),
            "intake_open": await intake_is_open(ctx),
            "closed_notice": CLOSED_NOTICE,
            "scopes": list(SCOPES.values()),
            "values": values,
            "errors": errors,
        },
        status_code=status_code,
    )


@router.get("")
async def list_page(request: Request) -> Response:
    account = await member(request)
    if not isinstance(account, Account):
        return account
    return await _listing(request, account, BLANK, {})


@router.post("")
async def submit(request: Request) -> Response:
    account = await member(request)
    if not isinstance(account, Account):
        return account
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    new = _new_client(params)
    values = {
        **{key: params.raw(key) or "" for key in ("name", "contact_name", "reason")},
        **{key: params.raw(key) or "" for key in ("redirect_uris", "homepage_url", "logo_url")},
        "scopes": new.scopes,
        "client_type": params.raw("client_type") or "",
    }
    errors = new_client_errors(replace(new, owner_id=account.id))
    if params.raw("client_type") not in ("confidential", "public"):
        errors["client_type"] = "Choose whether the application can keep a secret."
    try:
        if errors:
            raise FormInvalid(errors)
        registered = await applications.apply(
            context_of(request), account, new, ip=client_ip(request)
        )
    except IntakeClosed:
        return await _listing(request, account, BLANK, {}, status_code=403)
    except FormInvalid as invalid:
        return await _listing(request, account, values, invalid.fields, status_code=400)
    return see_other(f"/developers/applications/{registered.client.client_id}")


@router.get("/{client_id}")
async def view(request: Request, client_id: str) -> Response:
    account = await member(request)
    if not isinstance(account, Account):
        return account
    return await application_page(request, account, client_id)


@router.post("/{client_id}/edit")
async def edit(request: Request, client_id: str) -> Response:
    account = await member(request)
    if not isinstance(account, Account):
        return account
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    ctx = context_of(request)
    try:
        client, _ = await applications.owned_application(ctx, account, client_id)
    except NotFound:
        return error_page(request, NOT_YOURS, status_code=404)
    change = Edit(
        name=params.raw("name") or "",
        redirect_uris=split_lines(params.raw("redirect_uris")),
        homepage_url=(params.raw("homepage_url") or "").strip() or None,
        logo_url=(params.raw("logo_url") or "").strip() or None,
    )
    try:
        await applications.edit_application(ctx, account, client, change, ip=client_ip(request))
    except FormInvalid as invalid:
        values = {
            key: params.raw(key) or ""
            for key in ("name", "redirect_uris", "homepage_url", "logo_url")
        }
        return await application_page(
            request, account, client_id, edit_values=values, errors=invalid.fields, status_code=400
        )
    return see_other(f"/developers/applications/{client_id}")


@router.get("/{client_id}/delete")
async def confirm_delete(request: Request, client_id: str) -> Response:
    account = await member(request)
    if not isinstance(account, Account):
        return account
    try:
        client, _ = await applications.owned_application(context_of(request), account, client_id)
    except NotFound:
        return error_page(request, NOT_YOURS, status_code=404)
    return render(
        request, "developers/delete.html", {"title": f"Delete {client.name}", "client": client}
    )


@router.post("/{client_id}/delete")
async def delete(request: Request, client_id: str) -> Response:
    account = await member(request)
    if not isinstance(account, Account):
        return account
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    ctx = context_of(request)
    try:
        client, _ = await applications.owned_application(ctx, account, client_id)
    except NotFound:
        return error_page(request, NOT_YOURS, status_code=404)
    await applications.delete_application(ctx, account, client, ip=client_ip(request))
    return see_other("/developers/applications")
