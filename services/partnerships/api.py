"""HTTP routes of the partnerships service (contract §12): HTTP in, application calls, HTTP out."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError as EventStoreConflict
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field

from services.partnerships import domain
from services.partnerships.application import KnownReference, Partnerships, Recorded
from services.partnerships.contracts import to_integration
from services.partnerships.domain import Partner, ResearchProject, SectorTable
from services.partnerships.views import (
    Directory,
    represent_action,
    represent_member,
    represent_partner,
    represent_placement,
    represent_project,
    represent_table,
)
from shared.fields import BusinessDate, NonEmptyText, OptionalText, Region, RequestBody, is_region
from shared.http import (
    Command,
    HistoryEntry,
    Page,
    Paging,
    Refusal,
    answers,
    command_context,
    command_route,
    etag_header,
    expected_version,
    filter_value,
    history_page,
    install_domain_errors,
    known_answer,
    numbered_page,
    page,
    problem_response,
    replayed,
    require,
    run_command,
    unless_replayed,
)
from shared.names import normalized_name
from shared.problems import Problem, invalid
from shared.vocabulary import PartnerKind, TableActionKind

WRITE = "partnerships:write"
SLUG = r"^[a-z0-9]+([-_][a-z0-9]+)*$"
ExternalRef = Annotated[str, Field(min_length=1, max_length=200)]
Names = Annotated[list[NonEmptyText], Field(max_length=100)]
PartnerIds = Annotated[list[UUID], Field(min_length=1, max_length=100)]
Reason = Annotated[
    OptionalText,
    Field(max_length=500, description="Why; free text kept in the history: no personal data."),
]

ERRORS: dict[type[domain.PartnershipsError], Refusal] = {
    domain.PartnerNotFoundError: (404, None, ""),
    domain.ProjectNotFoundError: (404, None, ""),
    domain.TableNotFoundError: (404, None, ""),
    domain.TableMemberNotFoundError: (404, None, ""),
    domain.TableActionNotFoundError: (404, None, ""),
    domain.PlacementNotFoundError: (404, None, ""),
    domain.AlreadyWithdrawnError: (404, "already-withdrawn", ""),
    domain.PartnerNameTakenError: (409, "partner-name-taken", ""),
    domain.PartnerStatusError: (409, "partner-status", ""),
    domain.ProjectCompletedError: (409, "already-completed", ""),
    domain.TableDissolvedError: (409, "table-dissolved", ""),
    domain.PlacementOpenError: (409, "placement-open", ""),
    domain.PlacementEndedError: (409, "placement-ended", ""),
    domain.ExternalRefTakenError: (409, "external-ref-taken", "external_ref"),
    domain.UnknownPartnerError: (422, "unknown-partner", "partner_ids"),
    domain.NotARetailerError: (422, "not-a-retailer", "retailer_id"),
    domain.UnknownSectorError: (422, "unknown-sector", "sector"),
    domain.CooperativeNotMemberError: (422, "cooperative-not-member", "cooperative_id"),
    domain.ProjectDateError: (422, "project-date", "ended_on"),
    domain.TableDateError: (422, "table-date", "ended_on"),
}


def _website(value: str) -> str:
    """An `http(s)` URL, kept as written."""
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    AnyHttpUrl(value)
    return value


Website = Annotated[str, Field(max_length=500), AfterValidator(_website)]


class PartnerRequest(RequestBody):
    """Body of `POST /v1/partners`."""

    name: NonEmptyText
    kind: PartnerKind
    region: Region | None = None
    aliases: Names = Field(default_factory=list)
    website: Website | None = None
    external_ref: ExternalRef | None = None


class PartnerChange(RequestBody):
    """Body of `PATCH /v1/partners/{id}`: any of the partner's fields."""

    name: NonEmptyText | None = None
    kind: PartnerKind | None = None
    region: Region | None = None
    aliases: Names | None = None
    website: Website | None = None


