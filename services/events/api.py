"""HTTP routes of the events service (contract §3): HTTP in, application calls, HTTP out."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError as EventStoreConflict
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.events import domain
from services.events.application import Events
from services.events.views import (
    ActivityCatalogue,
    represent,
    represent_attendance,
    represent_public_attendance,
)
from shared.fields import (
    BusinessDate,
    NonEmptyText,
    OptionalText,
    PositiveInt,
    Region,
    RequestBody,
    is_region,
)
from shared.http import (
    Command,
    Page,
    Paging,
    answers,
    command_context,
    command_route,
    etag_header,
    filter_value,
    page,
    problem_response,
    replayed,
    require,
    run_command,
)
from shared.problems import Problem, invalid

ActivityType = Literal[
    "formation",
    "courtepointe",
    "service_conseil",
    "conference",
    "reseautage",
    "cine_discussion",
    "parcours_coop",
    "autre",
]
Format = Literal["in_person", "remote", "hybrid"]
Partners = Annotated[list[NonEmptyText], Field(max_length=100)]

WRITE = "events:write"

# status, problem type slug, and the request field a 422 is about
ERRORS: dict[type[domain.EventsError], tuple[int, str | None, str]] = {
    domain.ActivityNotFoundError: (404, None, ""),
    domain.AttendanceNotFoundError: (404, None, ""),
    domain.ActivityCancelledError: (409, "activity-cancelled", ""),
    domain.AlreadyCancelledError: (409, "already-cancelled", ""),
    domain.CooperativeNotMemberError: (422, "cooperative-not-member", "cooperative_id"),
    domain.UnknownActivityTypeError: (422, None, "type"),
    domain.UnknownFormatError: (422, None, "format"),
    domain.EmptyTitleError: (422, None, "title"),
    domain.RegionRequiredError: (422, "region-required", "region"),
    domain.RegionError: (422, None, "region"),
    domain.ParticipantsError: (422, None, "participants"),
    domain.PublicCountError: (422, None, "count"),
}


class ScheduleRequest(RequestBody):
    """Body of `POST /v1/activities`."""

    type: ActivityType
    title: NonEmptyText
    date: BusinessDate
    format: Format
    region: Region | None = None
    partners: Partners | None = None


class AttendanceRequest(RequestBody):
    """Body of `POST /v1/activities/{id}/attendances`."""

    cooperative_id: UUID
    participants: PositiveInt = 1


class PublicAttendanceRequest(RequestBody):
    """Body of `POST /v1/activities/{id}/public-attendance`."""

    count: PositiveInt
    region: Region | None = None


class CancellationRequest(RequestBody):
    """Body of `POST /v1/activities/{id}/cancellation` (which may be empty)."""

    reason: OptionalText | None = None


class Activity(BaseModel):
    """An activity as answered (contract §3); documents the responses."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    type: ActivityType
    title: str
    date: date
    region: Region | None
    format: Format
    partners: list[str]
    status: Literal["scheduled", "cancelled"]
    member_attendances: int
    public_attendance: int
    version: int


class Attendance(BaseModel):
    """A member cooperative's attendance record."""

    model_config = ConfigDict(extra="forbid")

    activity_id: UUID
    cooperative_id: UUID
    participants: int
    recorded_at: datetime


