"""The device authorization grant over HTTP (RFC 8628): the device's endpoint, the person's
pages at /device, and a QR code the device can show."""

from __future__ import annotations

import io
import logging

import segno
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from resonite_auth.errors import OAuthError, UnverifiedRedirect
from resonite_auth.oauth import device as rules
from resonite_auth.oauth.metadata import DEVICE_AUTHORIZATION_PATH
from resonite_auth.oauth.scopes import describe
from resonite_auth.security.ratelimit import RateLimited
from resonite_auth.services import device as flow
from resonite_auth.services import limits
from resonite_auth.services.clients import authenticate_client, read_credentials
from resonite_auth.web.http import (
    NO_STORE,
    browser_binding,
    client_ip,
    context_of,
    csrf_failed_page,
    csrf_ok,
    error_page,
    form_params,
    oauth_error_json,
    oauth_form,
    rate_limited_page,
    read_cookie,
    render,
    see_other,
    set_cookie,
    signed_in,
    signin_redirect,
)

router = APIRouter()
log = logging.getLogger("resonite_auth.device")


@router.post(DEVICE_AUTHORIZATION_PATH)
async def device_authorization(request: Request) -> JSONResponse:
    """RFC 8628 §3.1: the device asks for codes; errors are RFC 6749 §5.2 bodies."""
    ctx = context_of(request)
    try:
        params = await oauth_form(request)
        params.check_no_repeats()
        client = await authenticate_client(
            ctx,
            read_credentials(params, request.headers.get("authorization")),
            endpoint=ctx.settings.url(DEVICE_AUTHORIZATION_PATH),
        )
        body = await flow.start(ctx, client, params.get("scope"))
    except OAuthError as error:
        log.info("device authorization refused: %s (%s)", error.error, error.detail)
        return oauth_error_json(error)
    return JSONResponse(body, headers=NO_STORE)


@router.get("/device")
async def device_page(request: Request) -> Response:
    if await signed_in(request) is None:
        return signin_redirect(request)
    typed = request.query_params.get("user_code", "")
    normalized = rules.normalize(typed)
    return _enter_page(request, rules.display(normalized) if normalized else "")


@router.post("/device")
async def device_enter(request: Request) -> Response:
    ctx = context_of(request)
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    person = await signed_in(request)
    if person is None:
        return signin_redirect(request)
    typed = (params.raw("user_code") or "").strip()
    subjects = limits.device_guess_subjects(ctx.settings, person[0].id_digest, client_ip(request))
    try:
        await limits.guard(ctx, subjects, limits.DEVICE_MESSAGE)
        device = await flow.find_pending(ctx, typed)
    except RateLimited as error:
        return rate_limited_page(request, error)
    except flow.CodeProblem as problem:
        await limits.count_failure(ctx, subjects, ip=client_ip(request))
        return _enter_page(request, typed[:20], error=str(problem), status_code=400)
    binding, is_new = browser_binding(request)
    user_code = rules.display(rules.normalize(typed) or "")
    interaction_id = await flow.begin_confirmation(ctx, device, user_code, binding)
    response = see_other(f"/device/confirm/{interaction_id}")
    if is_new:
        set_cookie(request, response, "browser", binding, max_age=365 * 86400)
    return response


@router.get("/device/confirm/{interaction_id}")
async def device_confirm_page(request: Request, interaction_id: str) -> Response:
    person = await signed_in(request)
    if person is None:
        return signin_redirect(request)
    try:
        confirmation = await flow.resume(
            context_of(request), interaction_id, read_cookie(request, "browser")
        )
    except UnverifiedRedirect as error:
        return error_page(request, error)
    return render(
        request,
        "device_confirm.html",
        {
            "title": f"Connect {confirmation.client.name}?",
            "action": f"/device/confirm/{interaction_id}",
            "client_name": confirmation.client.name,
            "username": person[1].username,
            "user_code": confirmation.user_code,
            "scopes": describe(confirmation.device.scopes),
        },
    )


@router.post("/device/confirm/{interaction_id}")
async def device_decide(request: Request, interaction_id: str) -> Response:
    ctx = context_of(request)
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    person = await signed_in(request)
    if person is None:
        return signin_redirect(request)
    decision = params.raw("decision")
    if decision not in ("allow", "deny"):
        return error_page(
            request, UnverifiedRedirect("No choice made", "Choose Allow or Deny to continue.")
        )
    try:
        confirmation = await flow.resume(ctx, interaction_id, read_cookie(request, "browser"))
        await flow.decide(
            ctx,
            confirmation,
            person[0],
            person[1],
            allow=decision == "allow",
            ip=client_ip(request),
        )
    except UnverifiedRedirect as error:
        return error_page(request, error)
    return render(
        request,
        "device_done.html",
        {
            "title": "Device connected" if decision == "allow" else "Request denied",
            "allowed": decision == "allow",
            "client_name": confirmation.client.name,
        },
    )


@router.get("/device/qr")
async def device_qr(request: Request) -> Response:
    """A QR code of verification_uri_complete, for a device to display (SVG, or PNG)."""
    normalized = rules.normalize(request.query_params.get("user_code", ""))
    if normalized is None:
        return JSONResponse(
            {"error": "invalid_request", "error_description": "user_code is not a device code."},
            status_code=400,
        )
    qr = segno.make(flow.complete_uri(context_of(request), rules.display(normalized)), error="m")
    if request.query_params.get("format") == "png":
        buffer = io.BytesIO()
        qr.save(buffer, kind="png", scale=8, border=2)
        return Response(buffer.getvalue(), media_type="image/png")
    return Response(qr.svg_inline(scale=8, border=2), media_type="image/svg+xml")


def _enter_page(
    request: Request, user_code: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "device_enter.html",
        {"title": "Connect a device", "user_code": user_code, "error": error},
        status_code=status_code,
    )
