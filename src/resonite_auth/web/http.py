"""Helpers shared by the routes: context access, cookies, CSRF, pages and OAuth error bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from resonite_auth.domain.accounts import Account
from resonite_auth.domain.grants import BrowserSession
from resonite_auth.errors import (
    InvalidRequest,
    OAuthError,
    RequestTooLarge,
    UnverifiedRedirect,
)
from resonite_auth.oauth.params import Params
from resonite_auth.security.csrf import csrf_matches, new_csrf_token
from resonite_auth.security.ratelimit import RateLimited
from resonite_auth.security.tokens import new_secret
from resonite_auth.services.context import Context
from resonite_auth.services.sessions import current_session

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM_TYPE = "application/x-www-form-urlencoded"
# The largest body an OAuth endpoint reads: a signed client assertion is a few kilobytes, so this
# is generous, and a client cannot make the server hold megabytes per request.
OAUTH_FORM_LIMIT = 64 * 1024


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def cookie_name(request: Request, base: str) -> str:
    """`__Host-` prefixed names when cookies are Secure: bound to this host and path `/`."""
    return f"__Host-{base}" if context_of(request).settings.secure_cookies else base


def read_cookie(request: Request, base: str) -> str | None:
    return request.cookies.get(cookie_name(request, base))


def set_cookie(
    request: Request, response: Response, base: str, value: str, max_age: int | None = None
) -> None:
    settings = context_of(request).settings
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite=settings.cookie_samesite,  # type: ignore[arg-type]
    )


def delete_cookie(request: Request, response: Response, base: str) -> None:
    settings = context_of(request).settings
    response.delete_cookie(
        cookie_name(request, base), path="/", secure=settings.secure_cookies, httponly=True
    )


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def form_params(request: Request) -> Params:
    """An urlencoded body as Params; anything else reads as empty."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        return Params([])
    body = (await request.body()).decode("utf-8", errors="replace")
    return Params(parse_qsl(body, keep_blank_values=True))


async def oauth_form(request: Request) -> Params:
    """The body of an OAuth endpoint request, which must be urlencoded (RFC 6749 §3.2) and at
    most OAUTH_FORM_LIMIT bytes (read no further than that)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise InvalidRequest(f"The request must be sent as {FORM_TYPE}.")
    too_large = RequestTooLarge(f"The request body is larger than {OAUTH_FORM_LIMIT} bytes.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > OAUTH_FORM_LIMIT:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > OAUTH_FORM_LIMIT:
            raise too_large
    return Params(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def render(
    request: Request,
    template: str,
    values: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A page; every page carries the CSRF token its forms need."""
    templates: Jinja2Templates = request.app.state.templates
    csrf = read_cookie(request, "csrf") or new_csrf_token()
    settings = context_of(request).settings
    page_values = {"csrf_token": csrf, "issuer": settings.issuer, "signup": settings.signup}
    page_values.update(values or {})
    response = templates.TemplateResponse(request, template, page_values, status_code=status_code)
    if read_cookie(request, "csrf") != csrf:
        set_cookie(request, response, "csrf", csrf)
    response.headers.update(NO_STORE)
    return response


def csrf_ok(request: Request, params: Params) -> bool:
    return csrf_matches(read_cookie(request, "csrf"), params.raw("csrf_token"))


def csrf_failed_page(request: Request) -> HTMLResponse:
    return error_page(
        request,
        UnverifiedRedirect(
            "This form has expired",
            "For your security the form could not be accepted. Go back, reload the page "
            "and try again.",
        ),
        status_code=403,
    )


def error_page(
    request: Request, error: UnverifiedRedirect, *, status_code: int = 400
) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"title": error.title, "message": error.message},
        status_code=status_code,
    )


def rate_limited_page(request: Request, error: RateLimited) -> HTMLResponse:
    """429 with Retry-After (RFC 6585 §4), and words a person can act on."""
    minutes = max(1, -(-error.retry_after // 60))
    response = render(
        request,
        "error.html",
        {
            "title": "Too many attempts",
            "message": f"{error.message} You can try again in about {minutes} "
            f"minute{'s' if minutes != 1 else ''}.",
        },
        status_code=429,
    )
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def browser_binding(request: Request) -> tuple[str, bool]:
    """The browser's binding secret, and whether it is new (so the cookie must be set)."""
    existing = read_cookie(request, "browser")
    return (existing, False) if existing else (new_secret(), True)


def oauth_error_json(error: OAuthError) -> JSONResponse:
    """RFC 6749 §5.2 error body; 401 with a challenge for client authentication failures."""
    headers = dict(NO_STORE)
    if error.status_code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="resonite-auth"'
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=error.status_code,
        headers=headers,
    )


async def signed_in(request: Request) -> tuple[BrowserSession, Account] | None:
    """The person signed in on this browser, if any (locked accounts are never signed in)."""
    return await current_session(context_of(request), read_cookie(request, "session"))


def signin_redirect(request: Request) -> RedirectResponse:
    """Send a signed-out person to sign in, then back to the page they asked for."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return see_other(f"/signin?{urlencode({'next': target})}")


def safe_next(value: str | None) -> str:
    """A local path to return to after sign-in; anything else becomes `/` (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value
