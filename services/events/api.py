"""HTTP routes of the events service (contract §3): HTTP in, application calls, HTTP out."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError as EventStoreConflict
from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.events import domain
from services.events.application import Events
from services.events.contracts import to_integration
from services.events.views import (
    ActivityCatalogue,
    AttendanceIndex,
    represent,
    represent_attendance,
    represent_public_attendance,
)
from shared.external_refs import KnownReference
from shared.fields import (
    BusinessDate,
    ExternalRefText,
    NonEmptyText,
    OptionalText,
    PositiveInt,
    ReasonText,
    Region,
    RequestBody,
    is_region,
    not_nullable_in_schema,
    refuse_null,
)
from shared.http import (
    Command,
    Page,
    Paging,
    Refusal,
    Withdrawal,
    answers,
    command_context,
    command_route,
    etag_header,
    expected_version,
    filter_value,
    history,
    install_domain_errors,
    known_answer,
    numbered_page,
    page,
    problem_responses,
    replayed,
    require,
    retried,
    run_command,
    withdrawal_reason,
)
from shared.persistence import CommandContext
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
ResponseT = TypeVar("ResponseT", bound=Response)

# status, problem type slug, and the request field a 422 is about
ERRORS: dict[type[domain.EventsError], Refusal] = {
    domain.ActivityNotFoundError: (404, None, ""),
    domain.AttendanceNotFoundError: (404, None, ""),
    domain.ActivityCancelledError: (409, "activity-cancelled", ""),
    domain.AlreadyCancelledError: (409, "already-cancelled", ""),
    domain.NotCancelledError: (409, "not-cancelled", ""),
    domain.AlreadyWithdrawnError: (404, "already-withdrawn", ""),
    domain.ExternalRefTakenError: (409, "external-ref-taken", ""),
    domain.CooperativeNotMemberError: (422, "cooperative-not-member", "cooperative_id"),
    domain.UnknownActivityTypeError: (422, None, "type"),
    domain.UnknownFormatError: (422, None, "format"),
    domain.EmptyTitleError: (422, None, "title"),
    domain.RegionRequiredError: (422, "region-required", "region"),
    domain.RegionError: (422, None, "region"),
    domain.ParticipantsError: (422, None, "participants"),
    domain.PublicCountError: (422, None, "count"),
}


REASON_DESCRIPTION = (
    "Why the record is corrected, in a few words (at most 500 characters). It enters the "
    "activity's history and the integration events: never put personal information in it."
)
Reason = Annotated[ReasonText, Field(description=REASON_DESCRIPTION)]
ExternalRef = Annotated[
    ExternalRefText,
    Field(description="The record's key in another system: unique per resource type."),
]


class ScheduleRequest(RequestBody):
    """Body of `POST /v1/activities`."""

    type: ActivityType
    title: NonEmptyText
    date: BusinessDate
    format: Format
    region: Region | None = None
    partners: Partners | None = None
    external_ref: ExternalRef | None = None


# Only `region` of a revision may be cleared (a remote activity).
_REVISION_NOT_NULL = ("type", "title", "date", "format", "partners")


class RevisionRequest(RequestBody):
    """Body of `PATCH /v1/activities/{id}`: any of the activity's fields."""

    model_config = ConfigDict(json_schema_extra=not_nullable_in_schema(*_REVISION_NOT_NULL))

    type: ActivityType | None = None
    title: NonEmptyText | None = None
    date: BusinessDate | None = None
    format: Format | None = None
    region: Region | None = None
    partners: Partners | None = None
    reason: Reason | None = None

    _not_null = refuse_null(*_REVISION_NOT_NULL)


class ReinstatementRequest(RequestBody):
    """Body of `POST /v1/activities/{id}/reinstatement` (may be empty)."""

    reason: Reason | None = None


class AttendanceCorrection(RequestBody):
    """Body of `PATCH /v1/activities/{id}/attendances/{cooperative_id}`."""

    participants: PositiveInt
    reason: Reason | None = None


class PublicAttendanceCorrection(RequestBody):
    """Body of `PATCH /v1/activities/{id}/public-attendance/{record_id}`."""

    count: PositiveInt | None = None
    region: Region | None = None
    reason: Reason | None = None

    _count_not_null = refuse_null("count")


