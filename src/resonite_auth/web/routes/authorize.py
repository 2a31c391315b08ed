"""`/connect/authorize` and the interaction pages that complete it: sign-in, then consent."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from resonite_auth.errors import OAuthError, UnverifiedRedirect
from resonite_auth.oauth.authorization_request import (
    error_redirect,
    require_client_id,
    require_redirect_uri,
    validate,
)
from resonite_auth.oauth.params import Params
from resonite_auth.oauth.scopes import describe
from resonite_auth.security.ratelimit import RateLimited
from resonite_auth.services import authorize as flow
from resonite_auth.services.accounts import authenticate
from resonite_auth.services.sessions import current_session
from resonite_auth.web.http import (
    browser_binding,
    client_ip,
    context_of,
    csrf_failed_page,
    csrf_ok,
    error_page,
    form_params,
    rate_limited_page,
    read_cookie,
    render,
    see_other,
    set_cookie,
)
from resonite_auth.web.routes.signin_steps import after_password

router = APIRouter()


@router.api_route("/connect/authorize", methods=["GET", "POST"])
async def authorize(request: Request) -> Response:
    ctx = context_of(request)
    if request.method == "POST":
        params = await form_params(request)
    else:
        params = Params(request.query_params.multi_items())
    try:
        client = await flow.active_client(ctx, params, require_client_id(params))
        redirect_uri = require_redirect_uri(params, client)
    except UnverifiedRedirect as error:
        return error_page(request, error)
    state = None if params.is_repeated("state") else params.raw("state")
    try:
        auth_request = validate(params, client, redirect_uri)
        session = await current_session(ctx, read_cookie(request, "session"))
        if "none" in auth_request.prompt:
            return see_other(await flow.answer_without_interaction(ctx, auth_request, session))
        at_once = await flow.code_without_pages(ctx, auth_request, session)
        if at_once is not None:
            return see_other(at_once)
    except OAuthError as error:
        return see_other(
            error_redirect(redirect_uri, error, state=state, issuer=ctx.settings.issuer)
        )
    binding, is_new = browser_binding(request)
    interaction_id = await flow.start_interaction(ctx, auth_request, binding)
    response = see_other(f"/interaction/{interaction_id}")
    if is_new:
        set_cookie(request, response, "browser", binding, max_age=365 * 86400)
    return response


@router.get("/interaction/{interaction_id}")
async def interaction(request: Request, interaction_id: str) -> Response:
    ctx = context_of(request)
    try:
        resumed = await flow.resume(ctx, interaction_id, read_cookie(request, "browser"))
    except UnverifiedRedirect as error:
        return error_page(request, error)
    session = await current_session(ctx, read_cookie(request, "session"))
    if session is None or flow.needs_login(
        resumed.request, session[0], resumed.interaction, ctx, session[1]
    ):
        return _signin_page(request, resumed, username=resumed.request.login_hint)
    browser_session, account = session
    grant = await flow.current_grant(ctx, account.id, resumed.client.client_id)
    if "consent" in resumed.request.prompt or not flow.grant_covers(grant, resumed.request.scopes):
        return _consent_page(request, resumed, account.username, grant.scopes if grant else [])
    try:
        url = await flow.issue_code(
            ctx, resumed.request, browser_session, account, interaction_id=interaction_id
        )
    except UnverifiedRedirect as error:
        return error_page(request, error)
    return see_other(url)


@router.post("/interaction/{interaction_id}/login")
async def interaction_login(request: Request, interaction_id: str) -> Response:
    ctx = context_of(request)
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    try:
        resumed = await flow.resume(ctx, interaction_id, read_cookie(request, "browser"))
    except UnverifiedRedirect as error:
        return error_page(request, error)
    username = (params.raw("username") or "").strip()
    try:
        account = await authenticate(
            ctx, username, params.raw("password") or "", ip=client_ip(request)
        )
    except RateLimited as error:
        return rate_limited_page(request, error)
    if account is None:
        return _signin_page(
            request,
            resumed,
            username=username,
            error="That username or password is not right, or the account is locked.",
            status_code=401,
        )
    return await after_password(
        request,
        account,
        return_to=f"/interaction/{interaction_id}",
        interaction_id=interaction_id,
    )


@router.post("/interaction/{interaction_id}/consent")
async def interaction_consent(request: Request, interaction_id: str) -> Response:
    ctx = context_of(request)
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    try:
        resumed = await flow.resume(ctx, interaction_id, read_cookie(request, "browser"))
        session = await current_session(ctx, read_cookie(request, "session"))
        if session is None or flow.needs_login(
            resumed.request, session[0], resumed.interaction, ctx, session[1]
        ):
            return see_other(f"/interaction/{interaction_id}")
        decision = params.raw("decision")
        if decision == "allow":
            url = await flow.consent(ctx, resumed, session[0], session[1], ip=client_ip(request))
        elif decision == "deny":
            url = await flow.deny(ctx, resumed, session[1], ip=client_ip(request))
        else:
            return error_page(
                request,
                UnverifiedRedirect("No choice made", "Choose Allow or Deny on the consent page."),
            )
    except UnverifiedRedirect as error:
        return error_page(request, error)
    return see_other(url)


def _signin_page(
    request: Request,
    resumed: flow.Resumed,
    *,
    username: str | None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "signin.html",
        {
            "title": "Sign in",
            "action": f"/interaction/{resumed.interaction.id}/login",
            "client_name": resumed.client.name,
            "username": username or "",
            "error": error,
        },
        status_code=status_code,
    )


def _consent_page(
    request: Request, resumed: flow.Resumed, username: str, granted: list[str]
) -> HTMLResponse:
    requested = resumed.request.scopes
    return render(
        request,
        "consent.html",
        {
            "title": f"Allow {resumed.client.name}?",
            "action": f"/interaction/{resumed.interaction.id}/consent",
            "client_name": resumed.client.name,
            "username": username,
            "new_scopes": describe([s for s in requested if s not in granted]),
            "kept_scopes": describe([s for s in requested if s in granted]),
            "redirect_host": resumed.request.redirect_uri.split("/")[2],
        },
    )
