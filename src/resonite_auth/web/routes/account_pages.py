"""`/account` and `/account/security`: two-step sign-in (TOTP) and the password."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.grants import BrowserSession
from resonite_auth.errors import ValidationFailed
from resonite_auth.security.ratelimit import RateLimited
from resonite_auth.services import two_factor
from resonite_auth.services.account_security import change_password
from resonite_auth.web.http import (
    client_ip,
    context_of,
    csrf_failed_page,
    csrf_ok,
    form_params,
    rate_limited_page,
    render,
    see_other,
    signed_in,
    signin_redirect,
)

router = APIRouter()
SECURITY = "/account/security"
NOTICES = {
    "disabled": "Two-step sign-in is off.",
    "password": "Your password was changed. Your other sessions were signed out.",
}


@router.get("/account")
async def account_home(request: Request) -> Response:
    session = await signed_in(request)
    if session is None:
        return signin_redirect(request)
    values = {"title": "Your account", "account": session[1]}
    values["sent"] = request.query_params.get("sent")
    return render(request, "home.html", values)


@router.get(SECURITY)
async def security_page(request: Request) -> Response:
    session = await signed_in(request)
    if session is None:
        return signin_redirect(request)
    notice = NOTICES.get(request.query_params.get("done", ""))
    return await _security(request, session[1], notice=notice)


async def _security(
    request: Request,
    account: Account,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    ctx = context_of(request)
    values: dict[str, Any] = {
        "title": "Security",
        "account": account,
        "notice": notice,
        "error": error,
        "recovery_left": await two_factor.remaining_recovery_codes(ctx, account.id),
        "enrolment": await two_factor.pending_enrolment(ctx, account),
    }
    values.update(extra)
    return render(request, "security.html", values, status_code=status_code)


@dataclass(frozen=True, slots=True)
class SignedInForm:
    session: BrowserSession
    account: Account
    fields: dict[str, str]


async def _signed_in_form(request: Request) -> SignedInForm | Response:
    """The session and fields of a POST, or the response that refuses it (CSRF, signed out)."""
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    session = await signed_in(request)
    if session is None:
        return signin_redirect(request)
    fields = {key: params.raw(key) or "" for key in ("code", "password", "new", "confirm")}
    return SignedInForm(session[0], session[1], fields)


@router.post(f"{SECURITY}/totp/start")
async def totp_start(request: Request) -> Response:
    form = await _signed_in_form(request)
    if isinstance(form, Response):
        return form
    try:
        await two_factor.begin_enrolment(context_of(request), form.account)
    except ValidationFailed as error:
        return await _security(request, form.account, error=str(error), status_code=400)
    return see_other(f"{SECURITY}#two-step")


@router.post(f"{SECURITY}/totp/confirm")
async def totp_confirm(request: Request) -> Response:
    form = await _signed_in_form(request)
    if isinstance(form, Response):
        return form
    ctx = context_of(request)
    try:
        codes = await two_factor.confirm_enrolment(
            ctx,
            form.account,
            form.fields["code"],
            session_digest=form.session.id_digest,
            ip=client_ip(request),
        )
    except RateLimited as error:
        return rate_limited_page(request, error)
    except ValidationFailed as error:
        return await _security(request, form.account, error=str(error), status_code=400)
    return render(
        request,
        "recovery_codes.html",
        {"title": "Save your recovery codes", "codes": codes},
    )


@router.post(f"{SECURITY}/totp/disable")
async def totp_disable(request: Request) -> Response:
    form = await _signed_in_form(request)
    if isinstance(form, Response):
        return form
    try:
        await two_factor.disable(
            context_of(request),
            form.account,
            form.fields["password"],
            form.fields["code"],
            ip=client_ip(request),
        )
    except RateLimited as error:
        return rate_limited_page(request, error)
    except ValidationFailed as error:
        return await _security(request, form.account, error=str(error), status_code=400)
    return see_other(f"{SECURITY}?done=disabled")


@router.post(f"{SECURITY}/recovery-codes")
async def recovery_codes(request: Request) -> Response:
    form = await _signed_in_form(request)
    if isinstance(form, Response):
        return form
    try:
        codes = await two_factor.new_recovery_codes(
            context_of(request), form.account, form.fields["password"], ip=client_ip(request)
        )
    except RateLimited as error:
        return rate_limited_page(request, error)
    except ValidationFailed as error:
        return await _security(request, form.account, error=str(error), status_code=400)
    return render(
        request,
        "recovery_codes.html",
        {"title": "Your new recovery codes", "codes": codes, "replaced": True},
    )


@router.post(f"{SECURITY}/password")
async def password_change(request: Request) -> Response:
    form = await _signed_in_form(request)
    if isinstance(form, Response):
        return form
    try:
        await change_password(
            context_of(request),
            form.account,
            form.fields["password"],
            form.fields["new"],
            form.fields["confirm"],
            keep_session=form.session.id_digest,
            ip=client_ip(request),
        )
    except RateLimited as error:
        return rate_limited_page(request, error)
    except ValidationFailed as error:
        return await _security(request, form.account, error=str(error), status_code=400)
    return see_other(f"{SECURITY}?done=password")