class ResearchProjectRequest(RequestBody):
    """Body of `POST /v1/research-projects`."""

    title: NonEmptyText
    theme: NonEmptyText | None = None
    partner_ids: PartnerIds
    started_on: BusinessDate
    external_ref: ExternalRef | None = None


class ResearchProjectChange(RequestBody):
    """Body of `PATCH /v1/research-projects/{id}`."""

    title: NonEmptyText | None = None
    theme: NonEmptyText | None = None
    partner_ids: PartnerIds | None = None
    started_on: BusinessDate | None = None


class CompletionRequest(RequestBody):
    """Body of `POST /v1/research-projects/{id}/completion`."""

    ended_on: BusinessDate


class SectorTableRequest(RequestBody):
    """Body of `POST /v1/sector-tables`."""

    name: NonEmptyText
    sector: Annotated[str, Field(pattern=SLUG, max_length=100)]
    formed_on: BusinessDate
    external_ref: ExternalRef | None = None


class SectorTableChange(RequestBody):
    """Body of `PATCH /v1/sector-tables/{id}`."""

    name: NonEmptyText


class MemberRequest(RequestBody):
    """Body of `POST /v1/sector-tables/{id}/members`."""

    cooperative_id: UUID
    joined_on: BusinessDate


class TableActionRequest(RequestBody):
    """Body of `POST /v1/sector-tables/{id}/actions`."""

    kind: TableActionKind
    title: NonEmptyText
    performed_on: BusinessDate
    partner_ids: Annotated[list[UUID], Field(max_length=100)] = Field(default_factory=list)
    external_ref: ExternalRef | None = None


class PlacementRequest(RequestBody):
    """Body of `POST /v1/sector-tables/{id}/retail-placements`."""

    retailer_id: UUID
    started_on: BusinessDate
    note: OptionalText | None = None
    external_ref: ExternalRef | None = None


class PlacementEnd(RequestBody):
    """Body of `POST …/retail-placements/{placement_id}/end`."""

    ended_on: BusinessDate


class DissolutionRequest(RequestBody):
    """Body of `POST /v1/sector-tables/{id}/dissolution`."""

    dissolved_on: BusinessDate


class Empty(RequestBody):
    """An empty body."""


class PartnerDocument(BaseModel):
    """A partner as answered."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    name: str
    kind: PartnerKind
    region: str | None
    aliases: list[str]
    website: str | None
    status: str
    external_ref: str | None
    version: int


class ResearchProjectDocument(BaseModel):
    """A research project as answered."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    title: str
    theme: str | None
    partner_ids: list[UUID]
    started_on: date
    ended_on: date | None
    status: str
    external_ref: str | None
    version: int


class TableMemberDocument(BaseModel):
    """A table member as answered."""

    cooperative_id: UUID
    joined_on: date
    left_on: date | None


class SectorTableDocument(BaseModel):
    """A sector table as answered."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    name: str
    sector: str
    formed_on: date
    status: str
    dissolved_on: date | None
    members: list[TableMemberDocument]
    external_ref: str | None
    version: int


class TableActionDocument(BaseModel):
    """A table action as answered."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    kind: TableActionKind
    title: str
    performed_on: date
    partner_ids: list[UUID]
    external_ref: str | None


