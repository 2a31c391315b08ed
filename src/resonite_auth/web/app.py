"""The app factory: `create_app(settings)` builds everything; nothing lives at module level."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from resonite_auth.config import Settings
from resonite_auth.oauth.metadata import discovery_document
from resonite_auth.services.context import Context
from resonite_auth.services.housekeeping import run_periodically
from resonite_auth.web.middleware import Edge, Metrics
from resonite_auth.web.routes import (
    account,
    account_pages,
    admin_applications,
    authorize,
    connected,
    developer_secrets,
    developers,
    device,
    discovery,
    endsession,
    health,
    registration,
    resources,
    revocation,
    signin_steps,
    token,
)

HERE = Path(__file__).parent
log = logging.getLogger("resonite_auth")


def create_app(settings: Settings | None = None, *, context: Context | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = context or Context.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await ctx.keyring.ensure_signing_key(ctx.db)
        # Everything built so far lives as long as the process: moved out of the collector's
        # sight, so that a full collection under load scans only what requests allocate
        # (a full collection of the loaded app takes ~30 ms, a pause every request waits for).
        gc.collect()
        gc.freeze()
        housekeeping = None
        if settings.gc_interval > 0:
            housekeeping = asyncio.create_task(run_periodically(ctx, settings.gc_interval))
        try:
            yield
        finally:
            if housekeeping is not None:
                housekeeping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await housekeeping
            if context is None:
                await ctx.close()

    app = ResoniteAuthApp(
        title="resonite-auth",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        # Metrics are exported for Prometheus (`Metrics`, /metrics). FastAPI's OpenTelemetry
        # bridge would look up the global providers on every request to find none.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.ctx = ctx
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.state.discovery = discovery_document(settings)
    app.state.metrics = Metrics()
    app.state.documents = discovery.documents(ctx, app.state.discovery)

    for router in (
        discovery.router,
        authorize.router,
        account.router,
        device.router,
        signin_steps.router,
        account_pages.router,
        connected.router,
        registration.router,
        endsession.router,
        health.router,
        developers.router,
        developer_secrets.router,
        admin_applications.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _install_error_handlers(app)
    app.edge = partial(
        Edge,
        metrics=app.state.metrics,
        documents=app.state.documents,
        endpoints={**resources.endpoints(ctx), **token.endpoints(), **revocation.endpoints()},
    )
    return app


class ResoniteAuthApp(FastAPI):
    """FastAPI with `Edge` outside every layer of the framework, its error handler included:
    the documents and hot endpoints Edge answers pass through none of them, and every other
    response, a 500 too, still gets the security headers and is counted."""

    edge: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return stack if self.edge is None else self.edge(stack)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request):
            templates: Jinja2Templates = request.app.state.templates
            title = "Page not found" if exc.status_code == 404 else "Request not accepted"
            return templates.TemplateResponse(
                request,
                "error.html",
                {"title": title, "message": "There is nothing here.", "csrf_token": ""},
                status_code=exc.status_code,
            )
        return JSONResponse(
            {
                "error": "not_found" if exc.status_code == 404 else "invalid_request",
                "error_description": str(exc.detail),
            },
            status_code=exc.status_code,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        if _wants_html(request):
            return HTMLResponse(
                "<!doctype html><title>Something went wrong</title>"
                "<h1>Something went wrong</h1><p>Please try again in a moment.</p>",
                status_code=500,
            )
        return JSONResponse(
            {"error": "server_error", "error_description": "An unexpected error occurred."},
            status_code=500,
        )
