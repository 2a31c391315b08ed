"""`/account/applications` (connected apps, revoke) and `/account/sessions` (sign out others)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from resonite_auth.errors import NotFound
from resonite_auth.oauth.scopes import describe
from resonite_auth.services import connected
from resonite_auth.web.http import (
    client_ip,
    context_of,
    csrf_failed_page,
    csrf_ok,
    form_params,
    render,
    see_other,
    signed_in,
    signin_redirect,
)
from resonite_auth.web.user_agents import describe_user_agent

router = APIRouter()
APPS = "/account/applications"
SESSIONS = "/account/sessions"


@router.get(APPS)
async def applications_page(request: Request) -> Response:
    session = await signed_in(request)
    if session is None:
        return signin_redirect(request)
    ctx = context_of(request)
    apps = await connected.connected_apps(ctx, session[1])
    revoked = request.query_params.get("revoked")
    return render(
        request,
        "applications.html",
        {
            "title": "Connected applications",
            "apps": [(app, describe(app.scopes)) for app in apps],
            # Named from the database, never from the query: no text injection into the page.
            "notice": await connected.revoked_app_name(ctx, session[1], revoked)
            if revoked
            else None,
        },
    )


@router.post(APPS + "/revoke")
async def revoke(request: Request) -> Response:
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    session = await signed_in(request)
    if session is None:
        return signin_redirect(request)
    grant_id = params.raw("grant") or ""
    try:
        await connected.revoke_app(context_of(request), session[1], grant_id, ip=client_ip(request))
    except NotFound:
        return see_other(APPS)
    return see_other(f"{APPS}?{urlencode({'revoked': grant_id})}")


@router.get(SESSIONS)
async def sessions_page(request: Request) -> Response:
    session = await signed_in(request)
    if session is None:
        return signin_redirect(request)
    rows = await connected.live_sessions(context_of(request), session[1])
    rows.sort(key=lambda row: row.id_digest != session[0].id_digest)  # this browser first
    return render(
        request,
        "sessions.html",
        {
            "title": "Sessions",
            "sessions": [
                {
                    "handle": connected.session_handle(row.id_digest),
                    "current": row.id_digest == session[0].id_digest,
                    "device": describe_user_agent(row.user_agent),
                    "ip": row.ip or "unknown",
                    "started": row.created_at,
                    "last_seen": row.last_seen_at,
                    "two_step": "otp" in row.amr,
                }
                for row in rows
            ],
            "notice": request.query_params.get("ended"),
        },
    )


@router.post(SESSIONS + "/end")
async def end_one(request: Request) -> Response:
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    session = await signed_in(request)
    if session is None:
        return signin_redirect(request)
    try:
        await connected.end_session_by_handle(
            context_of(request), session[1], params.raw("session") or "", ip=client_ip(request)
        )
    except NotFound:
        return see_other(SESSIONS)
    return see_other(f"{SESSIONS}?ended=1")


@router.post(SESSIONS + "/end-others")
async def end_others(request: Request) -> Response:
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    session = await signed_in(request)
    if session is None:
        return signin_redirect(request)
    await connected.end_all_other_sessions(
        context_of(request), session[1], current=session[0].id_digest, ip=client_ip(request)
    )
    return see_other(f"{SESSIONS}?ended=others")