class AttendanceRequest(RequestBody):
    """Body of `POST /v1/activities/{id}/attendances`."""

    cooperative_id: UUID
    participants: PositiveInt = 1


class PublicAttendanceRequest(RequestBody):
    """Body of `POST /v1/activities/{id}/public-attendance`."""

    count: PositiveInt
    region: Region | None = None
    external_ref: ExternalRef | None = None


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
    external_ref: str | None
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
    external_ref: str | None


class HistoryEntry(history.HistoryEntry):
    """One recorded event of an activity, as its integration event's data."""


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


def routes(app: Events, catalogue: ActivityCatalogue, index: AttendanceIndex) -> APIRouter:
    """The events routes, bound to the service's application."""
    router = APIRouter()
    router.include_router(activity_routes(app, catalogue))
    router.include_router(attendance_routes(index))
    return router


def attendance_routes(index: AttendanceIndex) -> APIRouter:
    """A cooperative's attendance records across activities."""
    router = APIRouter(prefix="/v1/attendances", tags=["attendances"])

    @router.get(
        "",
        dependencies=[require("read")],
        response_model=None,
        responses=answers(200, Page[Attendance]),
    )
    def list_cooperative_attendances(
        paging: Paging, cooperative_id: Annotated[str | None, Query()] = None
    ) -> dict[str, Any]:
        """A cooperative's attendance records, oldest first (`cooperative_id` required).

        Withdrawn attendances are left out.
        """
        if not cooperative_id:
            raise invalid("cooperative_id", "cooperative_id is required")
        try:
            wanted = UUID(cooperative_id)
        except ValueError:
            raise invalid("cooperative_id", f"{cooperative_id!r} is not a UUID") from None
        items, positions = index.list(str(wanted), after=paging.after, limit=paging.limit)
        return page(items, positions, paging.limit)

    return router


