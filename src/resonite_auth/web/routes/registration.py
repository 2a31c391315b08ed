"""`/register`, `/verify-email`, `/forgot-password`, `/reset-password`.

Links from mail open a page with a button rather than acting on GET, so mail scanners that
fetch links cannot spend them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from resonite_auth.errors import Conflict, UnverifiedRedirect, ValidationFailed
from resonite_auth.security.ratelimit import RateLimited
from resonite_auth.services import limits, registration
from resonite_auth.web.http import (
    client_ip,
    context_of,
    csrf_failed_page,
    csrf_ok,
    error_page,
    form_params,
    rate_limited_page,
    render,
    see_other,
    signed_in,
    signin_redirect,
)

router = APIRouter()
CLOSED = UnverifiedRedirect(
    "Registration is closed", "New accounts cannot be created here right now."
)


def _form(request: Request, values: dict[str, Any], status_code: int = 200) -> Response:
    page = {"title": "Create your account", "username": "", "email": "", "error": None}
    page.update(values)
    return render(request, "register.html", page, status_code=status_code)


@router.get("/register")
async def register_page(request: Request) -> Response:
    if not context_of(request).settings.signup:
        return error_page(request, CLOSED, status_code=404)
    return _form(request, {})


@router.post("/register")
async def register(request: Request) -> Response:
    ctx = context_of(request)
    if not ctx.settings.signup:
        return error_page(request, CLOSED, status_code=404)
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    username = (params.raw("username") or "").strip()
    email = (params.raw("email") or "").strip()
    subjects = [(limits.signin_address(ctx.settings), client_ip(request))]
    try:
        await limits.guard(ctx, subjects)
        await limits.count_failure(
            ctx, subjects, ip=client_ip(request)
        )  # every attempt counts against scripted signups
        await registration.register(
            ctx,
            username,
            email,
            params.raw("password") or "",
            params.raw("confirm") or "",
            ip=client_ip(request),
        )
    except RateLimited as error:
        return rate_limited_page(request, error)
    except (ValidationFailed, Conflict) as error:
        return _form(request, {"username": username, "email": email, "error": str(error)}, 400)
    return render(request, "check_email.html", {"title": "Check your email", "email": email})


@router.get("/verify-email")
async def verify_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    if not await registration.link_is_live(context_of(request), token, registration.VERIFY):
        return error_page(request, UnverifiedRedirect("Link expired", registration.BAD_LINK))
    return render(request, "verify_email.html", {"title": "Confirm your email", "token": token})


@router.post("/verify-email")
async def verify(request: Request) -> Response:
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    try:
        await registration.verify_email(context_of(request), params.raw("token") or "")
    except ValidationFailed as error:
        return error_page(request, UnverifiedRedirect("Link expired", str(error)))
    return render(request, "done.html", {"title": "Your email is confirmed", "signin": True})


@router.post("/account/verify-email/resend")
async def resend_verification(request: Request) -> Response:
    ctx = context_of(request)
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    session = await signed_in(request)
    if session is None:
        return signin_redirect(request)
    subjects = [(limits.signin_address(ctx.settings), client_ip(request))]
    try:
        await limits.guard(ctx, subjects)
        await limits.count_failure(
            ctx, subjects, ip=client_ip(request)
        )  # mail is not free: every resend counts
    except RateLimited as error:
        return rate_limited_page(request, error)
    sent = session[1].email_verified or await registration.deliver(
        ctx, await registration.verification_mail(ctx, session[1])
    )
    return see_other(f"/account?sent={'1' if sent else 'failed'}")


@router.get("/forgot-password")
async def forgot_page(request: Request) -> Response:
    return render(request, "forgot_password.html", {"title": "Forgot your password?"})


@router.post("/forgot-password")
async def forgot(request: Request) -> Response:
    ctx = context_of(request)
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    try:
        mail = await registration.reset_mail(
            ctx, (params.raw("login") or "").strip(), ip=client_ip(request)
        )
    except RateLimited as error:
        return rate_limited_page(request, error)
    response = render(request, "forgot_password.html", {"title": "Check your email", "sent": True})
    if mail is not None:
        # Sent after the answer, so the answer takes as long whether or not the account exists.
        response.background = BackgroundTask(registration.deliver, ctx, mail)
    return response


@router.get("/reset-password")
async def reset_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    if not await registration.link_is_live(context_of(request), token, registration.RESET):
        return error_page(request, UnverifiedRedirect("Link expired", registration.BAD_LINK))
    return render(
        request, "reset_password.html", {"title": "Choose a new password", "token": token}
    )


@router.post("/reset-password")
async def reset(request: Request) -> Response:
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    token = params.raw("token") or ""
    try:
        await registration.reset_password(
            context_of(request),
            token,
            params.raw("new") or "",
            params.raw("confirm") or "",
            ip=client_ip(request),
        )
    except ValidationFailed as error:
        if str(error) == registration.BAD_LINK:
            return error_page(request, UnverifiedRedirect("Link expired", str(error)))
        values = {"title": "Choose a new password", "token": token, "error": str(error)}
        return render(request, "reset_password.html", values, status_code=400)
    return render(request, "done.html", {"title": "Your password is changed", "signin": True})
