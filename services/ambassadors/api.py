"""HTTP routes of the ambassadors service (contracts §4 and §6): HTTP in, application calls, out."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, StringConstraints

from services.ambassadors import domain
from services.ambassadors.application import Ambassadors, PersonalDetails
from services.ambassadors.views import (
    STATUSES,
    AmbassadorList,
    cooperative_name,
    represent,
    represent_action,
)
from shared.fields import BusinessDate, NonEmptyText, NonNegativeInt, RequestBody
from shared.http import (
    Command,
    Page,
    Paging,
    answers,
    check_if_match,
    command_route,
    etag_header,
    filter_value,
    page,
    problem_response,
    problem_responses,
    require,
    run_command,
)
from shared.problems import Problem

Email = Annotated[
    str,
    StringConstraints(
        strict=True, max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"
    ),
]
ActionKind = Literal["cine_discussion", "presentation", "kiosque", "mentorat", "autre"]

WRITE = "ambassadors:write"

ERRORS: dict[type[domain.AmbassadorsError], tuple[int, str | None, str]] = {
    domain.AmbassadorNotFoundError: (404, None, ""),
    domain.AmbassadorEndedError: (409, "ambassador-ended", ""),
    domain.NotActiveError: (409, "not-active", ""),
    domain.CooperativeNotMemberError: (422, "cooperative-not-member", "cooperative_id"),
    domain.ActionDateError: (422, "action-date", "performed_on"),
    domain.ActionKindError: (422, None, "kind"),
    domain.PeopleReachedError: (422, None, "people_reached"),
    domain.RetirementDateError: (422, "retirement-date", "retired_on"),
}


class EnrollmentRequest(RequestBody):
    """Body of `POST /v1/ambassadors`."""

    cooperative_id: UUID
    name: NonEmptyText
    email: Email | None = None
    enrolled_on: BusinessDate


class ActionRequest(RequestBody):
    """Body of `POST /v1/ambassadors/{id}/actions`."""

    kind: ActionKind
    performed_on: BusinessDate
    activity_id: UUID | None = None
    people_reached: NonNegativeInt | None = None


class RetirementRequest(RequestBody):
    """Body of `POST /v1/ambassadors/{id}/retirement`."""

    retired_on: BusinessDate


class Ambassador(BaseModel):
    """An ambassador as answered (contracts §4 and §6); documents the responses."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    cooperative_id: UUID
    name: str | None
    email: str | None
    enrolled_on: date
    status: Literal["active", "retired", "deactivated"]
    ended_on: date | None
    actions: int
    version: int
    erased: bool


class Action(BaseModel):
    """An ambassador's action record."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    ambassador_id: UUID
    kind: ActionKind
    performed_on: date
    activity_id: UUID | None
    people_reached: int | None


class CooperativeRef(BaseModel):
    """The ambassador's cooperative, with its name as membership last told it."""

    id: UUID
    name: str | None


class PersonalData(BaseModel):
    """Everything the service keeps about the person (contract §6 v2; name, email null once
    erased)."""

    model_config = ConfigDict(extra="forbid")

    ambassador_id: UUID
    name: str | None
    email: str | None
    cooperative: CooperativeRef
    enrolled_on: date
    status: Literal["active", "retired", "deactivated"]
    ended_on: date | None
    erased: bool
    actions: list[Action]
    exported_at: datetime


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


PERSONAL_SCOPES = frozenset({"personal:read", "privacy:admin"})


def shows_personal(request: Request) -> bool:
    """Whether the request's token may see name and email (contract §4 v2, §16.16)."""
    return bool(PERSONAL_SCOPES & set(getattr(request.state, "scopes", ())))


def redacted(request: Request, doc: dict[str, Any]) -> dict[str, Any]:
    """The representation as this token may see it: name and email null without the scope."""
    if shows_personal(request):
        return doc
    return {**doc, "name": None, "email": None}


def email_lookup_allowed(request: Request) -> None:
    """Finding ambassadors by email needs privacy:admin (§6): a route dependency, so the 403
    comes before any 422 of the other parameters (§1's order of checks)."""
    if request.query_params.get("email") and "privacy:admin" not in request.state.scopes:
        raise Problem(403, "finding an ambassador by email needs the scope 'privacy:admin'")


