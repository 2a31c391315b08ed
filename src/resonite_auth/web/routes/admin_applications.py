"""The review queue for admins: approve, reject, suspend, reinstate; and the intake switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from resonite_auth.domain.accounts import Account
from resonite_auth.errors import Conflict, NotFound, UnverifiedRedirect, ValidationFailed
from resonite_auth.oauth.scopes import describe
from resonite_auth.services import reviews
from resonite_auth.services.intake import intake_is_open, set_intake
from resonite_auth.services.reviews import Actor
from resonite_auth.web.access import admin
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

router = APIRouter(prefix="/admin")
MISSING = UnverifiedRedirect("Application not found", "No application has this client id.")


@router.get("/applications")
async def queue(request: Request) -> Response:
    person = await admin(request)
    if not isinstance(person, Account):
        return person
    ctx = context_of(request)
    clients = await reviews.list_clients(ctx)
    return render(
        request,
        "admin/applications.html",
        {
            "title": "Applications",
            "awaiting": [client for client in clients if client.awaits_review],
            "others": [client for client in clients if not client.awaits_review],
            "intake_open": await intake_is_open(ctx),
        },
    )


async def _detail(
    request: Request, client_id: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    ctx = context_of(request)
    try:
        client, owner = await reviews.under_review(ctx, client_id)
    except NotFound:
        return error_page(request, MISSING, status_code=404)
    return render(
        request,
        "admin/application.html",
        {
            "title": f"Review {client.name}",
            "client": client,
            "owner": owner,
            "scopes": describe(client.allowed_scopes),
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/applications/{client_id}")
async def detail(request: Request, client_id: str) -> Response:
    person = await admin(request)
    if not isinstance(person, Account):
        return person
    return await _detail(request, client_id)


async def _decide(request: Request, client_id: str, action: str) -> Response:
    """Admin, CSRF, then the decision; a refused decision re-shows the page with why."""
    person = await admin(request)
    if not isinstance(person, Account):
        return person
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    ctx = context_of(request)
    actor = Actor(person.id, client_ip(request))
    reason = params.raw("reason")
    try:
        if action == "approve":
            await reviews.approve(ctx, client_id, actor)
        elif action == "reject":
            await reviews.reject(ctx, client_id, reason, actor)
        elif action == "suspend":
            await reviews.suspend(ctx, client_id, reason, actor)
        else:
            await reviews.reinstate(ctx, client_id, actor)
    except NotFound:
        return error_page(request, MISSING, status_code=404)
    except Conflict as conflict:
        return await _detail(request, client_id, error=str(conflict), status_code=409)
    except ValidationFailed as invalid:
        return await _detail(request, client_id, error=str(invalid), status_code=400)
    return see_other(f"/admin/applications/{client_id}")


@router.post("/applications/{client_id}/approve")
async def approve(request: Request, client_id: str) -> Response:
    return await _decide(request, client_id, "approve")


@router.post("/applications/{client_id}/reject")
async def reject(request: Request, client_id: str) -> Response:
    return await _decide(request, client_id, "reject")


@router.post("/applications/{client_id}/suspend")
async def suspend(request: Request, client_id: str) -> Response:
    return await _decide(request, client_id, "suspend")


@router.post("/applications/{client_id}/reinstate")
async def reinstate(request: Request, client_id: str) -> Response:
    return await _decide(request, client_id, "reinstate")


@router.post("/intake")
async def intake(request: Request) -> Response:
    person = await admin(request)
    if not isinstance(person, Account):
        return person
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    wanted = params.raw("intake")
    if wanted in ("open", "closed"):
        await set_intake(
            context_of(request), wanted == "open", actor=person.id, ip=client_ip(request)
        )
    return see_other("/admin/applications")
