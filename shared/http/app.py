"""The app factory: a FastAPI app with the shared edge, ready for a service's routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from shared.asyncapi import serve_asyncapi
from shared.http.auth import serve_whoami
from shared.http.body import BodyLimit
from shared.http.docs import document_edge
from shared.http.edge import Edge
from shared.http.problems import install_problem_handlers
from shared.http.request_metrics import RequestMetrics
from shared.i18n import LanguageHeaders
from shared.openapi import ascii_title, operation_id, package_version, serve_docs
from shared.telemetry import instrument_api


def create_api(
    *,
    title: str,
    edge: Edge,
    readiness: Callable[[], Awaitable[bool]],
    lifespan: Any = None,
) -> FastAPI:
    """A FastAPI app with the shared edge: handlers, body limit, health and metrics."""
    app = FastAPI(
        title=ascii_title(title),
        lifespan=lifespan,
        version=package_version(),
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.edge = edge
    serve_docs(app)
    serve_asyncapi(app, title.split()[-1])
    install_problem_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        ready = await readiness()
        return JSONResponse(
            {"status": "ready" if ready else "unavailable"}, status_code=200 if ready else 503
        )

    serve_whoami(app)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        body, media_type = edge.metrics.exposition(request.headers.get("accept", ""))
        return Response(body, media_type=media_type)

    app.add_middleware(BodyLimit)
    app.add_middleware(LanguageHeaders)
    app.add_middleware(RequestMetrics, metrics=edge.metrics)
    instrument_api(app)
    document_edge(app)
    return app