def activity_routes(app: Events, catalogue: ActivityCatalogue) -> APIRouter:
    """The activities' routes."""
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

    def located(doc: dict[str, Any]) -> dict[str, str]:
        return {**etag_header(doc), "Location": f"/v1/activities/{doc['id']}"}

    def withdrawn(
        command: Command[Withdrawal],
        activity_id: UUID,
        recorded: Callable[[domain.Activity], object],
        withdraw: Callable[..., domain.Activity],
    ) -> Response:
        """Withdraw one of the activity's records: 404 unless `recorded` finds it, then 412.

        Answers 204 with the activity's new `ETag`.
        """
        request = command.request
        reason = withdrawal_reason(request)
        activity = app.activity(activity_id)
        recorded(activity)
        expected = expected_version(request, activity.version)
        activity = withdraw(
            reason=reason, expected_version=expected, context=command_context(request)
        )
        return Response(status_code=204, headers=etag_header(represent(activity)))

    @command_route(
        router,
        "",
        scope=WRITE,
        body=ScheduleRequest,
        status_code=201,
        responses={
            **answers(201, Activity, 409),
            200: {"model": Activity, "description": "The activity holding this external_ref"},
        },
    )
    def schedule_activity(command: Command[ScheduleRequest]) -> JSONResponse:
        """Schedule an activity → `ActivityScheduled` (201).

        With an `external_ref` an activity already holds, answers 200 with that activity as
        it is now and records nothing.
        """
        body, new_id = command.body, uuid4()
        try:
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
                    external_ref=body.external_ref,
                    context=context,
                ),
                render=current,
                headers=located,
                shown=represent,
            )
        except KnownReference as held:
            return known_answer(command, held.holder, current, located)

    @router.get(
        "", dependencies=reader, response_model=None, responses=answers(200, Page[Activity])
    )
    def list_activities(
        paging: Paging,
        type: Annotated[str | None, Query()] = None,
        region: Annotated[str | None, Query()] = None,
        start: Annotated[str | None, Query(alias="from")] = None,
        end: Annotated[str | None, Query(alias="to")] = None,
        external_ref: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        """Activities in creation order; `external_ref` finds one whatever its status."""
        items, positions = catalogue.list(
            type=filter_value(type, "type", lambda v: v in domain.ACTIVITY_TYPES),
            region=filter_value(region, "region", is_region),
            start=date_filter(start, "from"),
            end=date_filter(end, "to"),
            external_ref=external_ref or None,
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
        "/{activity_id}",
        method="PATCH",
        scope=WRITE,
        body=RevisionRequest,
        idempotent=False,
        responses=answers(200, Activity, 404, 412),
    )
    @retried
    def revise_activity(command: Command[RevisionRequest], activity_id: UUID) -> JSONResponse:
        """Correct any of type, title, date, format, region, partners → `ActivityRevised`.

        §3's region rule holds on the result; a revision that changes nothing answers 200
        and records nothing. Attendances follow the activity's new date and type.
        """
        expected = expected_version(command.request, app.activity(activity_id).version)
        proposed = command.body.model_dump(include=command.body.model_fields_set - {"reason"})
        activity, _ = app.revise(
            activity_id,
            proposed,
            reason=command.body.reason,
            expected_version=expected,
            context=command_context(command.request),
        )
        doc = represent(activity)
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
    def record_attendance(command: Command[AttendanceRequest], activity_id: UUID) -> JSONResponse:
        return _record_attendance(command, app, activity_id, attendance)

    @router.get(
        "/{activity_id}/attendances",
        dependencies=reader,
        response_model=None,
        responses=answers(200, Page[Attendance], 404),
    )
    def list_attendances(activity_id: UUID, paging: Paging) -> dict[str, Any]:
        """The activity's member attendance records, oldest first (withdrawn ones left out)."""
        records = list(app.activity(activity_id).attendances.values())
        return numbered_page(records, represent_attendance, paging)

    @command_route(
        router,
        "/{activity_id}/attendances/{cooperative_id}",
        method="PATCH",
        scope=WRITE,
        body=AttendanceCorrection,
        idempotent=False,
        responses=answers(200, Attendance, 404, 412),
    )
    @retried
    def correct_attendance(
        command: Command[AttendanceCorrection], activity_id: UUID, cooperative_id: UUID
    ) -> JSONResponse:
        """Correct an attendance's participants → `AttendanceCorrected` (200 + the record).

        `If-Match` is compared with the activity's version; the answer carries the
        activity's new `ETag`. A correction that changes nothing records nothing.
        """
        request = command.request
        activity = app.activity(activity_id)
        activity.recorded_attendance(cooperative_id)
        expected = expected_version(request, activity.version)
        activity, record, _ = app.correct_attendance(
            activity_id,
            cooperative_id,
            participants=command.body.participants,
            reason=command.body.reason,
            expected_version=expected,
            context=command_context(request),
        )
        return JSONResponse(represent_attendance(record), headers=etag_header(represent(activity)))

    @command_route(
        router,
        "/{activity_id}/attendances/{cooperative_id}",
        method="DELETE",
        scope=WRITE,
        body=Withdrawal,
        optional_body=True,
        idempotent=False,
        status_code=204,
        responses={**problem_responses(404, 412), 204: {"description": "Withdrawn"}},
    )
    @retried
    def withdraw_attendance(
        command: Command[Withdrawal], activity_id: UUID, cooperative_id: UUID
    ) -> Response:
        """Withdraw an attendance → `AttendanceWithdrawn` (204); it may be recorded again.

        Repeated → 404 with `type` ending `/already-withdrawn`.
        """
        return withdrawn(
            command,
            activity_id,
            lambda activity: activity.recorded_attendance(cooperative_id),
            functools.partial(app.withdraw_attendance, activity_id, cooperative_id),
        )

    @command_route(
        router,
        "/{activity_id}/public-attendance",
        scope=WRITE,
        body=PublicAttendanceRequest,
        status_code=201,
        responses={
            **answers(201, PublicAttendance, 404, 409),
            200: {"model": PublicAttendance, "description": "The record holding this external_ref"},
        },
    )
    def record_public_attendance(
        command: Command[PublicAttendanceRequest], activity_id: UUID
    ) -> JSONResponse:
        """Record people who attended without a member cooperative → `PublicAttendanceRecorded`.

        With an `external_ref` a record of this activity already holds, answers 200 with it
        and records nothing; a reference held under another activity → 409
        `/external-ref-taken`.
        """
        body, record_id = command.body, uuid4()
        try:
            return run_command(
                command,
                status=201,
                resource=f"{activity_id}/{record_id}",
                execute=lambda context: app.record_public_attendance(
                    activity_id,
                    record_id,
                    count=body.count,
                    region=body.region,
                    external_ref=body.external_ref,
                    context=context,
                ),
                render=public_attendance,
                shown=represent_public_attendance,
            )
        except KnownReference as held:
            return known_answer(
                command,
                held.holder,
                public_attendance,
                lambda doc: etag_header(current(doc["activity_id"])),
            )

    @router.get(
        "/{activity_id}/public-attendance",
        dependencies=reader,
        response_model=None,
        responses=answers(200, Page[PublicAttendance], 404),
    )
    def list_public_attendance(activity_id: UUID, paging: Paging) -> dict[str, Any]:
        """The activity's public attendance records, oldest first (withdrawn ones left out)."""
        records = list(app.activity(activity_id).public_attendances)
        return numbered_page(records, represent_public_attendance, paging)

    @command_route(
        router,
        "/{activity_id}/public-attendance/{record_id}",
        method="PATCH",
        scope=WRITE,
        body=PublicAttendanceCorrection,
        idempotent=False,
        responses=answers(200, PublicAttendance, 404, 412),
    )
    @retried
    def correct_public_attendance(
        command: Command[PublicAttendanceCorrection], activity_id: UUID, record_id: UUID
    ) -> JSONResponse:
        """Correct a record's count or region → `PublicAttendanceCorrected` (200 + the record).

        `If-Match` is compared with the activity's version; the answer carries its new `ETag`.
        """
        request, body = command.request, command.body
        activity = app.activity(activity_id)
        activity.recorded_public_attendance(record_id)
        expected = expected_version(request, activity.version)
        activity, record, _ = app.correct_public_attendance(
            activity_id,
            record_id,
            body.model_dump(include=body.model_fields_set & {"count", "region"}),
            reason=body.reason,
            expected_version=expected,
            context=command_context(request),
        )
        return JSONResponse(
            represent_public_attendance(record), headers=etag_header(represent(activity))
        )

    @command_route(
        router,
        "/{activity_id}/public-attendance/{record_id}",
        method="DELETE",
        scope=WRITE,
        body=Withdrawal,
        optional_body=True,
        idempotent=False,
        status_code=204,
        responses={**problem_responses(404, 412), 204: {"description": "Withdrawn"}},
    )
    @retried
    def withdraw_public_attendance(
        command: Command[Withdrawal], activity_id: UUID, record_id: UUID
    ) -> Response:
        """Withdraw a public attendance record → `PublicAttendanceWithdrawn` (204).

        Repeated → 404 with `type` ending `/already-withdrawn`.
        """
        return withdrawn(
            command,
            activity_id,
            lambda activity: activity.recorded_public_attendance(record_id),
            functools.partial(app.withdraw_public_attendance, activity_id, record_id),
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

    @command_route(
        router,
        "/{activity_id}/reinstatement",
        scope=WRITE,
        body=ReinstatementRequest,
        optional_body=True,
        responses=answers(200, Activity, 404, 409, 412),
    )
    def reinstate_activity(
        command: Command[ReinstatementRequest], activity_id: UUID
    ) -> JSONResponse:
        """Undo a cancellation → `ActivityReinstated`; 409 unless the activity is cancelled."""
        idempotency = command.idempotency
        expected = None
        if idempotency is None or idempotency.previous is None:
            expected = expected_version(command.request, app.activity(activity_id).version)

        def execute(context: CommandContext) -> domain.Activity:
            return app.reinstate(
                activity_id,
                reason=command.body.reason,
                expected_version=expected,
                context=context,
            )

        return run_command(
            command,
            status=200,
            resource=str(activity_id),
            execute=execute,
            render=current,
            headers=etag_header,
            shown=represent,
        )

    @router.get(
        "/{activity_id}/history",
        dependencies=reader,
        response_model=None,
        responses=answers(200, Page[HistoryEntry], 404),
    )
    def get_activity_history(activity_id: UUID, paging: Paging) -> dict[str, Any]:
        """Every recorded event of the activity, oldest first, with its integration data."""
        return history.history_page(app.history(activity_id), to_integration, paging)

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
    install_domain_errors(api, domain.EventsError, ERRORS)
