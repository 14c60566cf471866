"""HTTP routes of the reporting service (contract §5)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, StringConstraints

from services.reporting.closures import (
    AlreadyClosedError,
    InvalidTargetsError,
    NotClosedError,
    Records,
    changes_since,
    check_closed,
    check_targets,
    with_progress,
)
from services.reporting.fiscal_year import (
    FiscalYear,
    FiscalYearError,
    today_in_quebec,
)
from services.reporting.indicators import INDICATOR_NAMES
from services.reporting.presentation import (
    annual_report_html,
    annual_report_markdown,
    dashboard_html,
    favicon_svg,
    indicators_csv,
    scalar_values,
    series_csv,
)
from services.reporting.projector import Projector
from services.reporting.read_model import ReadModel
from services.reporting.years import (
    MOST_YEARS_IN_A_SERIES,
    business_date_range,
    first_year_of,
    listed_years,
    series_years,
)
from shared.fields import RequestBody, iso_date
from shared.http import (
    IDEMPOTENCY_HEADER,
    EventStoreConflict,
    IdempotentRequest,
    answers,
    body_schema,
    command_context,
    idempotent_request,
    language,
    parse_body,
    problem_response,
    problem_responses,
    replayed,
    require,
)
from shared.integration import rfc3339
from shared.problems import Problem, invalid


class StreamFreshness(BaseModel):
    """How far the figures have followed one service's stream."""

    model_config = ConfigDict(extra="forbid")

    last_sequence: int
    last_event_at: str | None


class TargetProgress(BaseModel):
    """A target and the progress of the figure shown towards it."""

    model_config = ConfigDict(extra="forbid")

    target: float
    progress: float | None


class Indicators(BaseModel):
    """A fiscal year's indicators at a cut-off (contract §5); documents the responses."""

    model_config = ConfigDict(extra="forbid")

    fiscal_year: str
    start: date
    end: date
    as_of: date
    view: Literal["live", "stored"]
    closure: dict[str, str | None] | None
    as_recorded: str | None
    indicators: dict[str, float | dict[str, float]]
    targets: dict[str, TargetProgress]
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
ADMIN = "reporting:admin"
CATCH_UP_SECONDS = 10.0
RETRY_AFTER_SECONDS = "5"
VIEWS = ("live", "stored")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _lang(lang: str | None, request: Request | None = None) -> str:
    """`lang` when given (fr or en, else 422); otherwise what Accept-Language prefers."""
    if lang in (None, ""):
        return language(request) if request is not None else "fr"
    if lang in ("fr", "en"):
        return str(lang)
    raise invalid("lang", "must be fr or en")


def _languages(lang: str) -> dict[str, str]:
    return {"Content-Language": lang, "Vary": "Accept-Language"}


def _as_of(as_of: str | None) -> date | None:
    if as_of in (None, ""):
        return None
    try:
        day: date = iso_date(as_of)
    except ValueError as error:
        raise invalid("as_of", str(error)) from None
    return day


