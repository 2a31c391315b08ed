"""After the password: the second step (`/signin/2fa`) when TOTP is on, then the session.

Both sign-in forms (inside an authorization flow and the standalone one) end here, so the
second step and the session cookie are handled in one place.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from resonite_auth.domain.accounts import Account
from resonite_auth.errors import UnverifiedRedirect
from resonite_auth.security.ratelimit import RateLimited
from resonite_auth.services import authorize as flow
from resonite_auth.services import signin
from resonite_auth.services.sessions import end_session, start_session
from resonite_auth.services.two_factor import WRONG_CODE
from resonite_auth.web.http import (
    client_ip,
    context_of,
    csrf_failed_page,
    csrf_ok,
    delete_cookie,
    error_page,
    form_params,
    rate_limited_page,
    read_cookie,
    render,
    see_other,
    set_cookie,
)

router = APIRouter()
SECOND_STEP = "/signin/2fa"


async def after_password(
    request: Request, account: Account, *, return_to: str, interaction_id: str | None
) -> Response:
    """The password was right: ask for the code, or sign in now."""
    ctx = context_of(request)
    if not account.two_factor_enabled:
        return await finish_signin(
            request, account, ["pwd"], return_to=return_to, interaction_id=interaction_id
        )
    raw = await signin.start_challenge(
        ctx, account, return_to=return_to, interaction_id=interaction_id
    )
    response = see_other(SECOND_STEP)
    set_cookie(request, response, "mfa", raw, max_age=signin.CHALLENGE_TTL)
    return response


async def finish_signin(
    request: Request,
    account: Account,
    amr: list[str],
    *,
    return_to: str,
    interaction_id: str | None,
) -> Response:
    """A new session (never a reused one: session fixation), then back where the person was."""
    ctx = context_of(request)
    await end_session(ctx, read_cookie(request, "session"))
    raw = await start_session(
        ctx, account, amr, ip=client_ip(request), user_agent=request.headers.get("user-agent")
    )
    if interaction_id is not None:
        await flow.mark_login(ctx, interaction_id)
    response = see_other(return_to)
    set_cookie(request, response, "session", raw)
    return response


@router.get(SECOND_STEP)
async def second_step_page(request: Request) -> Response:
    try:
        challenge = await signin.load_challenge(context_of(request), read_cookie(request, "mfa"))
    except UnverifiedRedirect as error:
        return error_page(request, error)
    return _page(request, challenge.account.username)


@router.post(SECOND_STEP)
async def second_step(request: Request) -> Response:
    ctx = context_of(request)
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    try:
        challenge = await signin.load_challenge(ctx, read_cookie(request, "mfa"))
        ok = await signin.answer_challenge(
            ctx, challenge, params.raw("code") or "", ip=client_ip(request)
        )
    except UnverifiedRedirect as error:
        return error_page(request, error)
    except RateLimited as error:
        return rate_limited_page(request, error)
    if not ok:
        return _page(request, challenge.account.username, error=WRONG_CODE, status_code=401)
    response = await finish_signin(
        request,
        challenge.account,
        ["pwd", "otp"],
        return_to=challenge.return_to,
        interaction_id=challenge.interaction_id,
    )
    delete_cookie(request, response, "mfa")
    return response


def _page(
    request: Request, username: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "two_factor.html",
        {"title": "Two-step sign-in", "username": username, "error": error, "action": SECOND_STEP},
        status_code=status_code,
    )