class PlacementDocument(BaseModel):
    """A retail placement as answered."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    retailer_id: UUID
    started_on: date
    ended_on: date | None
    note: str | None
    external_ref: str | None


def _create_or_known(
    command: Command[Any],
    *,
    new_ref: str,
    execute: Callable[[Any], tuple[str, bool]],
    render: Callable[[str], dict[str, Any]],
    headers: Callable[[dict[str, Any]], dict[str, str]] | None = None,
) -> JSONResponse:
    """201 with a new record; 200 with the record an `external_ref` (or a member) names."""
    request, idempotency = command.request, command.idempotency
    extra = headers or (lambda _doc: {})
    if idempotency is not None and idempotency.previous is not None:
        doc = render(idempotency.previous.resource)
        return replayed(idempotency.previous.status, doc, extra(doc))
    for _attempt in range(5):
        record = idempotency.record(201, new_ref) if idempotency else None
        try:
            ref, created = execute(command_context(request, record))
        except KnownReference as known:
            return known_answer(command, str(known.holder), render, extra)
        except EventStoreConflict:
            stored = idempotency.stored() if idempotency else None
            if stored is not None:
                doc = render(stored.resource)
                return replayed(stored.status, doc, extra(doc))
            continue
        if not created:
            return known_answer(command, ref, render, extra)
        doc = render(ref)
        return JSONResponse(doc, status_code=201, headers=extra(doc))
    raise Problem(409, "the resource kept changing concurrently; retry the request")


def routes(app: Partnerships, directory: Directory) -> APIRouter:
    """The partnerships routes, bound to the service's application."""
    router = APIRouter()
    router.include_router(partner_routes(app, directory))
    router.include_router(project_routes(app, directory))
    router.include_router(table_routes(app, directory))
    return router