class PublicAttendance(BaseModel):
    """A public attendance record."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    activity_id: UUID
    count: int
    region: Region | None
    recorded_at: datetime


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def date_filter(value: str | None, field: str) -> date | None:
    """An optional `YYYY-MM-DD` filter: empty means none; anything else that is no date → 422."""
    text = filter_value(value, field, lambda v: _ISO_DATE.match(v) is not None)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise invalid(field, f"{text!r} is not a real calendar date") from None


def routes(app: Events, catalogue: ActivityCatalogue) -> APIRouter:
    """The events routes, bound to the service's application."""
    router = APIRouter(prefix="/v1/activities", tags=["activities"])
    reader = [require("read")]

    def current(ref: str) -> dict[str, Any]:
        return represent(app.activity(UUID(ref)))

    def attendance(ref: str) -> dict[str, Any]:
        activity_id, cooperative_id = ref.split("/")
        return represent_attendance(app.attendance(UUID(activity_id), UUID(cooperative_id)))

    def public_attendance(ref: str) -> dict[str, Any]:
        activity_id, record_id = ref.split("/")
        return represent_public_attendance(
            app.public_attendance(UUID(activity_id), UUID(record_id))
        )

    @command_route(
        router,
        "",
        scope=WRITE,
        body=ScheduleRequest,
        status_code=201,
        responses=answers(201, Activity, 409),
    )
    def schedule_activity(command: Command[ScheduleRequest]) -> JSONResponse:
        body, new_id = command.body, uuid4()
        return run_command(
            command,
            status=201,
            resource=str(new_id),
            execute=lambda context: app.schedule(
                new_id,
                type=body.type,
                title=body.title,
                held_on=body.date,
                format=body.format,
                region=body.region,
                partners=list(body.partners or []),
                context=context,
            ),
            render=current,
            headers=lambda doc: {**etag_header(doc), "Location": f"/v1/activities/{doc['id']}"},
            shown=represent,
        )

    @router.get(
        "", dependencies=reader, response_model=None, responses=answers(200, Page[Activity])
    )
    def list_activities(
        paging: Paging,
        type: Annotated[str | None, Query()] = None,
        region: Annotated[str | None, Query()] = None,
        start: Annotated[str | None, Query(alias="from")] = None,
        end: Annotated[str | None, Query(alias="to")] = None,
    ) -> dict[str, Any]:
        items, positions = catalogue.list(
            type=filter_value(type, "type", lambda v: v in domain.ACTIVITY_TYPES),
            region=filter_value(region, "region", is_region),
            start=date_filter(start, "from"),
            end=date_filter(end, "to"),
            after=paging.after,
            limit=paging.limit,
        )
        return page(items, positions, paging.limit)

    @router.get("/{activity_id}", dependencies=reader, responses=answers(200, Activity, 404))
    def get_activity(activity_id: UUID) -> JSONResponse:
        doc = represent(app.activity(activity_id))
        return JSONResponse(doc, headers=etag_header(doc))

    @command_route(
        router,
        "/{activity_id}/attendances",
        scope=WRITE,
        body=AttendanceRequest,
        responses={
            **answers(201, Attendance, 404, 409),
            200: {"model": Attendance, "description": "Already recorded: the existing record"},
        },
    )
    def attend_activity(command: Command[AttendanceRequest], activity_id: UUID) -> JSONResponse:
        return _record_attendance(command, app, activity_id, attendance)

    @command_route(
        router,
        "/{activity_id}/public-attendance",
        scope=WRITE,
        body=PublicAttendanceRequest,
        status_code=201,
        responses=answers(201, PublicAttendance, 404, 409),
    )
    def count_public(command: Command[PublicAttendanceRequest], activity_id: UUID) -> JSONResponse:
        body, record_id = command.body, uuid4()
        return run_command(
            command,
            status=201,
            resource=f"{activity_id}/{record_id}",
            execute=lambda context: app.record_public_attendance(
                activity_id, record_id, count=body.count, region=body.region, context=context
            ),
            render=public_attendance,
            shown=represent_public_attendance,
        )

    @command_route(
        router,
        "/{activity_id}/cancellation",
        scope=WRITE,
        body=CancellationRequest,
        optional_body=True,
        responses=answers(200, Activity, 404, 409),
    )
    def cancel_activity(command: Command[CancellationRequest], activity_id: UUID) -> JSONResponse:
        return run_command(
            command,
            status=200,
            resource=str(activity_id),
            execute=lambda context: app.cancel(
                activity_id, reason=command.body.reason, context=context
            ),
            render=current,
            headers=etag_header,
            shown=represent,
        )

    return router


def _record_attendance(
    command: Command[AttendanceRequest],
    app: Events,
    activity_id: UUID,
    render: Any,
) -> JSONResponse:
    """201 with a new attendance; 200 with the existing one, recording nothing."""
    request, idempotency, body = command.request, command.idempotency, command.body
    if idempotency is not None and idempotency.previous is not None:
        return replayed(idempotency.previous.status, render(idempotency.previous.resource))
    ref = f"{activity_id}/{body.cooperative_id}"
    for _attempt in range(5):
        record = idempotency.record(201, ref) if idempotency else None
        try:
            found, created = app.attend(
                activity_id,
                body.cooperative_id,
                participants=body.participants,
                context=command_context(request, record),
            )
        except EventStoreConflict:
            stored = idempotency.stored() if idempotency else None
            if stored is not None:
                return replayed(stored.status, render(stored.resource))
            continue  # a concurrent change of the activity: look again
        if created:
            return JSONResponse(represent_attendance(found), status_code=201)
        if idempotency is not None:
            idempotency.remember(200, ref)
        return JSONResponse(represent_attendance(found), status_code=200)
    raise Problem(409, "the activity kept changing concurrently; retry the request")


def install_errors(api: FastAPI) -> None:
    """Map the events vocabulary of refusals to problem details, in one place."""

    @api.exception_handler(domain.EventsError)
    async def on_events_error(request: Request, error: domain.EventsError) -> JSONResponse:
        status, slug, field = ERRORS.get(type(error), (422, None, ""))
        problem = (
            invalid(field, str(error), slug=slug)
            if status == 422
            else Problem(status, str(error), slug=slug)
        )
        return problem_response(request, problem)
