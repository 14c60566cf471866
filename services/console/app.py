"""The console's web application: its parts wired once, its pages mounted."""

from __future__ import annotations

import contextlib
import json
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
from shared.http import RequestMetrics, WhoAmI, language, problem_response, problem_responses
from shared.metrics import ServiceMetrics
from shared.openapi import package_version, serve_docs
from shared.problems import Problem

STATIC = Path(__file__).resolve().parent / "static"
FORWARDED_HEADERS = ("content-language", "vary", "www-authenticate", "retry-after")


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
        version=package_version(),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    serve_docs(app)
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

    @app.get(
        "/v1/whoami",
        tags=["whoami"],
        operation_id="get_whoami",
        responses={200: {"model": WhoAmI}, **problem_responses(401)},
    )
    async def whoami(request: Request) -> Response:
        """The scopes of a bearer token (any valid token), as the platform's services know it:
        what the console itself shows a signed-in token."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return problem_response(
                request,
                Problem(
                    401,
                    "a valid bearer token is required",
                    headers={"WWW-Authenticate": 'Bearer realm="coop"'},
                ),
            )
        answer = await console.platform.call(
            "membership", "GET", "/v1/whoami", token=token.strip(), lang=language(request)
        )
        media_type = answer.headers.get("content-type", "application/json")
        kept = {k: v for k, v in answer.headers.items() if k.lower() in FORWARDED_HEADERS}
        return Response(
            content=json.dumps(answer.body, ensure_ascii=False),
            status_code=answer.status,
            media_type=media_type,
            headers=kept,
        )

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
        if not request.url.path.startswith("/docs"):  # Swagger UI starts with an inline script
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                "frame-ancestors 'none'",
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