def partner_routes(app: Partnerships, directory: Directory) -> APIRouter:
    """The partner directory's routes."""
    router = APIRouter(prefix="/v1/partners", tags=["partners"])
    reader = [require("read")]

    def current(ref: str) -> dict[str, Any]:
        return represent_partner(app.partner(UUID(ref)))

    def located(doc: dict[str, Any]) -> dict[str, str]:
        return {**etag_header(doc), "Location": f"/v1/partners/{doc['id']}"}

    @command_route(
        router, "", scope=WRITE, body=PartnerRequest, status_code=201,
        responses=answers(201, PartnerDocument, 409),
    )  # fmt: skip
    def create_partner(command: Command[PartnerRequest]) -> JSONResponse:
        """A partner enters the directory → `PartnerRegistered` (201)."""
        new_id, body = uuid4(), command.body
        _check_comparable(body.name)

        def execute(context: Any) -> tuple[str, bool]:
            app.register_partner(new_id, **body.model_dump(), context=context)
            return str(new_id), True

        return _create_or_known(
            command, new_ref=str(new_id), execute=execute, render=current, headers=located
        )

    @router.get(
        "", dependencies=reader, response_model=None, responses=answers(200, Page[PartnerDocument])
    )
    def list_partners(
        paging: Paging,
        kind: Annotated[str | None, Query()] = None,
        region: Annotated[str | None, Query()] = None,
        status: Annotated[str | None, Query()] = None,
        q: Annotated[str | None, Query(max_length=500)] = None,
        external_ref: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        """Partners in creation order; `q` matches a normalized substring of a name or alias."""
        items, positions = directory.list_partners(
            kind=filter_value(kind, "kind", lambda v: v in PartnerKind.__members__.values()),
            region=filter_value(region, "region", is_region),
            status=filter_value(status, "status", lambda v: v in ("active", "inactive")),
            q=q or None,
            external_ref=external_ref or None,
            after=paging.after,
            limit=paging.limit,
        )
        return page(items, positions, paging.limit)

    @router.get("/{partner_id}", dependencies=reader, responses=answers(200, PartnerDocument, 404))
    def get_partner(partner_id: UUID) -> JSONResponse:
        doc = represent_partner(app.partner(partner_id))
        return JSONResponse(doc, headers=etag_header(doc))

    @command_route(
        router, "/{partner_id}", method="PATCH", scope=WRITE, body=PartnerChange,
        idempotent=False, responses=answers(200, PartnerDocument, 404, 409, 412),
    )  # fmt: skip
    def update_partner(command: Command[PartnerChange], partner_id: UUID) -> JSONResponse:
        """Change some of a partner's fields → `PartnerUpdated` (nothing when nothing changes)."""
        body = command.body
        for field in ("name", "kind", "aliases"):
            if field in body.model_fields_set and getattr(body, field) is None:
                raise invalid(field, f"{field} cannot be null")
        if body.name is not None:
            _check_comparable(body.name)
        expected = unless_replayed(command, lambda: app.partner(partner_id).version)
        return run_command(
            command, status=200, resource=str(partner_id),
            execute=lambda context: app.update_partner(
                partner_id, body.model_dump(include=body.model_fields_set),
                expected_version=expected, context=context,
            ),
            render=current, headers=etag_header, shown=represent_partner,
        )  # fmt: skip

    for verb, path in (("deactivate", "deactivation"), ("reactivate", "reactivation")):
        use_case = getattr(app, f"{verb}_partner")

        def change_status(
            command: Command[Empty], partner_id: UUID, use_case: Any = use_case
        ) -> JSONResponse:
            return run_command(
                command, status=200, resource=str(partner_id),
                execute=lambda context: use_case(partner_id, context=context),
                render=current, headers=etag_header, shown=represent_partner,
            )  # fmt: skip

        change_status.__name__ = f"{verb}_partner"
        change_status.__doc__ = f"The partner's {path} → `Partner{verb.capitalize()}d`."
        command_route(
            router, f"/{{partner_id}}/{path}", scope=WRITE, body=Empty, optional_body=True,
            responses=answers(200, PartnerDocument, 404, 409),
        )(change_status)  # fmt: skip

    @router.get(
        "/{partner_id}/history", dependencies=reader, response_model=None,
        responses=answers(200, Page[HistoryEntry], 404),
    )  # fmt: skip
    def get_partner_history(partner_id: UUID, paging: Paging) -> dict[str, Any]:
        """Every recorded event of the partner, oldest first."""
        return history_page(app.history(partner_id, Partner), to_integration, paging)

    return router


def project_routes(app: Partnerships, directory: Directory) -> APIRouter:
    """The research projects' routes."""
    router = APIRouter(prefix="/v1/research-projects", tags=["research projects"])
    reader = [require("read")]

    def current(ref: str) -> dict[str, Any]:
        return represent_project(app.project(UUID(ref)))

    def located(doc: dict[str, Any]) -> dict[str, str]:
        return {**etag_header(doc), "Location": f"/v1/research-projects/{doc['id']}"}

    @command_route(
        router, "", scope=WRITE, body=ResearchProjectRequest, status_code=201,
        responses=answers(201, ResearchProjectDocument),
    )  # fmt: skip
    def start_research_project(command: Command[ResearchProjectRequest]) -> JSONResponse:
        """A research project starts → `ResearchProjectStarted` (201)."""
        new_id, body = uuid4(), command.body

        def execute(context: Any) -> tuple[str, bool]:
            app.start_project(new_id, **body.model_dump(), context=context)
            return str(new_id), True

        return _create_or_known(
            command, new_ref=str(new_id), execute=execute, render=current, headers=located
        )

    @router.get(
        "", dependencies=reader, response_model=None,
        responses=answers(200, Page[ResearchProjectDocument]),
    )  # fmt: skip
    def list_research_projects(
        paging: Paging,
        status: Annotated[str | None, Query()] = None,
        partner_id: Annotated[str | None, Query()] = None,
        external_ref: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        """Research projects in creation order."""
        items, positions = directory.list_projects(
            status=filter_value(status, "status", lambda v: v in ("ongoing", "completed")),
            partner_id=filter_value(partner_id, "partner_id", _is_uuid),
            external_ref=external_ref or None,
            after=paging.after,
            limit=paging.limit,
        )
        return page(items, positions, paging.limit)

    @router.get(
        "/{project_id}", dependencies=reader, responses=answers(200, ResearchProjectDocument, 404)
    )
    def get_research_project(project_id: UUID) -> JSONResponse:
        doc = represent_project(app.project(project_id))
        return JSONResponse(doc, headers=etag_header(doc))

    @command_route(
        router, "/{project_id}", method="PATCH", scope=WRITE, body=ResearchProjectChange,
        idempotent=False, responses=answers(200, ResearchProjectDocument, 404, 412),
    )  # fmt: skip
    def update_research_project(
        command: Command[ResearchProjectChange], project_id: UUID
    ) -> JSONResponse:
        """Change some of a project's fields → `ResearchProjectUpdated`."""
        body = command.body
        for field in ("title", "partner_ids", "started_on"):
            if field in body.model_fields_set and getattr(body, field) is None:
                raise invalid(field, f"{field} cannot be null")
        expected = unless_replayed(command, lambda: app.project(project_id).version)
        return run_command(
            command, status=200, resource=str(project_id),
            execute=lambda context: app.update_project(
                project_id, body.model_dump(include=body.model_fields_set),
                expected_version=expected, context=context,
            ),
            render=current, headers=etag_header, shown=represent_project,
        )  # fmt: skip

    @command_route(
        router, "/{project_id}/completion", scope=WRITE, body=CompletionRequest,
        responses=answers(200, ResearchProjectDocument, 404, 409),
    )  # fmt: skip
    def complete_research_project(
        command: Command[CompletionRequest], project_id: UUID
    ) -> JSONResponse:
        """The project ended → `ResearchProjectCompleted`."""
        return run_command(
            command, status=200, resource=str(project_id),
            execute=lambda context: app.complete_project(
                project_id, ended_on=command.body.ended_on, context=context
            ),
            render=current, headers=etag_header, shown=represent_project,
        )  # fmt: skip

    @router.get(
        "/{project_id}/history", dependencies=reader, response_model=None,
        responses=answers(200, Page[HistoryEntry], 404),
    )  # fmt: skip
    def get_research_project_history(project_id: UUID, paging: Paging) -> dict[str, Any]:
        """Every recorded event of the project, oldest first."""
        return history_page(app.history(project_id, ResearchProject), to_integration, paging)

    return router


def table_routes(app: Partnerships, directory: Directory) -> APIRouter:
    """The sector tables' routes: members, actions, retail placements."""
    router = APIRouter(prefix="/v1/sector-tables", tags=["sector tables"])
    reader = [require("read")]

    def current(ref: str) -> dict[str, Any]:
        return represent_table(app.table(UUID(ref)))

    def located(doc: dict[str, Any]) -> dict[str, str]:
        return {**etag_header(doc), "Location": f"/v1/sector-tables/{doc['id']}"}

    def action(ref: str) -> dict[str, Any]:
        table_id, action_id = ref.split("/")
        return represent_action(app.table(UUID(table_id)).action(UUID(action_id)))

    def placement(ref: str) -> dict[str, Any]:
        table_id, placement_id = ref.split("/")
        return represent_placement(app.table(UUID(table_id)).placement(UUID(placement_id)))

    def member(ref: str) -> dict[str, Any]:
        table_id, cooperative_id = ref.split("/")
        found = app.table(UUID(table_id)).members[UUID(cooperative_id)]  # its latest period
        return represent_member(found)

    def table_etag(table_id: UUID) -> Callable[[dict[str, Any]], dict[str, str]]:
        return lambda _doc: etag_header({"version": app.table(table_id).version})

    @command_route(
        router, "", scope=WRITE, body=SectorTableRequest, status_code=201,
        responses=answers(201, SectorTableDocument),
    )  # fmt: skip
    def form_sector_table(command: Command[SectorTableRequest]) -> JSONResponse:
        """Cooperatives of a sector form a table → `SectorTableFormed` (201)."""
        new_id, body = uuid4(), command.body

        def execute(context: Any) -> tuple[str, bool]:
            app.form_table(new_id, **body.model_dump(), context=context)
            return str(new_id), True

        return _create_or_known(
            command, new_ref=str(new_id), execute=execute, render=current, headers=located
        )

    @router.get(
        "", dependencies=reader, response_model=None,
        responses=answers(200, Page[SectorTableDocument]),
    )  # fmt: skip
    def list_sector_tables(
        paging: Paging,
        sector: Annotated[str | None, Query()] = None,
        status: Annotated[str | None, Query()] = None,
        external_ref: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        """Sector tables in creation order."""
        items, positions = directory.list_tables(
            sector=filter_value(sector, "sector", _is_slug),
            status=filter_value(status, "status", lambda v: v in ("active", "dissolved")),
            external_ref=external_ref or None,
            after=paging.after,
            limit=paging.limit,
        )
        return page(items, positions, paging.limit)

    @router.get(
        "/{table_id}", dependencies=reader, responses=answers(200, SectorTableDocument, 404)
    )
    def get_sector_table(table_id: UUID) -> JSONResponse:
        doc = represent_table(app.table(table_id))
        return JSONResponse(doc, headers=etag_header(doc))

    @command_route(
        router, "/{table_id}", method="PATCH", scope=WRITE, body=SectorTableChange,
        idempotent=False, responses=answers(200, SectorTableDocument, 404, 412),
    )  # fmt: skip
    def rename_sector_table(command: Command[SectorTableChange], table_id: UUID) -> JSONResponse:
        """Give the table a new name → `SectorTableRenamed`."""
        expected = unless_replayed(command, lambda: app.table(table_id).version)
        return run_command(
            command, status=200, resource=str(table_id),
            execute=lambda context: app.rename_table(
                table_id, command.body.name, expected_version=expected, context=context
            ),
            render=current, headers=etag_header, shown=represent_table,
        )  # fmt: skip

    @command_route(
        router, "/{table_id}/members", scope=WRITE, body=MemberRequest, status_code=201,
        responses={
            **answers(201, TableMemberDocument, 404, 409),
            200: {"model": TableMemberDocument, "description": "Already a member"},
        },
    )  # fmt: skip
    def add_table_member(command: Command[MemberRequest], table_id: UUID) -> JSONResponse:
        """A member cooperative joins the table → `SectorTableMemberAdded` (200 if already)."""
        body = command.body
        ref = f"{table_id}/{body.cooperative_id}"

        answer = Answered(member, table_etag(table_id), represent_member)

        def execute(context: Any) -> tuple[str, bool]:
            recorded = app.add_member(
                table_id, body.cooperative_id, joined_on=body.joined_on, context=context
            )
            return answer.note(ref, recorded), recorded.created

        return _create_or_known(
            command, new_ref=ref, execute=execute, render=answer.render, headers=answer.headers
        )

    @router.delete(
        "/{table_id}/members/{cooperative_id}",
        dependencies=[require(WRITE)],
        status_code=204,
        responses=answers(204, None, 404, 412),
    )
    def remove_table_member(
        request: Request,
        table_id: UUID,
        cooperative_id: UUID,
        left_on: Annotated[str, Query(description="Its first day out (`YYYY-MM-DD`).")],
    ) -> Response:
        """A cooperative leaves the table → `SectorTableMemberRemoved` (`left_on` required).

        Repeated (the cooperative already left) → 404 with `type` ending `/already-withdrawn`.
        """
        day = _required_date(left_on, "left_on")
        table = app.table(table_id)
        if cooperative_id not in table.members:
            raise domain.TableMemberNotFoundError(f"{cooperative_id} is not a member of the table")
        expected = expected_version(request, table.version)
        updated = app.remove_member(
            table_id, cooperative_id, left_on=day, expected_version=expected,
            context=command_context(request, None),
        )  # fmt: skip
        return Response(status_code=204, headers=etag_header({"version": updated.version}))

    @command_route(
        router, "/{table_id}/actions", scope=WRITE, body=TableActionRequest, status_code=201,
        responses=answers(201, TableActionDocument, 404, 409),
    )  # fmt: skip
    def log_table_action(command: Command[TableActionRequest], table_id: UUID) -> JSONResponse:
        """The table acted → `SectorTableActionLogged` (201)."""
        body, action_id = command.body, uuid4()

        answer = Answered(action, table_etag(table_id), represent_action)

        def execute(context: Any) -> tuple[str, bool]:
            recorded = app.log_action(table_id, action_id, **body.model_dump(), context=context)
            return answer.note(f"{table_id}/{recorded.record.id}", recorded), recorded.created

        return _create_or_known(
            command, new_ref=f"{table_id}/{action_id}", execute=execute, render=answer.render,
            headers=answer.headers,
        )  # fmt: skip

    @router.get(
        "/{table_id}/actions", dependencies=reader, response_model=None,
        responses=answers(200, Page[TableActionDocument], 404),
    )  # fmt: skip
    def list_table_actions(table_id: UUID, paging: Paging) -> dict[str, Any]:
        """The table's actions, oldest first (withdrawn ones left out)."""
        kept = [a for a in app.table(table_id).actions.values() if not a.withdrawn]
        return numbered_page(kept, represent_action, paging)

    @router.delete(
        "/{table_id}/actions/{action_id}",
        dependencies=[require(WRITE)],
        status_code=204,
        responses=answers(204, None, 404, 412),
    )
    def withdraw_table_action(
        request: Request,
        table_id: UUID,
        action_id: UUID,
        reason: Annotated[str | None, Query(max_length=500)] = None,
    ) -> Response:
        """Withdraw an action recorded by mistake → `SectorTableActionWithdrawn`.

        Repeated → 404 with `type` ending `/already-withdrawn`.
        """
        table = app.table(table_id)
        table.action(action_id)
        expected = expected_version(request, table.version)
        updated = app.withdraw_action(
            table_id, action_id, reason=reason or None, expected_version=expected,
            context=command_context(request, None),
        )  # fmt: skip
        return Response(status_code=204, headers=etag_header({"version": updated.version}))

    @command_route(
        router, "/{table_id}/retail-placements", scope=WRITE, body=PlacementRequest,
        status_code=201, responses=answers(201, PlacementDocument, 404, 409),
    )  # fmt: skip
    def secure_retail_placement(command: Command[PlacementRequest], table_id: UUID) -> JSONResponse:
        """Space reserved at a retailer → `RetailPlacementSecured` (201)."""
        body, placement_id = command.body, uuid4()

        answer = Answered(placement, table_etag(table_id), represent_placement)

        def execute(context: Any) -> tuple[str, bool]:
            recorded = app.secure_placement(
                table_id, placement_id, **body.model_dump(), context=context
            )
            return answer.note(f"{table_id}/{recorded.record.id}", recorded), recorded.created

        return _create_or_known(
            command, new_ref=f"{table_id}/{placement_id}", execute=execute,
            render=answer.render, headers=answer.headers,
        )  # fmt: skip

    @command_route(
        router, "/{table_id}/retail-placements/{placement_id}/end", scope=WRITE,
        body=PlacementEnd, responses=answers(200, PlacementDocument, 404, 409),
    )  # fmt: skip
    def end_retail_placement(
        command: Command[PlacementEnd], table_id: UUID, placement_id: UUID
    ) -> JSONResponse:
        """End a placement → `RetailPlacementEnded`."""
        app.table(table_id).placement(placement_id)
        return run_command(
            command, status=200, resource=f"{table_id}/{placement_id}",
            execute=lambda context: app.end_placement(
                table_id, placement_id, ended_on=command.body.ended_on, context=context
            ),
            render=placement, headers=table_etag(table_id), shown=represent_placement,
        )  # fmt: skip

    @router.get(
        "/{table_id}/retail-placements", dependencies=reader, response_model=None,
        responses=answers(200, Page[PlacementDocument], 404),
    )  # fmt: skip
    def list_retail_placements(
        table_id: UUID, paging: Paging, open: Annotated[str | None, Query()] = None
    ) -> dict[str, Any]:
        """The table's placements, oldest first (`open=true`: only those without an end)."""
        only_open = filter_value(open, "open", lambda v: v in ("true", "false"))
        kept = [
            p for p in app.table(table_id).placements.values()
            if only_open != "true" or p.is_open
        ]  # fmt: skip
        if only_open == "false":
            kept = [p for p in kept if not p.is_open]
        return numbered_page(kept, represent_placement, paging)

    @command_route(
        router, "/{table_id}/dissolution", scope=WRITE, body=DissolutionRequest,
        responses=answers(200, SectorTableDocument, 404, 409),
    )  # fmt: skip
    def dissolve_sector_table(command: Command[DissolutionRequest], table_id: UUID) -> JSONResponse:
        """Dissolve the table → `SectorTableDissolved`."""
        return run_command(
            command, status=200, resource=str(table_id),
            execute=lambda context: app.dissolve_table(
                table_id, dissolved_on=command.body.dissolved_on, context=context
            ),
            render=current, headers=etag_header, shown=represent_table,
        )  # fmt: skip

    @router.get(
        "/{table_id}/history", dependencies=reader, response_model=None,
        responses=answers(200, Page[HistoryEntry], 404),
    )  # fmt: skip
    def get_sector_table_history(table_id: UUID, paging: Paging) -> dict[str, Any]:
        """Every recorded event of the table, oldest first."""
        return history_page(app.history(table_id, SectorTable), to_integration, paging)

    return router


class Answered:
    """The answer to a command on a table's sub-record: from what the command just recorded
    when it ran (the table is not loaded again), else (an idempotent replay) from the store."""

    def __init__(
        self,
        load: Callable[[str], dict[str, Any]],
        load_headers: Callable[[dict[str, Any]], dict[str, str]],
        represent: Callable[[Any], dict[str, Any]],
    ) -> None:
        self.load = load
        self.load_headers = load_headers
        self.represent = represent
        self.ref: str | None = None
        self.doc: dict[str, Any] = {}
        self.version = 0

    def note(self, ref: str, recorded: Recorded[Any]) -> str:
        """Keep what the command recorded; return its reference."""
        self.ref, self.doc, self.version = ref, self.represent(recorded.record), recorded.version
        return ref

    def render(self, ref: str) -> dict[str, Any]:
        """The record as answered."""
        return dict(self.doc) if ref == self.ref else self.load(ref)

    def headers(self, doc: dict[str, Any]) -> dict[str, str]:
        """The table's `ETag`."""
        if self.ref is not None and doc == self.doc:
            return etag_header({"version": self.version})
        return self.load_headers(doc)


def _check_comparable(name: str) -> None:
    """A partner's name must keep a character once normalized (§16.7): white space alone is
    no name two partners could be told apart by."""
    if not normalized_name(name):
        raise invalid("name", "String should have at least 1 character")


def _is_slug(value: str) -> bool:
    return len(value) <= 100 and re.fullmatch(SLUG, value) is not None


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def _required_date(value: str | None, field: str) -> date:
    if not value:
        raise invalid(field, f"{field} is required")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(field, "must be a date written YYYY-MM-DD") from None


def install_errors(api: FastAPI) -> None:
    """Map the partnerships vocabulary of refusals to problem details, in one place."""

    @api.exception_handler(KnownReference)
    async def on_known(request: Request, error: KnownReference) -> JSONResponse:
        return problem_response(request, Problem(409, str(error), slug="external-ref-taken"))

    install_domain_errors(api, domain.PartnershipsError, ERRORS, extensions=_existing_id)


def _existing_id(error: domain.PartnershipsError) -> dict[str, Any] | None:
    """The other partner's id, in the answer to a name already taken."""
    if isinstance(error, domain.PartnerNameTakenError):
        return {"existing_id": error.existing_id}
    return None
