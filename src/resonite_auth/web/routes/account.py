"""The person's own pages: home, sign-in outside a flow, sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from resonite_auth.security.ratelimit import RateLimited
from resonite_auth.services.accounts import authenticate
from resonite_auth.services.sessions import current_session, end_session
from resonite_auth.web.http import (
    client_ip,
    context_of,
    csrf_failed_page,
    csrf_ok,
    delete_cookie,
    form_params,
    rate_limited_page,
    read_cookie,
    render,
    safe_next,
)
from resonite_auth.web.routes.signin_steps import after_password

router = APIRouter()


@router.get("/")
async def home(request: Request) -> Response:
    session = await current_session(context_of(request), read_cookie(request, "session"))
    return render(
        request,
        "home.html",
        {"title": "Your account", "account": session[1] if session else None},
    )


@router.get("/signin")
async def signin_page(request: Request) -> Response:
    return render(
        request,
        "signin.html",
        {
            "title": "Sign in",
            "action": "/signin",
            "username": "",
            "next": safe_next(request.query_params.get("next")),
        },
    )


@router.post("/signin")
async def signin(request: Request) -> Response:
    ctx = context_of(request)
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    username = (params.raw("username") or "").strip()
    try:
        account = await authenticate(
            ctx, username, params.raw("password") or "", ip=client_ip(request)
        )
    except RateLimited as error:
        return rate_limited_page(request, error)
    if account is None:
        return render(
            request,
            "signin.html",
            {
                "title": "Sign in",
                "action": "/signin",
                "username": username,
                "error": "That username or password is not right, or the account is locked.",
                "next": safe_next(params.raw("next")),
            },
            status_code=401,
        )
    return await after_password(
        request, account, return_to=safe_next(params.raw("next")), interaction_id=None
    )


@router.post("/signout")
async def signout(request: Request) -> Response:
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    await end_session(context_of(request), read_cookie(request, "session"))
    response = render(request, "signed_out.html", {"title": "Signed out"})
    delete_cookie(request, response, "session")
    return response
