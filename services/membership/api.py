"""HTTP routes of the membership service (contract §2): HTTP in, application calls, HTTP out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.membership import domain
from services.membership.application import Membership
from services.membership.contracts import to_integration
from services.membership.views import (
    CooperativeDirectory,
    SectorList,
    represent,
    represent_sector,
)
from shared.external_refs import KnownReference
from shared.fields import (
    NO_NUL,
    BusinessDate,
    ExternalRefText,
    Neq,
    NonEmptyText,
    OptionalText,
    PositiveInt,
    ReasonText,
    Region,
    RequestBody,
    Slug,
    is_region,
    is_slug,
    not_nullable_in_schema,
    refuse_null,
)
from shared.http import (
    Command,
    Page,
    Paging,
    Refusal,
    answers,
    body_schema,
    command_context,
    command_route,
    etag_header,
    expected_version,
    filter_value,
    history,
    install_domain_errors,
    known_answer,
    page,
    parse_body,
    require,
    run_command,
)
from shared.persistence import CommandContext

WRITE = "membership:write"

# status, problem type slug, and the request field a 422 is about
ERRORS: dict[type[domain.MembershipError], Refusal] = {
    domain.CooperativeNotFoundError: (404, None, ""),
    domain.AlreadyLeftError: (409, "already-left", ""),
    domain.AlreadyMemberError: (409, "already-member", ""),
    domain.NeqTakenError: (409, "neq-taken", ""),
    domain.DepartureDateError: (422, "departure-date", "left_on"),
    domain.ReadmissionDateError: (422, "readmission-date", "rejoined_on"),
    domain.PeriodsError: (422, "invalid-periods", "periods"),
    domain.CooperativeVoidedError: (409, "voided", ""),
    domain.AlreadyVoidedError: (409, "already-voided", ""),
    domain.NotVoidedError: (409, "not-voided", ""),
    domain.UnknownSectorError: (422, "unknown-sector", "sector"),
}

REASON_DESCRIPTION = (
    "Why the record is corrected, in a few words (at most 500 characters). It enters the "
    "cooperative's history and the integration events: never put personal information in it."
)
Reason = Annotated[ReasonText, Field(description=REASON_DESCRIPTION)]
ExternalRef = Annotated[
    ExternalRefText,
    Field(description="The record's key in another system: unique among cooperatives."),
]


class JoinRequest(RequestBody):
    """Body of `POST /v1/cooperatives`."""

    name: NonEmptyText
    region: Region
    sector: Slug
    worker_members: PositiveInt | None = None
    joined_on: BusinessDate
    neq: Neq | None = None
    external_ref: ExternalRef | None = None


_NOT_NULL = ("name", "region", "sector")  # only `neq` and `worker_members` may be cleared


class ProfileChange(RequestBody):
    """Body of `PATCH /v1/cooperatives/{id}`: any of the profile fields."""

    model_config = ConfigDict(json_schema_extra=not_nullable_in_schema(*_NOT_NULL))

    name: NonEmptyText | None = None
    region: Region | None = None
    sector: Slug | None = None
    worker_members: PositiveInt | None = None
    neq: Neq | None = None

    _not_null = refuse_null(*_NOT_NULL)


class DepartureRequest(RequestBody):
    """Body of `POST /v1/cooperatives/{id}/departure`."""

    left_on: BusinessDate
    reason: OptionalText | None = None


class ReadmissionRequest(RequestBody):
    """Body of `POST /v1/cooperatives/{id}/readmission`."""

    rejoined_on: BusinessDate


class PeriodItem(RequestBody):
    """A corrected membership period: `end` is the first day no longer a member (null: open)."""

    start: BusinessDate
    end: BusinessDate | None = None


class MembershipCorrection(RequestBody):
    """Body of `POST /v1/cooperatives/{id}/membership-correction`: the whole corrected list."""

    periods: Annotated[list[PeriodItem], Field(max_length=1000)]
    reason: Reason | None = None


class VoidRequest(RequestBody):
    """Body of `POST /v1/cooperatives/{id}/void`: why the record was a mistake."""

    reason: Annotated[NonEmptyText, Field(description=REASON_DESCRIPTION)]


class RestorationRequest(RequestBody):
    """Body of `POST /v1/cooperatives/{id}/restoration` (may be empty)."""

    reason: Reason | None = None


LabelText = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=200, pattern=NO_NUL)
]
SECTOR_SLUG = r"^[a-z0-9]+([-_][a-z0-9]+)*$"


class SectorLabel(RequestBody):
    """A sector's label, as people read it, in French and in English."""

    fr: LabelText
    en: LabelText


class SectorDefinition(RequestBody):
    """Body of `PUT /v1/sectors/{slug}`."""

    label: SectorLabel


class SectorItem(BaseModel):
    """A sector of the list (contract §2)."""

    model_config = ConfigDict(extra="forbid")

    slug: str
    label: dict[Literal["fr", "en"], str]


class MembershipPeriod(BaseModel):
    """A membership period [start, end): end is the first day no longer a member."""

    model_config = ConfigDict(extra="forbid")

    start: date
    end: date | None


