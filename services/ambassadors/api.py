"""HTTP routes of the ambassadors service (contracts §4 and §6): HTTP in, application calls, out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.ambassadors import domain
from services.ambassadors.application import (
    AMBASSADOR_REF,
    Ambassadors,
    PersonalDetails,
)
from services.ambassadors.contracts import to_integration
from services.ambassadors.views import (
    STATUSES,
    AmbassadorList,
    cooperative_name,
    represent,
    represent_action,
)
from shared.external_refs import KnownReference, holder_of
from shared.fields import (
    BusinessDate,
    ExternalRefText,
    NonEmptyText,
    NonNegativeInt,
    ReasonText,
    RequestBody,
    not_nullable_in_schema,
    refuse_null,
)
from shared.http import (
    BEARER_SCHEME,
    Command,
    HistoryEntry,
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
    history_page,
    install_domain_errors,
    known_answer,
    page,
    problem_responses,
    require,
    retried,
    run_command,
    unless_replayed,
    withdrawal_reason,
)
from shared.persistence import CommandContext

Email = Annotated[
    str,
    StringConstraints(
        strict=True, max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"
    ),
]
ActionKind = Literal["cine_discussion", "presentation", "kiosque", "mentorat", "autre"]

WRITE = "ambassadors:write"
REASON_DESCRIPTION = (
    "Why the record is corrected, in a few words (at most 500 characters). It enters the "
    "ambassador's history and the integration events: never put personal information in it."
)
Reason = Annotated[ReasonText, Field(description=REASON_DESCRIPTION)]
ExternalRef = Annotated[
    ExternalRefText,
    Field(
        description="The record's key in another system: unique among ambassadors' (or "
        "actions') references."
    ),
]

ERRORS: dict[type[domain.AmbassadorsError], Refusal] = {
    domain.AmbassadorNotFoundError: (404, None, ""),
    domain.ActionNotFoundError: (404, None, ""),
    domain.AlreadyWithdrawnError: (404, "already-withdrawn", ""),
    domain.AmbassadorEndedError: (409, "ambassador-ended", ""),
    domain.NotActiveError: (409, "not-active", ""),
    domain.AlreadyActiveError: (409, "already-active", ""),
    domain.PersonalDataErasedError: (409, "personal-data-erased", ""),
    domain.ExternalRefTakenError: (409, "external-ref-taken", ""),
    domain.EnrollmentDateError: (422, "enrollment-date", "enrolled_on"),
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
    external_ref: ExternalRef | None = None


class AmbassadorUpdate(RequestBody):
    """Body of `PATCH /v1/ambassadors/{id}`: any of name, email (no event) and enrolled_on.

    `email` may be set to null; `name` and `enrolled_on` may not.
    """

    model_config = ConfigDict(json_schema_extra=not_nullable_in_schema("name", "enrolled_on"))

    name: NonEmptyText | None = None
    email: Email | None = None
    enrolled_on: BusinessDate | None = None
    reason: Reason | None = None

    _not_null = refuse_null("name", "enrolled_on")


class ActionRequest(RequestBody):
    """Body of `POST /v1/ambassadors/{id}/actions`."""

    kind: ActionKind
    performed_on: BusinessDate
    activity_id: UUID | None = None
    people_reached: NonNegativeInt | None = None
    external_ref: ExternalRef | None = None


class ActionCorrection(RequestBody):
    """Body of `PATCH /v1/ambassadors/{id}/actions/{action_id}`: any of the action's fields.

    `activity_id` and `people_reached` may be set to null; `kind` and `performed_on` may not.
    """

    model_config = ConfigDict(json_schema_extra=not_nullable_in_schema("kind", "performed_on"))

    kind: ActionKind | None = None
    performed_on: BusinessDate | None = None
    activity_id: UUID | None = None
    people_reached: NonNegativeInt | None = None
    reason: Reason | None = None

    _not_null = refuse_null("kind", "performed_on")


class ReactivationRequest(RequestBody):
    """Body of `POST /v1/ambassadors/{id}/reactivation` (optional)."""

    reason: Reason | None = None


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
    external_ref: str | None


class Action(BaseModel):
    """An ambassador's action record."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    ambassador_id: UUID
    kind: ActionKind
    performed_on: date
    activity_id: UUID | None
    people_reached: int | None
    external_ref: str | None


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


