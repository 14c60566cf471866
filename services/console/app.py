"""The console's web application: its parts wired once, its pages mounted."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.console.pages import (
    activities,
    ambassadors,
    cooperatives,
    home,
    imports,
    partners,
    years,
)
from services.console.pages.base import (
    Console,
    ForbiddenError,
    SignInRequiredError,
    sign_in_redirect,
)
from services.console.platform import Platform, ServiceUnavailableError
from services.console.sessions import Sessions
from services.console.settings import ConsoleSettings
from shared.http import RequestMetrics
from shared.metrics import ServiceMetrics

STATIC = Path(__file__).resolve().parent / "static"


def create_console(settings: ConsoleSettings) -> FastAPI:
    """The console, from its settings."""
    console = Console(
        Sessions(
            settings.database_url(), settings.signing_key(), settings.console_idle_minutes * 60
        ),
        Platform(settings),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        console.sessions.sweep()
        yield
        await console.platform.close()

    app = FastAPI(
        title="Reseau COOP staff console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.console = console
    metrics = ServiceMetrics("console")
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for area in (home, cooperatives, activities, ambassadors, partners, years, imports):
        app.include_router(area.routes(console))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/metrics", include_in_schema=False)
    async def metrics_page(request: Request) -> Response:
        body, media_type = metrics.exposition(request.headers.get("accept", ""))
        return Response(body, media_type=media_type)

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> PlainTextResponse:
        """Ready once its sessions table answers (the services are checked page by page)."""
        if console.sessions.ping():
            return PlainTextResponse("ok")
        return PlainTextResponse("sessions table unreachable", status_code=503)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
        )
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(SignInRequiredError)
    async def on_sign_in_required(_request: Request, error: SignInRequiredError) -> Response:
        return sign_in_redirect(error.next_path)

    @app.exception_handler(ForbiddenError)
    async def on_forbidden(request: Request, _error: ForbiddenError) -> HTMLResponse:
        return console.render(request, "error.html", None, status=403, status_code=403)

    @app.exception_handler(ServiceUnavailableError)
    async def on_unavailable(request: Request, error: ServiceUnavailableError) -> HTMLResponse:
        return console.render(
            request, "error.html", None, status=503, status_code=503, service=str(error)
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> HTMLResponse:
        return console.render(
            request, "error.html", None, status=error.status_code, status_code=error.status_code
        )

    return app