class Cooperative(BaseModel):
    """A cooperative as answered (contract §2); documents the responses."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    name: str
    neq: str | None
    region: Region
    sector: str
    worker_members: int | None
    joined_on: date
    left_on: date | None
    periods: list[MembershipPeriod]
    status: Literal["active", "left", "voided"]
    external_ref: str | None
    version: int


class HistoryEntry(history.HistoryEntry):
    """One recorded event of a cooperative, as its integration event's data."""


def routes(app: Membership, directory: CooperativeDirectory, sector_list: SectorList) -> APIRouter:
    """The membership routes, bound to the service's application."""
    router = APIRouter()

    router.include_router(cooperative_routes(app, directory))
    router.include_router(sector_routes(app, sector_list))
    return router


def sector_routes(app: Membership, sector_list: SectorList) -> APIRouter:
    """The sector list: public to read, `membership:write` to add or rename a sector."""
    router = APIRouter(prefix="/v1/sectors", tags=["sectors"])

    @router.get("", response_model=None, responses=answers(200, Page[SectorItem]))
    def list_sectors(paging: Paging) -> dict[str, Any]:
        """The sector list (public), the built-in sectors first, then those defined later."""
        items, positions = sector_list.list(after=paging.after, limit=paging.limit)
        return page(items, positions, paging.limit)

    @router.put(
        "/{slug}",
        dependencies=[require(WRITE)],
        response_model=None,
        openapi_extra=body_schema(SectorDefinition),
        responses=answers(200, SectorItem),
    )
    async def define_sector(
        request: Request,
        slug: Annotated[str, Path(pattern=SECTOR_SLUG, max_length=100)],
    ) -> JSONResponse:
        """Add a sector to the list, or rename one (its slug never changes) → `SectorDefined`.

        A definition that changes nothing answers 200 and records nothing.
        """
        body = parse_body(await request.body(), SectorDefinition)

        def define() -> dict[str, Any]:
            sector, _ = app.define_sector(
                slug, body.label.model_dump(), context=command_context(request)
            )
            return represent_sector(sector)

        return JSONResponse(await run_in_threadpool(define))

    return router