def parse_as_recorded(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp with any offset (422 naming `as_recorded` otherwise)."""
    if value in (None, ""):
        return None
    assert value is not None
    if not _RFC3339.match(value):
        raise invalid("as_recorded", "must be an RFC 3339 timestamp, e.g. 2024-09-15T12:00:00Z")
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        raise invalid("as_recorded", "is not a valid RFC 3339 timestamp") from None
    return moment


def _view(view: str | None) -> str | None:
    if view in (None, ""):
        return None
    if view not in VIEWS:
        raise invalid("view", "must be live or stored")
    return view


def _fiscal_year(read_model: ReadModel, label: str, field: str = "fiscal_year") -> FiscalYear:
    try:
        return read_model.fiscal_year(label)
    except FiscalYearError as error:
        raise invalid(field, str(error)) from None


class ClosureRequest(RequestBody):
    """Body of `POST /v1/fiscal-years/{fy}/closure` (may be empty)."""

    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ClosureSummary(BaseModel):
    """A closed year's `{closed_at, note}`."""

    model_config = ConfigDict(extra="forbid")

    closed_at: str
    note: str | None


class ClosureAnswer(BaseModel):
    """A stored closure."""

    model_config = ConfigDict(extra="forbid")

    fiscal_year: str
    closed_at: str
    note: str | None
    indicators: dict[str, Any]


class Change(BaseModel):
    """One value the live computation now gives differently from the closure."""

    model_config = ConfigDict(extra="forbid")

    indicator: str
    key: str | None
    closed: float
    live: float


class ClosureWithChanges(ClosureAnswer):
    """`GET /v1/fiscal-years/{fy}/closure`."""

    changes_since_closure: list[Change]


class FiscalYearItem(BaseModel):
    """One listed fiscal year."""

    model_config = ConfigDict(extra="forbid")

    fiscal_year: str
    start: date
    end: date
    closure: ClosureSummary | None


class FiscalYears(BaseModel):
    """`GET /v1/fiscal-years`."""

    model_config = ConfigDict(extra="forbid")

    items: list[FiscalYearItem]


class SeriesYear(BaseModel):
    """One year of a series."""

    model_config = ConfigDict(extra="forbid")

    fiscal_year: str
    closure: ClosureSummary | None
    indicators: dict[str, float]


class Series(BaseModel):
    """`GET /v1/indicators?from=&to=`."""

    model_config = ConfigDict(extra="forbid")

    years: list[SeriesYear]


class Targets(BaseModel):
    """`GET /v1/targets/{fy}`."""

    model_config = ConfigDict(extra="forbid")

    fiscal_year: str
    targets: dict[str, float]


def parse_targets(raw: bytes) -> dict[str, int | float]:
    """The body of `PUT /v1/targets/{fy}`; 422 naming each refused indicator."""
    try:
        data = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise invalid("", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise invalid("", "the body must be a JSON object {indicator: number}")
    try:
        return check_targets(data, INDICATOR_NAMES)
    except InvalidTargetsError as error:
        errors = [{"field": field, "message": message} for field, message in error.errors]
        raise Problem(422, errors[0]["message"], errors=errors) from None


def routes(read_model: ReadModel, projector: Projector, records: Records) -> APIRouter:
    """The reporting routes."""
    router = APIRouter()

    def live_indicators(
        year: FiscalYear, as_of: date | None = None, as_recorded: datetime | None = None
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {"as_recorded": as_recorded} if as_recorded else {}
        try:
            return read_model.indicators(year, as_of, **extra)
        except FiscalYearError as error:
            raise invalid("as_of", str(error)) from None

    def year_answer(
        year: FiscalYear,
        *,
        as_of: date | None = None,
        as_recorded: datetime | None = None,
        view: str | None = None,
    ) -> dict[str, Any]:
        """The indicators answer: stored for a closed year unless asked live (§11)."""
        decided = records.year(year.label)  # one read for the closure and the targets
        closure = decided.closure if decided else None
        targets = dict(decided.targets) if decided else {}
        stored = closure is not None and view != "live" and as_of is None and as_recorded is None
        if stored:
            assert closure is not None
            base: dict[str, Any] = {
                "fiscal_year": year.label,
                "start": year.start.isoformat(),
                "end": year.end.isoformat(),
                "as_of": year.end.isoformat(),
                "indicators": closure.indicators,
                "freshness": closure.freshness,
            }
        else:
            base = live_indicators(year, as_of, as_recorded)
        shown = base["indicators"]
        return {
            "fiscal_year": base["fiscal_year"],
            "start": base["start"],
            "end": base["end"],
            "as_of": base["as_of"],
            "view": "stored" if stored else "live",
            "closure": closure.summary() if closure else None,
            "as_recorded": rfc3339(as_recorded) if as_recorded else None,
            "indicators": shown,
            "targets": with_progress(shown, targets),
            "freshness": base["freshness"],
        }

    async def answer(
        fiscal_year: str,
        as_of: str | None,
        as_recorded: str | None = None,
        view: str | None = None,
    ) -> dict[str, Any]:
        year = _fiscal_year(read_model, fiscal_year)
        cutoff = _as_of(as_of)
        moment = parse_as_recorded(as_recorded)
        chosen = _view(view)
        return await asyncio.to_thread(
            year_answer, year, as_of=cutoff, as_recorded=moment, view=chosen
        )

    def series(from_: str | None, to: str | None) -> list[dict[str, Any]]:
        missing = [name for name, value in (("from", from_), ("to", to)) if not value]
        if missing:
            raise Problem(
                422,
                "from and to are both required",
                errors=[{"field": name, "message": "is required"} for name in missing],
            )
        assert from_ is not None and to is not None
        first = _fiscal_year(read_model, from_, "from")
        last = _fiscal_year(read_model, to, "to")
        if first > last:
            raise invalid("from", "must not be after to")
        if last.first_year - first.first_year + 1 > MOST_YEARS_IN_A_SERIES:
            raise invalid("to", f"a series spans at most {MOST_YEARS_IN_A_SERIES} years")
        years = []
        for year in series_years(first, last):
            doc = year_answer(year)
            years.append(
                {
                    "fiscal_year": doc["fiscal_year"],
                    "closure": doc["closure"],
                    "indicators": scalar_values(doc["indicators"]),
                }
            )
        return years

    @router.get(
        "/v1/indicators.csv",
        tags=["indicators"],
        response_class=Response,
        responses={200: {"content": {"text/csv": _TEXT}}, **problem_responses(422)},
    )
    async def get_series_csv(
        from_: Annotated[str | None, Query(alias="from")] = None,
        to: Annotated[str | None, Query()] = None,
        lang: Annotated[str | None, Query()] = None,
    ) -> Response:
        _lang(lang)
        years = await asyncio.to_thread(series, from_, to)
        return Response(
            series_csv(years),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="indicateurs-{from_}-{to}.csv"'},
        )

    @router.get(
        "/v1/indicators",
        tags=["indicators"],
        response_model=None,
        responses=answers(200, Series, 422),
    )
    async def get_series(
        from_: Annotated[str | None, Query(alias="from")] = None,
        to: Annotated[str | None, Query()] = None,
        lang: Annotated[str | None, Query()] = None,
    ) -> dict[str, Any]:
        _lang(lang)
        return {"years": await asyncio.to_thread(series, from_, to)}

    @router.get(
        "/v1/indicators/{fiscal_year}.csv",
        tags=["indicators"],
        response_class=Response,
        responses={200: {"content": {"text/csv": _TEXT}}, **problem_responses(422)},
    )
    async def get_indicators_csv(
        fiscal_year: str,
        as_of: Annotated[str | None, Query()] = None,
        as_recorded: Annotated[str | None, Query()] = None,
        view: Annotated[str | None, Query()] = None,
        lang: Annotated[str | None, Query()] = None,
    ) -> Response:
        _lang(lang)
        body = indicators_csv(await answer(fiscal_year, as_of, as_recorded, view))
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
    async def get_indicators(
        fiscal_year: str,
        as_of: Annotated[str | None, Query()] = None,
        as_recorded: Annotated[str | None, Query()] = None,
        view: Annotated[str | None, Query()] = None,
        lang: Annotated[str | None, Query()] = None,
    ) -> dict[str, Any]:
        _lang(lang)
        return await answer(fiscal_year, as_of, as_recorded, view)

    @router.get(
        "/v1/reports/{fiscal_year}",
        tags=["reports"],
        response_class=Response,
        responses={
            200: {"content": {"text/html": _TEXT, "text/markdown": _TEXT}},
            **problem_responses(422),
        },
    )
    async def get_report(
        request: Request,
        fiscal_year: str,
        as_of: Annotated[str | None, Query()] = None,
        as_recorded: Annotated[str | None, Query()] = None,
        view: Annotated[str | None, Query()] = None,
        lang: Annotated[str | None, Query()] = None,
    ) -> Response:
        chosen_language = _lang(lang, request)
        data = await answer(fiscal_year, as_of, as_recorded, view)
        previous = await previous_answer(data, as_of)
        labels = await asyncio.to_thread(sector_labels)
        if "text/markdown" in request.headers.get("accept", ""):
            return Response(
                annual_report_markdown(
                    data, chosen_language, previous=previous, sector_labels=labels
                ),
                media_type="text/markdown; charset=utf-8",
                headers=_languages(chosen_language),
            )
        return HTMLResponse(
            annual_report_html(data, chosen_language, previous=previous, sector_labels=labels),
            headers=_languages(chosen_language),
        )

    def sector_labels() -> dict[str, dict[str, str]] | None:
        """The sectors' labels as the projection learned them (SectorDefined), when it keeps
        them; otherwise the views use the built-in vocabulary's."""
        known = getattr(read_model, "sector_labels", None)
        try:
            found = known() if callable(known) else known
            labels: dict[str, dict[str, str]] | None = dict(found) if found else None
        except Exception:  # the built-in labels are a fine fallback for a page
            return None
        return labels

    async def previous_answer(data: dict[str, Any], as_of: str | None) -> dict[str, Any] | None:
        """The previous year's figures to compare with (none before year 1)."""
        year = _fiscal_year(read_model, data["fiscal_year"])
        if year.first_year <= 1:
            return None
        return await asyncio.to_thread(year_answer, year.previous())

    def has_data(year: FiscalYear) -> bool:
        with read_model.database.reading() as conn:
            dates = business_date_range(conn)
        return dates is not None and dates[0] <= year.end and year.start <= dates[1]

    def fiscal_years() -> list[dict[str, Any]]:
        with read_model.database.reading() as conn:
            dates = business_date_range(conn)
        labels = records.labels()
        # §16.10: a year is listed for a target or a closure it has now (targets cleared, a
        # closure reopened: no longer a reason).
        decided = [
            read_model.fiscal_year(label)
            for label in labels
            if records.targets(label) or records.closure(label) is not None
        ]
        current = read_model.current_fiscal_year()
        items = []
        for year in listed_years(dates, current, decided, current.year_start):
            closure = records.closure(year.label) if year.label in labels else None
            items.append(
                {
                    "fiscal_year": year.label,
                    "start": year.start.isoformat(),
                    "end": year.end.isoformat(),
                    "closure": closure.summary() if closure else None,
                }
            )
        return items

    def opening_year() -> FiscalYear:
        """The current year, or when it has no data the most recent year with data."""
        current = read_model.current_fiscal_year()
        with read_model.database.reading() as conn:
            dates = business_date_range(conn)
        if dates is None or has_data(current):
            return current
        latest = first_year_of(min(dates[1], current.end), current.year_start)
        return FiscalYear(latest, current.year_start)

    @router.get("/", include_in_schema=False)
    async def get_dashboard(
        request: Request,
        lang: Annotated[str | None, Query()] = None,
        year: Annotated[str | None, Query()] = None,
        fiscal_year: Annotated[str | None, Query()] = None,
        view: Annotated[str | None, Query()] = None,
    ) -> HTMLResponse:
        chosen_language = _lang(lang, request)
        label = year or fiscal_year
        chosen = _view(view)
        if label:
            shown = _fiscal_year(read_model, label, "year" if year else "fiscal_year")
        else:
            shown = await asyncio.to_thread(opening_year)
        data = await asyncio.to_thread(year_answer, shown, view=chosen)
        previous = await previous_answer(data, None)
        years = await asyncio.to_thread(fiscal_years)
        labels = await asyncio.to_thread(sector_labels)
        page = dashboard_html(
            chosen_language, data=data, previous=previous, years=years, sector_labels=labels
        )
        return HTMLResponse(page, headers=_languages(chosen_language))

    @router.get("/favicon.svg", include_in_schema=False)
    @router.get("/favicon.ico", include_in_schema=False)
    async def get_favicon() -> Response:
        return Response(
            favicon_svg(),
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @router.get(
        "/v1/fiscal-years",
        tags=["fiscal years"],
        response_model=None,
        responses=answers(200, FiscalYears),
    )
    async def list_fiscal_years() -> dict[str, Any]:
        return {"items": await asyncio.to_thread(fiscal_years)}

    async def catch_up(deadline: float) -> bool:
        """Apply every message that was on each stream when asked; False past the deadline."""
        loop = asyncio.get_running_loop()
        while projector.live is None:
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.05)
        targets = {
            name: status.stream_last_sequence
            for name, status in (await projector.statuses()).items()
        }
        while True:
            statuses = await projector.statuses()
            if all(
                statuses[name].last_applied >= last
                for name, last in targets.items()
                if name in statuses
            ):
                return True
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.05)

    def closure_body(resource: str) -> dict[str, Any]:
        label, _, closed_at = resource.partition("|")
        closure = records.closure_at(label, closed_at)
        if closure is None:
            raise Problem(404, f"{label} has no such closure")
        return closure.represent()

    def closure_headers(label: str) -> dict[str, str]:
        return {"Location": f"/v1/fiscal-years/{label}/closure"}

    def store_closure(
        request: Request,
        year: FiscalYear,
        note: str | None,
        idempotency: IdempotentRequest | None,
    ) -> JSONResponse:
        figures = read_model.indicators(year, None)
        closed_at = rfc3339(datetime.now(UTC))
        resource = f"{year.label}|{closed_at}"
        record = idempotency.record(201, resource) if idempotency else None
        try:
            closure = records.close_year(
                year.label,
                closed_at=closed_at,
                note=note,
                indicators=figures["indicators"],
                freshness=figures["freshness"],
                context=command_context(request, record),
            )
        except EventStoreConflict:
            stored = idempotency.stored() if idempotency else None
            if stored is not None:
                return replayed(
                    stored.status, closure_body(stored.resource), closure_headers(year.label)
                )
            raise AlreadyClosedError(f"{year.label} is already closed") from None
        return JSONResponse(
            closure.represent(), status_code=201, headers=closure_headers(year.label)
        )

    @router.post(
        "/v1/fiscal-years/{fiscal_year}/closure",
        status_code=201,
        dependencies=[require(ADMIN)],
        tags=["fiscal years"],
        openapi_extra=body_schema(ClosureRequest, required=False),
        responses={
            **answers(201, ClosureAnswer, 409, 503),
            201: {
                "description": "Closed",
                "content": {"application/json": {"schema": ClosureAnswer.model_json_schema()}},
                "headers": {"Location": {"schema": {"type": "string"}}},
            },
        },
    )
    async def close_fiscal_year(
        request: Request,
        fiscal_year: str,
        idempotency_key: Annotated[str | None, IDEMPOTENCY_HEADER] = None,
    ) -> JSONResponse:
        """Close a year: its figures, as projected now, no longer move (§11)."""
        deadline = asyncio.get_running_loop().time() + CATCH_UP_SECONDS
        raw = await request.body()
        idempotency = await asyncio.to_thread(idempotent_request, request, raw)
        body = parse_body(raw, ClosureRequest, optional=True)
        year = _fiscal_year(read_model, fiscal_year)
        if idempotency is not None and idempotency.previous is not None:
            previous = idempotency.previous
            return replayed(
                previous.status,
                await asyncio.to_thread(closure_body, previous.resource),
                closure_headers(year.label),
            )
        if await asyncio.to_thread(records.closure, year.label) is not None:
            raise AlreadyClosedError(f"{year.label} is already closed")
        if not year.end < today_in_quebec():
            raise Problem(
                422,
                f"{year.label} ends on {year.end.isoformat()}: a year is closed once it has ended",
                slug="year-not-ended",
                errors=[{"field": "fiscal_year", "message": "the year has not ended yet"}],
            )
        if not await catch_up(deadline):
            raise Problem(
                503,
                "the figures are still catching up with the streams; retry in a moment",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        return await asyncio.to_thread(store_closure, request, year, body.note, idempotency)

    def closure_with_changes(year: FiscalYear) -> dict[str, Any]:
        closure = records.closure(year.label)
        check_closed(records.year(year.label), year.label)
        assert closure is not None
        live = read_model.indicators(year, None)["indicators"]
        return {
            **closure.represent(),
            "changes_since_closure": changes_since(closure.indicators, live),
        }

    @router.get(
        "/v1/fiscal-years/{fiscal_year}/closure",
        tags=["fiscal years"],
        response_model=None,
        responses=answers(200, ClosureWithChanges, 404, 422),
    )
    async def get_closure(fiscal_year: str) -> dict[str, Any]:
        year = _fiscal_year(read_model, fiscal_year)
        return await asyncio.to_thread(closure_with_changes, year)

    @router.delete(
        "/v1/fiscal-years/{fiscal_year}/closure",
        status_code=204,
        dependencies=[require(ADMIN)],
        tags=["fiscal years"],
        response_class=Response,
        responses=problem_responses(404, 422),
    )
    async def reopen_fiscal_year(request: Request, fiscal_year: str) -> Response:
        """Reopen a closed year (→ FiscalYearReopened); closing it again stores new figures."""
        year = _fiscal_year(read_model, fiscal_year)
        context = command_context(request)
        await asyncio.to_thread(records.reopen_year, year.label, context=context)
        return Response(status_code=204)

    @router.put(
        "/v1/targets/{fiscal_year}",
        dependencies=[require(ADMIN)],
        tags=["targets"],
        response_model=None,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": {"type": "number", "minimum": 0},
                        }
                    }
                },
            }
        },
        responses=answers(200, Targets, 422),
    )
    async def set_targets(request: Request, fiscal_year: str) -> dict[str, Any]:
        """Replace a year's targets (`{}` clears them); the same ones record nothing."""
        raw = await request.body()
        targets = parse_targets(raw)
        year = _fiscal_year(read_model, fiscal_year)
        context = command_context(request)
        await asyncio.to_thread(records.set_targets, year.label, targets, context=context)
        return {"fiscal_year": year.label, "targets": records.targets(year.label)}

    @router.get(
        "/v1/targets/{fiscal_year}",
        tags=["targets"],
        response_model=None,
        responses=answers(200, Targets, 422),
    )
    async def get_targets(fiscal_year: str) -> dict[str, Any]:
        year = _fiscal_year(read_model, fiscal_year)
        return {"fiscal_year": year.label, "targets": records.targets(year.label)}

    @router.get(
        "/v1/projections/status",
        tags=["projections"],
        response_model=None,
        responses=answers(200, ProjectionStatus),
    )
    async def get_projection_status() -> dict[str, Any]:
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
    async def rebuild_projections() -> JSONResponse:
        projector.request_rebuild()
        return JSONResponse({"rebuilding": True}, status_code=202)

    return router


def install_errors(api: FastAPI) -> None:
    """Map the reporting vocabulary of refusals to problem details; compress the answers."""
    api.add_middleware(GZipMiddleware, minimum_size=1024)

    @api.exception_handler(FiscalYearError)
    async def on_fiscal_year(request: Request, error: FiscalYearError) -> JSONResponse:
        return problem_response(request, Problem(422, str(error)))

    @api.exception_handler(AlreadyClosedError)
    async def on_already_closed(request: Request, error: AlreadyClosedError) -> JSONResponse:
        return problem_response(request, Problem(409, str(error), slug="already-closed"))

    @api.exception_handler(NotClosedError)
    async def on_not_closed(request: Request, error: NotClosedError) -> JSONResponse:
        return problem_response(request, Problem(404, str(error)))