READ_CHECK = require("read").dependency
PRIVACY_CHECK = require("privacy:admin").dependency


async def list_access(request: Request) -> None:
    """`read` lists ambassadors; finding them by email needs `privacy:admin` (§6), which is
    then enough on its own. A route dependency, so the 401/403 comes before any 422 of the
    other parameters (§1's order of checks)."""
    if request.query_params.get("email"):
        await PRIVACY_CHECK(request)
    else:
        await READ_CHECK(request)


def routes(app: Ambassadors, listing: AmbassadorList) -> APIRouter:
    """The ambassadors routes, bound to the service's application."""
    router = APIRouter(prefix="/v1/ambassadors", tags=["ambassadors"])
    reader = [require("read")]
    privacy = [require("privacy:admin")]

    def current(ref: str) -> dict[str, Any]:
        ambassador_id = UUID(ref)
        return represent(app.ambassador(ambassador_id), app.personal.find(ambassador_id))

    def action_record(ref: str) -> dict[str, Any]:
        ambassador_id, action_id = (UUID(part) for part in ref.split("/"))
        return represent_action(app.ambassador(ambassador_id), app.action(ambassador_id, action_id))

    def located(doc: dict[str, Any]) -> dict[str, str]:
        return {**etag_header(doc), "Location": f"/v1/ambassadors/{doc['id']}"}

    def changed(
        command: Command[Any],
        ambassador_id: UUID,
        execute: Callable[[int | None, CommandContext], domain.Ambassador],
    ) -> JSONResponse:
        """A command on the ambassador itself: `If-Match` (unless a replay), run once per
        key, 200 with the ambassador as this token may see it and its `ETag`."""
        expected = unless_replayed(command, lambda: app.ambassador(ambassador_id).version)
        return run_command(
            command,
            status=200,
            resource=str(ambassador_id),
            execute=lambda context: execute(expected, context),
            render=lambda ref: redacted(command.request, current(ref)),
            headers=etag_header,
            shown=lambda ambassador: redacted(
                command.request, represent(ambassador, app.personal.find(ambassador_id))
            ),
        )

    @command_route(
        router,
        "",
        scope=WRITE,
        body=EnrollmentRequest,
        status_code=201,
        responses={
            **answers(201, Ambassador, 409),
            200: {"model": Ambassador, "description": "The ambassador holding this external_ref"},
        },
    )
    def enroll_ambassador(command: Command[EnrollmentRequest]) -> JSONResponse:
        """Enroll a member cooperative's worker → `AmbassadorEnrolled` (201).

        With an `external_ref` an ambassador already holds, answers 200 with that ambassador
        as it is now and records nothing.
        """
        body, new_id = command.body, uuid4()
        details = PersonalDetails(body.name, body.email)

        def shown(ref: str) -> dict[str, Any]:
            return redacted(command.request, current(ref))

        try:
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
                    external_ref=body.external_ref,
                    context=context,
                ),
                render=shown,
                headers=located,
                shown=lambda ambassador: redacted(command.request, represent(ambassador, details)),
            )
        except KnownReference as known:
            return known_answer(command, known.holder, shown, located)

    @router.get(
        "",
        dependencies=[Depends(list_access)],
        response_model=None,
        responses=answers(200, Page[Ambassador]),
        openapi_extra={"security": [{BEARER_SCHEME: ["read"]}, {BEARER_SCHEME: ["privacy:admin"]}]},
    )
    def list_ambassadors(
        request: Request,
        paging: Paging,
        status: Annotated[str | None, Query()] = None,
        cooperative_id: Annotated[str | None, Query()] = None,
        email: Annotated[str | None, Query()] = None,
        external_ref: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        """Ambassadors in creation order; `external_ref` finds one whatever its status, and
        `email` (privacy:admin only) finds a person's records, case aside."""
        cooperative = filter_value(cooperative_id, "cooperative_id", _is_uuid)
        holder = None
        if external_ref:
            holder = holder_of(app.database, AMBASSADOR_REF, external_ref) or ""
        items, positions = listing.list(
            status=filter_value(status, "status", lambda v: v in STATUSES),
            cooperative_id=str(UUID(cooperative)) if cooperative else None,
            after=paging.after,
            limit=paging.limit,
            email=email or None,
            holder=holder,
        )
        return page([redacted(request, item) for item in items], positions, paging.limit)

    @router.get("/{ambassador_id}", dependencies=reader, responses=answers(200, Ambassador, 404))
    def get_ambassador(request: Request, ambassador_id: UUID) -> JSONResponse:
        doc = redacted(request, current(str(ambassador_id)))
        return JSONResponse(doc, headers=etag_header(doc))

    @command_route(
        router,
        "/{ambassador_id}",
        method="PATCH",
        scope=WRITE,
        body=AmbassadorUpdate,
        idempotent=False,
        responses=answers(200, Ambassador, 404, 409, 412),
    )
    @retried
    def update_ambassador(command: Command[AmbassadorUpdate], ambassador_id: UUID) -> JSONResponse:
        """Change `name` and `email` (personal information: no event, `version` unchanged; 409
        once erased) and correct `enrolled_on` → `AmbassadorEnrollmentCorrected`.

        422 when `enrolled_on` falls after one of the ambassador's actions or on or after its
        end, and `/cooperative-not-member` when its cooperative is not a member that day.
        """
        body = command.body
        expected = expected_version(command.request, app.ambassador(ambassador_id).version)
        app.update(
            ambassador_id,
            body.model_dump(include=body.model_fields_set & {"name", "email", "enrolled_on"}),
            reason=body.reason,
            expected_version=expected,
            context=command_context(command.request),
        )
        doc = redacted(command.request, current(str(ambassador_id)))
        return JSONResponse(doc, headers=etag_header(doc))

    @router.get(
        "/{ambassador_id}/actions",
        dependencies=reader,
        response_model=None,
        responses=answers(200, Page[Action], 404),
    )
    def list_actions(
        ambassador_id: UUID,
        paging: Paging,
        external_ref: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        """The ambassador's actions, oldest first, as corrected (withdrawn ones left out);
        `external_ref` finds one, withdrawn or not."""
        ambassador = app.ambassador(ambassador_id)
        actions = list(ambassador.actions)
        if external_ref:
            withdrawn = ambassador.withdrawn_actions.values()
            actions = sorted(
                (a for a in [*actions, *withdrawn] if a.external_ref == external_ref),
                key=lambda a: a.number,
            )
        chosen = [a for a in actions if a.number > paging.after][: paging.limit + 1]
        return page(
            [represent_action(ambassador, action) for action in chosen],
            [action.number for action in chosen],
            paging.limit,
        )

    @command_route(
        router,
        "/{ambassador_id}/actions",
        scope=WRITE,
        body=ActionRequest,
        status_code=201,
        responses={
            **answers(201, Action, 404, 409, 412),
            200: {"model": Action, "description": "The action holding this external_ref"},
        },
    )
    def log_action(command: Command[ActionRequest], ambassador_id: UUID) -> JSONResponse:
        """Log an action → `AmbassadorActionLogged` (201).

        With an `external_ref` an action of this ambassador already holds, answers 200 with
        it and records nothing; a reference held under another ambassador → 409
        `/external-ref-taken`.
        """
        body, action_id = command.body, uuid4()
        try:
            # The contract's order: 404, then the reference, then 412, then §4's rules.
            expected = unless_replayed(command, lambda: _checked_reference(ambassador_id, body))
            return run_command(
                command,
                status=201,
                resource=f"{ambassador_id}/{action_id}",
                execute=lambda context: app.log_action(
                    ambassador_id,
                    action_id=action_id,
                    kind=body.kind,
                    performed_on=body.performed_on,
                    activity_id=body.activity_id,
                    people_reached=body.people_reached,
                    external_ref=body.external_ref,
                    expected_version=expected,
                    context=context,
                ),
                render=action_record,
                headers=lambda _doc: etag_header(current(str(ambassador_id))),
            )
        except KnownReference as known:
            return known_answer(command, known.holder, action_record, lambda _doc: {})

    def _checked_reference(ambassador_id: UUID, body: ActionRequest) -> int:
        ambassador = app.ambassador(ambassador_id)
        app.check_action_reference(ambassador_id, body.external_ref)
        return ambassador.version

    @command_route(
        router,
        "/{ambassador_id}/actions/{action_id}",
        method="PATCH",
        scope=WRITE,
        body=ActionCorrection,
        idempotent=False,
        responses=answers(200, Action, 404, 409, 412),
    )
    @retried
    def correct_action(
        command: Command[ActionCorrection], ambassador_id: UUID, action_id: UUID
    ) -> JSONResponse:
        """Correct any of kind, performed_on, activity_id, people_reached →
        `AmbassadorActionCorrected` (200 + the action); §4's rules hold on the result.

        `If-Match` is compared with the ambassador's version; the answer carries its new
        `ETag`. A correction that changes nothing records nothing.
        """
        request, body = command.request, command.body
        ambassador = app.ambassador(ambassador_id)
        ambassador.logged_action(action_id)
        expected = expected_version(request, ambassador.version)
        ambassador, action = app.correct_action(
            ambassador_id,
            action_id,
            body.model_dump(include=body.model_fields_set - {"reason"}),
            reason=body.reason,
            expected_version=expected,
            context=command_context(request),
        )
        return JSONResponse(
            represent_action(ambassador, action),
            headers=etag_header({"version": ambassador.version}),
        )

    @command_route(
        router,
        "/{ambassador_id}/actions/{action_id}",
        method="DELETE",
        scope=WRITE,
        body=Withdrawal,
        optional_body=True,
        idempotent=False,
        status_code=204,
        responses={**problem_responses(404, 412), 204: {"description": "Withdrawn"}},
    )
    @retried
    def withdraw_action(
        command: Command[Withdrawal], ambassador_id: UUID, action_id: UUID
    ) -> Response:
        """Withdraw an action → `AmbassadorActionWithdrawn` (204); it counts nowhere.

        Repeated → 404 with `type` ending `/already-withdrawn`.
        """
        request = command.request
        reason = withdrawal_reason(request)
        ambassador = app.ambassador(ambassador_id)
        ambassador.logged_action(action_id)
        expected = expected_version(request, ambassador.version)
        ambassador = app.withdraw_action(
            ambassador_id,
            action_id,
            reason=reason,
            expected_version=expected,
            context=command_context(request),
        )
        return Response(status_code=204, headers=etag_header({"version": ambassador.version}))

    @command_route(
        router,
        "/{ambassador_id}/retirement",
        scope=WRITE,
        body=RetirementRequest,
        responses=answers(200, Ambassador, 404, 409, 412),
    )
    def retire_ambassador(command: Command[RetirementRequest], ambassador_id: UUID) -> JSONResponse:
        """An active ambassador steps down → `AmbassadorRetired`; 409 unless active."""
        return changed(
            command,
            ambassador_id,
            lambda expected, context: app.retire(
                ambassador_id,
                retired_on=command.body.retired_on,
                expected_version=expected,
                context=context,
            ),
        )

    @command_route(
        router,
        "/{ambassador_id}/reactivation",
        scope=WRITE,
        body=ReactivationRequest,
        optional_body=True,
        responses=answers(200, Ambassador, 404, 409, 412),
    )
    def reactivate_ambassador(
        command: Command[ReactivationRequest], ambassador_id: UUID
    ) -> JSONResponse:
        """Undo a retirement or deactivation → `AmbassadorReactivated`: `status` active and
        `ended_on` null, as if it had never ended. 409 if active; 422
        `/cooperative-not-member` unless its cooperative is a member today."""
        return changed(
            command,
            ambassador_id,
            lambda expected, context: app.reactivate(
                ambassador_id,
                reason=command.body.reason,
                expected_version=expected,
                context=context,
            ),
        )

    @router.get(
        "/{ambassador_id}/history",
        dependencies=reader,
        response_model=None,
        responses=answers(200, Page[HistoryEntry], 404),
    )
    def get_ambassador_history(ambassador_id: UUID, paging: Paging) -> dict[str, Any]:
        """Every recorded event of the ambassador, oldest first, with its integration data
        (changes of name and email are not events and do not appear)."""
        return history_page(app.history(ambassador_id), to_integration, paging)

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
    install_domain_errors(api, domain.AmbassadorsError, ERRORS)
