"""HTTP routes of the reporting service (contract §5)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from services.reporting.fiscal_year import FiscalYearError
from services.reporting.presentation import (
    annual_report_html,
    annual_report_markdown,
    dashboard_html,
    indicators_csv,
)
from services.reporting.projector import Projector
from services.reporting.read_model import ReadModel
from shared.fields import iso_date
from shared.http import answers, problem_response, problem_responses, require
from shared.problems import Problem, invalid


class StreamFreshness(BaseModel):
    """How far the figures have followed one service's stream."""

    model_config = ConfigDict(extra="forbid")

    last_sequence: int
    last_event_at: str | None


class Indicators(BaseModel):
    """A fiscal year's indicators at a cut-off (contract §5); documents the responses."""

    model_config = ConfigDict(extra="forbid")

    fiscal_year: str
    start: date
    end: date
    as_of: date
    indicators: dict[str, float | dict[str, float]]
    freshness: dict[str, StreamFreshness]


class StreamStatus(BaseModel):
    """Where the projection of one stream stands."""

    model_config = ConfigDict(extra="forbid")

    last_applied: int
    stream_last_sequence: int
    lag: int
    parked: int


class ProjectionStatus(BaseModel):
    """`GET /v1/projections/status`."""

    model_config = ConfigDict(extra="forbid")

    rebuilding: bool
    streams: dict[str, StreamStatus]


class RebuildAccepted(BaseModel):
    """`POST /v1/projections/rebuild`: the rebuild has started."""

    model_config = ConfigDict(extra="forbid")

    rebuilding: bool


_TEXT = {"schema": {"type": "string"}}


def _lang(lang: str | None) -> str:
    if lang in (None, "", "fr"):
        return "fr"
    if lang == "en":
        return "en"
    raise invalid("lang", "must be fr or en")


def _as_of(as_of: str | None) -> date | None:
    if as_of in (None, ""):
        return None
    try:
        day: date = iso_date(as_of)
    except ValueError as error:
        raise invalid("as_of", str(error)) from None
    return day


def routes(read_model: ReadModel, projector: Projector) -> APIRouter:
    """The reporting routes."""
    router = APIRouter()

    async def answer(fiscal_year: str, as_of: str | None) -> dict[str, Any]:
        try:
            year = read_model.fiscal_year(fiscal_year)
        except FiscalYearError as error:
            raise invalid("fiscal_year", str(error)) from None
        cutoff = _as_of(as_of)
        try:
            return await asyncio.to_thread(read_model.indicators, year, cutoff)
        except FiscalYearError as error:
            raise invalid("as_of", str(error)) from None

    @router.get(
        "/v1/indicators/{fiscal_year}.csv",
        tags=["indicators"],
        response_class=Response,
        responses={200: {"content": {"text/csv": _TEXT}}, **problem_responses(422)},
    )
    async def indicators_as_csv(
        fiscal_year: str, as_of: Annotated[str | None, Query()] = None
    ) -> Response:
        body = indicators_csv(await answer(fiscal_year, as_of))
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="indicateurs-{fiscal_year}.csv"'
            },
        )

    @router.get(
        "/v1/indicators/{fiscal_year}",
        tags=["indicators"],
        response_model=None,
        responses=answers(200, Indicators, 422),
    )
    async def indicators(
        fiscal_year: str, as_of: Annotated[str | None, Query()] = None
    ) -> dict[str, Any]:
        return await answer(fiscal_year, as_of)

    @router.get(
        "/v1/reports/{fiscal_year}",
        tags=["reports"],
        response_class=Response,
        responses={
            200: {"content": {"text/html": _TEXT, "text/markdown": _TEXT}},
            **problem_responses(422),
        },
    )
    async def report(
        request: Request,
        fiscal_year: str,
        as_of: Annotated[str | None, Query()] = None,
        lang: Annotated[str | None, Query()] = None,
    ) -> Response:
        language = _lang(lang)
        data = await answer(fiscal_year, as_of)
        if "text/markdown" in request.headers.get("accept", ""):
            return Response(
                annual_report_markdown(data, language), media_type="text/markdown; charset=utf-8"
            )
        return HTMLResponse(annual_report_html(data, language))

    @router.get("/", include_in_schema=False)
    async def dashboard(
        lang: Annotated[str | None, Query()] = None,
        fiscal_year: Annotated[str | None, Query()] = None,
    ) -> HTMLResponse:
        language = _lang(lang)
        if fiscal_year:
            try:
                year = read_model.fiscal_year(fiscal_year)
            except FiscalYearError as error:
                raise invalid("fiscal_year", str(error)) from None
        else:
            year = read_model.current_fiscal_year()
        return HTMLResponse(dashboard_html(language, fiscal_year=year.label))

    @router.get(
        "/v1/projections/status",
        tags=["projections"],
        response_model=None,
        responses=answers(200, ProjectionStatus),
    )
    async def projection_status() -> dict[str, Any]:
        statuses = await projector.statuses()
        return {
            "rebuilding": projector.rebuilding,
            "streams": {
                name: {
                    "last_applied": s.last_applied,
                    "stream_last_sequence": s.stream_last_sequence,
                    "lag": s.lag,
                    "parked": s.parked,
                }
                for name, s in statuses.items()
            },
        }

    @router.post(
        "/v1/projections/rebuild",
        status_code=202,
        dependencies=[require("reporting:admin")],
        tags=["projections"],
        responses=answers(202, RebuildAccepted),
    )
    async def rebuild() -> JSONResponse:
        projector.request_rebuild()
        return JSONResponse({"rebuilding": True}, status_code=202)

    return router


def install_errors(api: FastAPI) -> None:
    """Map the reporting vocabulary of refusals to problem details."""

    @api.exception_handler(FiscalYearError)
    async def on_fiscal_year(request: Request, error: FiscalYearError) -> JSONResponse:
        return problem_response(request, Problem(422, str(error)))
