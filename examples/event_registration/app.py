"""The event registration site: pages, the link flow's two ends, registering and unlinking."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .events import EVENTS, Event, find_event
from .resonite import (
    BASE_SCOPES,
    SUPPORTER_SCOPES,
    LinkFailed,
    complete_link,
    resonite_client,
    unreachable,
)
from .sessions import ServerSideSessions
from .settings import SiteSettings
from .store import LinkedAccount, Store

HERE = Path(__file__).parent
# The session cookie's name must differ from the account server's cookies: browsers share
# cookies between ports of one host, and both run on 127.0.0.1 in the demo.
SESSION_COOKIE = "event_registration_session"


class Site:
    """Everything one running site needs; built once by `create_app`, no module globals."""

    def __init__(self, settings: SiteSettings) -> None:
        self.settings = settings
        self.store = Store(settings.database)
        self.resonite = resonite_client(settings)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))

    def page(
        self, request: Request, name: str, values: dict[str, Any], status_code: int = 200
    ) -> Response:
        context = {"csrf_token": csrf_token(request), "notice": request.session.pop("notice", None)}
        return self.templates.TemplateResponse(
            request, name, {**context, **values}, status_code=status_code
        )

    def message(self, request: Request, failure: LinkFailed) -> Response:
        values = {"title": failure.title, "message": failure.message}
        return self.page(request, "message.html", values, failure.status_code)


def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def visitor_id(request: Request) -> str:
    """A random id for this browser, kept in the signed session cookie."""
    if "visitor" not in request.session:
        request.session["visitor"] = secrets.token_urlsafe(24)
    return str(request.session["visitor"])


def csrf_token(request: Request) -> str:
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(32)
    return str(request.session["csrf"])


async def csrf_ok(request: Request) -> bool:
    form = await request.form()
    sent = form.get("csrf_token")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str):
        return False
    return hmac.compare_digest(sent, expected)


def notify(request: Request, kind: str, text: str) -> RedirectResponse:
    request.session["notice"] = {"kind": kind, "text": text}
    return RedirectResponse("/", status_code=303)


async def events_page(request: Request) -> Response:
    site = site_of(request)
    account = site.store.linked(request.session.get("visitor"))
    registered = site.store.registered_events(account.user_id) if account else set()
    values = {
        "account": account,
        "events": EVENTS,
        "registered": registered,
        "counts": site.store.attendee_counts(),
    }
    return site.page(request, "events.html", values)


async def link(request: Request) -> Response:
    """Start the authorization code flow; a supporter event also asks for `patreon`."""
    site = site_of(request)
    event = find_event(request.query_params.get("event"))
    scope = SUPPORTER_SCOPES if event and event.supporters_only else BASE_SCOPES
    visitor_id(request)
    try:
        redirect: Response = await site.resonite.authorize_redirect(
            request, site.settings.redirect_uri, scope=scope
        )
    except httpx.HTTPError:
        return site.message(request, unreachable())
    return redirect


async def callback(request: Request) -> Response:
    site = site_of(request)
    try:
        account = await complete_link(site.resonite, request)
    except LinkFailed as failure:
        return site.message(request, failure)
    site.store.link(visitor_id(request), account)
    return notify(request, "success", f"Linked your Resonite account {account.username}.")


async def register(request: Request) -> Response:
    site = site_of(request)
    if not await csrf_ok(request):
        return site.message(request, expired_form())
    event = find_event(request.path_params["event_id"])
    if event is None:
        return site.message(request, LinkFailed("No such event", "That event does not exist.", 404))
    account = site.store.linked(request.session.get("visitor"))
    if account is None:
        return site.message(request, must_link(event))
    refusal = supporter_refusal(event, account)
    if refusal is not None:
        return site.message(request, refusal)
    if not site.store.register(event.id, account):
        return notify(
            request, "info", f"{account.username} is already registered for {event.title}."
        )
    return notify(request, "success", f"{account.username} is registered for {event.title}.")


async def unlink(request: Request) -> Response:
    site = site_of(request)
    if not await csrf_ok(request):
        return site.message(request, expired_form())
    site.store.unlink(visitor_id(request))
    return notify(request, "info", "Unlinked. This site no longer knows your Resonite account.")


def supporter_refusal(event: Event, account: LinkedAccount) -> LinkFailed | None:
    if not event.supporters_only or account.is_active_supporter:
        return None
    if not account.supporter_shared:
        return LinkFailed(
            f"{event.title} needs your supporter status",
            "Link your account again and allow Event Registration to see your supporter "
            "status, so we can check you are an active supporter.",
            403,
        )
    return LinkFailed(
        f"{event.title} is for active supporters",
        f"Your linked Resonite account, {account.username}, is not an active supporter, so it "
        "cannot register for this event. Every other event is open to you.",
        403,
    )


def must_link(event: Event) -> LinkFailed:
    return LinkFailed(
        "Link your Resonite account first",
        f"To register for {event.title}, link your Resonite account so we know who you are.",
        403,
    )


def expired_form() -> LinkFailed:
    return LinkFailed("This form has expired", "Go back to the events page and try again.")


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def server_error(request: Request, exc: Exception) -> Response:
    # This handler runs outside the session middleware: render without touching the session.
    values = {"title": "Something went wrong", "message": "Please go back and try again."}
    return site_of(request).templates.TemplateResponse(
        request, "message.html", values, status_code=500
    )


class SecurityHeaders:
    """No framing; no Referer, so the `code` in the callback URL never leaks to other hosts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] += [
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-content-type-options", b"nosniff"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: SiteSettings) -> Starlette:
    routes = [
        Route("/", events_page),
        Route("/link", link),
        Route("/auth/callback", callback),
        Route("/events/{event_id}/register", register, methods=["POST"]),
        Route("/unlink", unlink, methods=["POST"]),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    site = Site(settings)
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            ServerSideSessions,
            store=site.store,
            secret=settings.session_secret,
            cookie_name=SESSION_COOKIE,
            secure=settings.https,
        ),
    ]
    app = Starlette(
        routes=routes, middleware=middleware, exception_handlers={Exception: server_error}
    )
    app.state.site = site
    return app
