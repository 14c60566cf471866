"""Errors answered as problem details: the app's handlers, validation errors, domain errors.

What a problem document says, in French and English, is `shared.problems`; this module turns
errors into those documents: pydantic's (a 422 field by field), Starlette's, a stale version
(412), anything unexpected (500), and each service's domain errors through the one table it
gives `install_domain_errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.application import StaleVersionError
from shared.http.concurrency import etag
from shared.http.edge import language
from shared.i18n import language_headers
from shared.problems import PROBLEM_CONTENT_TYPE, Problem

log = logging.getLogger("shared.http")

Refusal = tuple[int, str | None, str]
"""How a domain error is answered: status, problem type slug, and the field a 422 is about."""
UNLISTED: Refusal = (422, None, "")
"""The answer to a domain error its service's table does not list."""
ErrorT = TypeVar("ErrorT", bound=Exception)


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    """Render a Problem as application/problem+json, in the language the client prefers."""
    lang = language(request)
    return JSONResponse(
        problem.body(lang, instance=request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers={**problem.headers, **language_headers(lang)},
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic location as the contract names fields: `periods[1].end`."""
    field = ""
    for part in loc:
        if isinstance(part, int):
            field += f"[{part}]"
        elif part not in ("body", "path", "query", "header"):
            field += f".{part}" if field else str(part)
    return field


def validation_problem(errors: list[Any]) -> Problem:
    """A 422 listing pydantic's errors as `{field, message}`."""
    items = [{"field": _field(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in errors]
    detail = (
        "; ".join(f"{i['field'] or 'body'}: {i['message']}" for i in items) or "invalid request"
    )
    return Problem(422, detail, errors=items)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at the request's path (a 405's `Allow`, RFC 9110)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error the edge knows of with a problem: its own, the framework's, a 500."""

    @app.exception_handler(Problem)
    async def on_problem(request: Request, problem: Problem) -> JSONResponse:
        return problem_response(request, problem)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, error: RequestValidationError) -> JSONResponse:
        return problem_response(request, validation_problem(list(error.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else "request refused"
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        problem = Problem(error.status_code, detail, headers=headers)
        return problem_response(request, problem)

    @app.exception_handler(StaleVersionError)
    async def on_stale(request: Request, error: StaleVersionError) -> JSONResponse:
        problem = Problem(412, str(error), headers={"ETag": etag(error.current)})
        return problem_response(request, problem)

    @app.exception_handler(Exception)
    async def on_error(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, Problem(500, "an internal error occurred"))


def domain_problem(
    error: ErrorT,
    refusals: Mapping[type[ErrorT], Refusal],
    extensions: Callable[[ErrorT], dict[str, Any] | None] | None = None,
) -> Problem:
    """The problem a domain error is answered with, as its service's `refusals` table says.

    A 422 names its field: the fields the error itself names (an `errors` list of
    `(field, message)`), else the field of its table row. `extensions` adds members to the
    document of a refusal that is not a 422 (e.g. the `existing_id` of a name taken).
    """
    status, slug, field = refusals.get(type(error), UNLISTED)
    message = str(error)
    if status == 422:
        named = getattr(error, "errors", None) or [(field, message)]
        errors = [{"field": name, "message": text} for name, text in named]
        return Problem(422, message, slug=slug, errors=errors)
    extra = extensions(error) if extensions else None
    return Problem(status, message, slug=slug, extensions=extra)


def install_domain_errors(
    app: FastAPI,
    base: type[ErrorT],
    refusals: Mapping[type[ErrorT], Refusal],
    *,
    extensions: Callable[[ErrorT], dict[str, Any] | None] | None = None,
) -> None:
    """Answer the service's domain errors (`base` and its kinds) as its `refusals` table says."""

    @app.exception_handler(base)
    async def on_domain_error(request: Request, error: ErrorT) -> JSONResponse:
        return problem_response(request, domain_problem(error, refusals, extensions))
