"""`GET /connect/endsession` (OIDC RP-Initiated Logout 1.0) and the confirmation it may need.

With a valid `id_token_hint` for the person signed in here, the sign-out happens at once; any
other request asks the person first (§2: the OP should confirm), so a third-party page cannot
sign people out by linking here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from resonite_auth.errors import UnverifiedRedirect
from resonite_auth.oauth.params import Params
from resonite_auth.services.endsession import LogoutRequest, check_logout_request
from resonite_auth.services.sessions import end_session
from resonite_auth.web.http import (
    context_of,
    csrf_failed_page,
    csrf_ok,
    delete_cookie,
    error_page,
    form_params,
    read_cookie,
    render,
    see_other,
    signed_in,
)

router = APIRouter()
PATH = "/connect/endsession"
CARRIED = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id")


@router.get(PATH)
async def endsession(request: Request) -> Response:
    params = Params(request.query_params.multi_items())
    try:
        logout = await check_logout_request(context_of(request), params)
    except UnverifiedRedirect as error:
        return error_page(request, error)
    session = await signed_in(request)
    if session is None or (logout.subject is not None and logout.subject == session[1].id):
        return await _sign_out(request, logout)
    return render(
        request,
        "endsession.html",
        {
            "title": "Sign out?",
            "client_name": logout.client.name if logout.client else None,
            "username": session[1].username,
            "carried": {name: params.raw(name) for name in CARRIED if params.raw(name)},
        },
    )


@router.post(PATH)
async def endsession_confirmed(request: Request) -> Response:
    params = await form_params(request)
    if not csrf_ok(request, params):
        return csrf_failed_page(request)
    try:
        logout = await check_logout_request(context_of(request), params)
    except UnverifiedRedirect as error:
        return error_page(request, error)
    return await _sign_out(request, logout)


async def _sign_out(request: Request, logout: LogoutRequest) -> Response:
    await end_session(context_of(request), read_cookie(request, "session"))
    response: Response
    if logout.redirect_to is not None:
        response = see_other(logout.redirect_to)
    else:
        response = render(request, "signed_out.html", {"title": "Signed out"})
    delete_cookie(request, response, "session")
    return response