def cooperative_routes(app: Membership, directory: CooperativeDirectory) -> APIRouter:
    """The cooperatives' routes."""
    router = APIRouter(prefix="/v1/cooperatives", tags=["cooperatives"])
    reader = [require("read")]

    def current(ref: str) -> dict[str, Any]:
        return represent(app.cooperative(UUID(ref)))

    @command_route(
        router,
        "",
        scope=WRITE,
        body=JoinRequest,
        status_code=201,
        responses=answers(201, Cooperative, 409),
    )
    def create_cooperative(command: Command[JoinRequest]) -> JSONResponse:
        """A cooperative joins the network → `CoopJoined` (201).

        With an `external_ref` a cooperative already holds, answers 200 with that cooperative
        as it is now and records nothing (checked before the 409 and the business 422).
        """
        new_id = uuid4()

        def located(doc: dict[str, Any]) -> dict[str, str]:
            return {**etag_header(doc), "Location": f"/v1/cooperatives/{doc['id']}"}

        try:
            return run_command(
                command,
                status=201,
                resource=str(new_id),
                execute=lambda context: app.join(
                    new_id, **command.body.model_dump(), context=context
                ),
                render=current,
                headers=located,
                shown=represent,
            )
        except KnownReference as known:
            return known_answer(command, str(known.holder), current, located)

    @router.get(
        "", dependencies=reader, response_model=None, responses=answers(200, Page[Cooperative])
    )
    def list_cooperatives(
        paging: Paging,
        status: Annotated[str | None, Query()] = None,
        region: Annotated[str | None, Query()] = None,
        sector: Annotated[str | None, Query()] = None,
        q: Annotated[str | None, Query(max_length=500)] = None,
        neq: Annotated[str | None, Query()] = None,
        external_ref: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        """Cooperatives in creation order; voided ones only with `status=voided`.

        `q` matches a substring of the name (normalized), `external_ref` finds a record
        whatever its status.
        """
        items, positions = directory.list(
            status=filter_value(status, "status", lambda v: v in ("active", "left", "voided")),
            region=filter_value(region, "region", is_region),
            sector=filter_value(sector, "sector", is_slug),
            q=q or None,
            neq=filter_value(neq, "neq", lambda v: len(v) == 10 and v.isascii() and v.isdigit()),
            external_ref=external_ref or None,
            after=paging.after,
            limit=paging.limit,
        )
        return page(items, positions, paging.limit)

    @router.get("/{cooperative_id}", dependencies=reader, responses=answers(200, Cooperative, 404))
    def get_cooperative(cooperative_id: UUID) -> JSONResponse:
        doc = represent(app.cooperative(cooperative_id))
        return JSONResponse(doc, headers=etag_header(doc))

    @command_route(
        router,
        "/{cooperative_id}",
        method="PATCH",
        scope=WRITE,
        body=ProfileChange,
        idempotent=False,
        responses=answers(200, Cooperative, 404, 409, 412),
    )
    def update_cooperative(command: Command[ProfileChange], cooperative_id: UUID) -> JSONResponse:
        expected = expected_version(command.request, app.cooperative(cooperative_id).version)
        return run_command(
            command,
            status=200,
            resource=str(cooperative_id),
            execute=lambda context: app.update_profile(
                cooperative_id,
                command.body.model_dump(include=command.body.model_fields_set),
                expected_version=expected,
                context=context,
            ),
            render=current,
            headers=etag_header,
            shown=represent,
        )

    @command_route(
        router,
        "/{cooperative_id}/departure",
        scope=WRITE,
        body=DepartureRequest,
        responses=answers(200, Cooperative, 404, 409),
    )
    def record_departure(command: Command[DepartureRequest], cooperative_id: UUID) -> JSONResponse:
        body = command.body
        return run_command(
            command,
            status=200,
            resource=str(cooperative_id),
            execute=lambda context: app.leave(
                cooperative_id, left_on=body.left_on, reason=body.reason, context=context
            ),
            render=current,
            headers=etag_header,
            shown=represent,
        )

    @command_route(
        router,
        "/{cooperative_id}/readmission",
        scope=WRITE,
        body=ReadmissionRequest,
        responses=answers(200, Cooperative, 404, 409),
    )
    def record_readmission(
        command: Command[ReadmissionRequest], cooperative_id: UUID
    ) -> JSONResponse:
        return run_command(
            command,
            status=200,
            resource=str(cooperative_id),
            execute=lambda context: app.rejoin(
                cooperative_id, rejoined_on=command.body.rejoined_on, context=context
            ),
            render=current,
            headers=etag_header,
            shown=represent,
        )

    @router.get(
        "/{cooperative_id}/history",
        dependencies=reader,
        response_model=None,
        responses=answers(200, Page[HistoryEntry], 404),
    )
    def get_cooperative_history(cooperative_id: UUID, paging: Paging) -> dict[str, Any]:
        return history.history_page(app.history(cooperative_id), to_integration, paging)

    @command_route(
        router,
        "/{cooperative_id}/membership-correction",
        scope=WRITE,
        body=MembershipCorrection,
        responses=answers(200, Cooperative, 404, 409, 412),
    )
    def correct_membership(
        command: Command[MembershipCorrection], cooperative_id: UUID
    ) -> JSONResponse:
        """Replace the cooperative's membership periods with the corrected list (§10).

        A correction that changes nothing answers 200 and records nothing.
        """
        periods = [domain.Period(p.start, p.end) for p in command.body.periods]
        return correct(
            command,
            cooperative_id,
            lambda expected, context: app.correct_membership(
                cooperative_id,
                periods=periods,
                reason=command.body.reason,
                expected_version=expected,
                context=context,
            ),
        )

    @command_route(
        router,
        "/{cooperative_id}/void",
        scope=WRITE,
        body=VoidRequest,
        responses=answers(200, Cooperative, 404, 409, 412),
    )
    def void_cooperative(command: Command[VoidRequest], cooperative_id: UUID) -> JSONResponse:
        """Void a cooperative recorded by mistake (a duplicate, never a member): status `voided`.

        A voided cooperative counts nowhere and takes no change but its restoration.
        """
        return correct(
            command,
            cooperative_id,
            lambda expected, context: (
                app.void(
                    cooperative_id,
                    reason=command.body.reason,
                    expected_version=expected,
                    context=context,
                ),
                True,
            ),
        )

    @command_route(
        router,
        "/{cooperative_id}/restoration",
        scope=WRITE,
        body=RestorationRequest,
        optional_body=True,
        responses=answers(200, Cooperative, 404, 409, 412),
    )
    def restore_cooperative(
        command: Command[RestorationRequest], cooperative_id: UUID
    ) -> JSONResponse:
        """Undo a void: the cooperative counts again on its periods."""
        return correct(
            command,
            cooperative_id,
            lambda expected, context: (
                app.restore(
                    cooperative_id,
                    reason=command.body.reason,
                    expected_version=expected,
                    context=context,
                ),
                True,
            ),
        )

    def correct(
        command: Command[Any],
        cooperative_id: UUID,
        change: Callable[[int | None, CommandContext], tuple[domain.Cooperative, bool]],
    ) -> JSONResponse:
        """Run a correction: 404, then 412 on a stale `If-Match`, then the change itself.

        A replayed idempotent request answers as before whatever its `If-Match` (the
        fingerprint leaves headers out); a change that records nothing is remembered too.
        """
        idempotency = command.idempotency
        expected = None
        if idempotency is None or idempotency.previous is None:
            expected = expected_version(command.request, app.cooperative(cooperative_id).version)

        def execute(context: CommandContext) -> domain.Cooperative:
            cooperative, changed = change(expected, context)
            if not changed and idempotency is not None:
                idempotency.remember(200, str(cooperative_id))
            return cooperative

        return run_command(
            command,
            status=200,
            resource=str(cooperative_id),
            execute=execute,
            render=current,
            headers=etag_header,
            shown=represent,
        )

    return router


def install_errors(api: FastAPI) -> None:
    """Map the membership vocabulary of refusals to problem details, in one place."""
    install_domain_errors(api, domain.MembershipError, ERRORS)