def routes(app: Ambassadors, listing: AmbassadorList) -> APIRouter:
    """The ambassadors routes, bound to the service's application."""
    router = APIRouter(prefix="/v1/ambassadors", tags=["ambassadors"])
    reader = [require("read")]
    privacy = [require("privacy:admin")]

    def current(ref: str) -> dict[str, Any]:
        ambassador_id = UUID(ref)
        return represent(app.ambassador(ambassador_id), app.personal.find(ambassador_id))

    @command_route(
        router,
        "",
        scope=WRITE,
        body=EnrollmentRequest,
        status_code=201,
        responses=answers(201, Ambassador, 409),
    )
    def enroll_ambassador(command: Command[EnrollmentRequest]) -> JSONResponse:
        body, new_id = command.body, uuid4()
        details = PersonalDetails(body.name, body.email)
        return run_command(
            command,
            status=201,
            resource=str(new_id),
            execute=lambda context: app.enroll(
                new_id,
                cooperative_id=body.cooperative_id,
                name=body.name,
                email=body.email,
                enrolled_on=body.enrolled_on,
                context=context,
            ),
            render=lambda ref: redacted(command.request, current(ref)),
            headers=lambda doc: {**etag_header(doc), "Location": f"/v1/ambassadors/{doc['id']}"},
            shown=lambda ambassador: redacted(command.request, represent(ambassador, details)),
        )

    @router.get(
        "",
        dependencies=[*reader, Depends(email_lookup_allowed)],
        response_model=None,
        responses=answers(200, Page[Ambassador]),
    )
    def list_ambassadors(
        request: Request,
        paging: Paging,
        status: Annotated[str | None, Query()] = None,
        cooperative_id: Annotated[str | None, Query()] = None,
        email: Annotated[str | None, Query()] = None,
    ) -> dict[str, Any]:
        cooperative = filter_value(cooperative_id, "cooperative_id", _is_uuid)
        items, positions = listing.list(
            status=filter_value(status, "status", lambda v: v in STATUSES),
            cooperative_id=str(UUID(cooperative)) if cooperative else None,
            after=paging.after,
            limit=paging.limit,
            email=email or None,
        )
        return page([redacted(request, item) for item in items], positions, paging.limit)

    @router.get("/{ambassador_id}", dependencies=reader, responses=answers(200, Ambassador, 404))
    def get_ambassador(request: Request, ambassador_id: UUID) -> JSONResponse:
        doc = redacted(request, current(str(ambassador_id)))
        return JSONResponse(doc, headers=etag_header(doc))

    @command_route(
        router,
        "/{ambassador_id}/actions",
        scope=WRITE,
        body=ActionRequest,
        status_code=201,
        responses=answers(201, Action, 404, 409, 412),
    )
    def log_action(command: Command[ActionRequest], ambassador_id: UUID) -> JSONResponse:
        body, idempotency = command.body, command.idempotency
        if idempotency is None or idempotency.previous is None:
            check_if_match(command.request, app.ambassador(ambassador_id).version)
        action_id = uuid4()

        def action_record(ref: str) -> dict[str, Any]:
            ambassador = app.ambassador(ambassador_id)
            action = ambassador.action(UUID(ref))
            if action is None:
                raise domain.AmbassadorNotFoundError(f"no action {ref}")
            return represent_action(ambassador, action)

        return run_command(
            command,
            status=201,
            resource=str(action_id),
            execute=lambda context: app.log_action(
                ambassador_id,
                action_id=action_id,
                kind=body.kind,
                performed_on=body.performed_on,
                activity_id=body.activity_id,
                people_reached=body.people_reached,
                context=context,
            ),
            render=action_record,
        )

    @command_route(
        router,
        "/{ambassador_id}/retirement",
        scope=WRITE,
        body=RetirementRequest,
        responses=answers(200, Ambassador, 404, 409, 412),
    )
    def retire_ambassador(command: Command[RetirementRequest], ambassador_id: UUID) -> JSONResponse:
        idempotency = command.idempotency
        if idempotency is None or idempotency.previous is None:
            check_if_match(command.request, app.ambassador(ambassador_id).version)
        return run_command(
            command,
            status=200,
            resource=str(ambassador_id),
            execute=lambda context: app.retire(
                ambassador_id, retired_on=command.body.retired_on, context=context
            ),
            render=lambda ref: redacted(command.request, current(ref)),
            headers=etag_header,
            shown=lambda ambassador: redacted(
                command.request, represent(ambassador, app.personal.find(ambassador_id))
            ),
        )

    @router.get(
        "/{ambassador_id}/personal-data",
        dependencies=privacy,
        responses=answers(200, PersonalData, 404),
    )
    def export_personal_data(ambassador_id: UUID) -> JSONResponse:
        ambassador = app.ambassador(ambassador_id)
        details = app.personal.find(ambassador_id)
        doc = represent(ambassador, details)
        cooperative_id = str(ambassador.cooperative_id)
        export = {
            "ambassador_id": doc["id"],
            "name": doc["name"],
            "email": doc["email"],
            "cooperative": {"id": cooperative_id, "name": cooperative_name(app, cooperative_id)},
            "enrolled_on": doc["enrolled_on"],
            "status": doc["status"],
            "ended_on": doc["ended_on"],
            "erased": doc["erased"],
            "actions": [represent_action(ambassador, action) for action in ambassador.actions],
            "exported_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        return JSONResponse(export, headers={"Cache-Control": "no-store"})

    @router.delete(
        "/{ambassador_id}/personal-data",
        status_code=204,
        dependencies=privacy,
        response_class=Response,
        responses=problem_responses(404),
    )
    def erase_personal_data(ambassador_id: UUID) -> Response:
        app.erase_personal_details(ambassador_id)
        return Response(status_code=204)

    return router


def install_errors(api: FastAPI) -> None:
    """Map the ambassadors vocabulary of refusals to problem details, in one place."""

    @api.exception_handler(domain.AmbassadorsError)
    async def on_ambassadors_error(
        request: Request, error: domain.AmbassadorsError
    ) -> JSONResponse:
        status, slug, field = ERRORS.get(type(error), (422, None, ""))
        errors = [{"field": field, "message": str(error)}] if status == 422 else None
        return problem_response(request, Problem(status, str(error), slug=slug, errors=errors))
