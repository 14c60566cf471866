"""Partners, research projects and sector tables (the partnerships service, contract §12)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from services.console.pages.base import Console, Show, fields, form_text, redirect, ticked
from services.console.pages.cooperatives import sectors
from services.console.platform import Answer
from services.console.sessions import StaffSession

WRITE = "partnerships:write"
SERVICE = "partnerships"
PARTNER = ("name", "kind", "region", "website")
PROJECT = ("title", "theme", "started_on")


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _items(answer: Answer) -> list[Any]:
    return list(answer.body.get("items", [])) if answer.ok and isinstance(answer.body, dict) else []


def _partner_body(form: FormData) -> dict[str, Any]:
    return {**fields(form, *PARTNER), "aliases": _lines(form_text(form, "aliases"))}


def _cleared(form: FormData, body: dict[str, Any], *names: str) -> dict[str, Any]:
    """A change's body: the optional fields emptied in the form sent as cleared (null)."""
    return {**{name: None for name in names if not form_text(form, name)}, **body}


def _project_body(form: FormData) -> dict[str, Any]:
    return {**fields(form, *PROJECT), "partner_ids": ticked(form, "partner_ids")}


def routes(console: Console) -> APIRouter:
    """The partnerships' pages: the directory, a partner, a research project, a sector table."""
    router = APIRouter()

    async def get(request: Request, session: StaffSession, path: str, **params: Any) -> Answer:
        return await console.call(request, session, SERVICE, "GET", path, params=params or None)

    async def directory(request: Request, session: StaffSession, **refusal: Any) -> Response:
        q = request.query_params.get("q", "")
        partners = await get(request, session, "/v1/partners", limit=1000)
        shown = await get(request, session, "/v1/partners", q=q, limit=1000) if q else partners
        projects = await get(request, session, "/v1/research-projects", limit=1000)
        tables = await get(request, session, "/v1/sector-tables", limit=1000)
        return console.render(
            request,
            "partners.html",
            session,
            partners=_items(shown),
            all_partners=_items(partners),
            projects=_items(projects),
            tables=_items(tables),
            sectors=await sectors(console, request, session),
            q=q,
            **refusal,
        )

    async def partner_page(
        request: Request, session: StaffSession, partner_id: str, **refusal: Any
    ) -> Response:
        partner = await get(request, session, f"/v1/partners/{partner_id}")
        if not partner.ok:
            return console.render(request, "error.html", session, status=404, status_code=404)
        projects = await get(request, session, "/v1/research-projects", partner_id=partner_id)
        return console.render(
            request, "partner.html", session,
            partner=partner.body, projects=_items(projects), **refusal,
        )  # fmt: skip

    async def project_page(
        request: Request, session: StaffSession, project_id: str, **refusal: Any
    ) -> Response:
        project = await get(request, session, f"/v1/research-projects/{project_id}")
        if not project.ok:
            return console.render(request, "error.html", session, status=404, status_code=404)
        partners = await get(request, session, "/v1/partners", limit=1000)
        return console.render(
            request, "research_project.html", session,
            project=project.body, partners=_items(partners), **refusal,
        )  # fmt: skip

    async def table_page(
        request: Request, session: StaffSession, table_id: str, **refusal: Any
    ) -> Response:
        table = await get(request, session, f"/v1/sector-tables/{table_id}")
        if not table.ok:
            return console.render(request, "error.html", session, status=404, status_code=404)
        actions, placements, partners, cooperatives, sector_list = await asyncio.gather(
            get(request, session, f"/v1/sector-tables/{table_id}/actions", limit=1000),
            get(request, session, f"/v1/sector-tables/{table_id}/retail-placements", limit=1000),
            get(request, session, "/v1/partners", limit=1000),
            console.call(
                request, session, "membership", "GET", "/v1/cooperatives", params={"limit": 1000}
            ),
            sectors(console, request, session),
        )
        return console.render(
            request, "sector_table.html", session,
            table=table.body, actions=_items(actions), placements=_items(placements),
            partners=_items(partners), cooperatives=_items(cooperatives),
            sectors=sector_list, **refusal,
        )  # fmt: skip

    Page = Callable[..., Any]

    def again(request: Request, page: Page, *ids: str) -> Show:
        async def show(session: StaffSession, **refusal: Any) -> Response:
            response: Response = await page(request, session, *ids, **refusal)
            return response

        return show

    async def submit(
        request: Request,
        form_name: str,
        method: str,
        path: str,
        body: Callable[[FormData], Any] | None,
        done: str | Callable[[Answer], str],
        show: Show,
        params: Callable[[FormData], dict[str, Any]] | None = None,
        unplaced: str | None = None,
    ) -> Response:
        return await console.submit(
            request, scope=WRITE, service=SERVICE, method=method, path=path, body=body,
            done=done, show=show, form_name=form_name, params=params, unplaced=unplaced,
        )  # fmt: skip

    # the directory: every partner, project and table; the three creation forms

    @router.get("/partners", response_class=HTMLResponse)
    async def list_partners(request: Request) -> Response:
        return await directory(request, console.staff(request))

    @router.post("/partners", response_class=HTMLResponse)
    async def register_partner(request: Request) -> Response:
        return await submit(
            request, "partner", "POST", "/v1/partners",
            lambda form: {**_partner_body(form), **fields(form, "external_ref")},
            lambda answer: f"/partners/{answer.body['id']}", again(request, directory),
        )  # fmt: skip

    @router.post("/research-projects", response_class=HTMLResponse)
    async def start_research_project(request: Request) -> Response:
        return await submit(
            request, "project", "POST", "/v1/research-projects", _project_body,
            lambda answer: f"/research-projects/{answer.body['id']}", again(request, directory),
        )  # fmt: skip

    @router.post("/sector-tables", response_class=HTMLResponse)
    async def form_sector_table(request: Request) -> Response:
        return await submit(
            request, "table", "POST", "/v1/sector-tables",
            lambda form: fields(form, "name", "sector", "formed_on"),
            lambda answer: f"/sector-tables/{answer.body['id']}", again(request, directory),
        )  # fmt: skip

    # a partner: its fields, its aliases, active or not

    @router.get("/partners/{partner_id}", response_class=HTMLResponse)
    async def show_partner(request: Request, partner_id: str) -> Response:
        return await partner_page(request, console.staff(request), partner_id)

    @router.post("/partners/{partner_id}/revision", response_class=HTMLResponse)
    async def update_partner(request: Request, partner_id: str) -> Response:
        return await submit(
            request, "revision", "PATCH", f"/v1/partners/{partner_id}",
            lambda form: _cleared(form, _partner_body(form), "region", "website"),
            f"/partners/{partner_id}", again(request, partner_page, partner_id),
        )  # fmt: skip

    @router.post("/partners/{partner_id}/{change}", response_class=HTMLResponse)
    async def change_partner_status(request: Request, partner_id: str, change: str) -> Response:
        if change not in ("deactivation", "reactivation"):
            return console.render(request, "error.html", None, status=404, status_code=404)
        return await submit(
            request, "status", "POST", f"/v1/partners/{partner_id}/{change}", lambda _form: {},
            f"/partners/{partner_id}", again(request, partner_page, partner_id),
        )  # fmt: skip

    # a research project: its fields and partners, its completion

    @router.get("/research-projects/{project_id}", response_class=HTMLResponse)
    async def show_project(request: Request, project_id: str) -> Response:
        return await project_page(request, console.staff(request), project_id)

    @router.post("/research-projects/{project_id}/revision", response_class=HTMLResponse)
    async def update_project(request: Request, project_id: str) -> Response:
        return await submit(
            request, "revision", "PATCH", f"/v1/research-projects/{project_id}",
            lambda form: _cleared(form, _project_body(form), "theme"),
            f"/research-projects/{project_id}", again(request, project_page, project_id),
        )  # fmt: skip

    @router.post("/research-projects/{project_id}/completion", response_class=HTMLResponse)
    async def complete_project(request: Request, project_id: str) -> Response:
        return await submit(
            request, "completion", "POST", f"/v1/research-projects/{project_id}/completion",
            lambda form: fields(form, "ended_on"),
            f"/research-projects/{project_id}", again(request, project_page, project_id),
        )  # fmt: skip

    # a sector table: its name, members, actions, retail placements, dissolution

    @router.get("/sector-tables/{table_id}", response_class=HTMLResponse)
    async def show_table(request: Request, table_id: str) -> Response:
        return await table_page(request, console.staff(request), table_id)

    def table_form(
        request: Request,
        table_id: str,
        form_name: str,
        method: str,
        path: str,
        body: Callable[[FormData], Any] | None,
        params: Callable[[FormData], dict[str, Any]] | None = None,
        unplaced: str | None = None,
    ) -> Any:
        return submit(
            request, form_name, method, f"/v1/sector-tables/{table_id}{path}", body,
            f"/sector-tables/{table_id}", again(request, table_page, table_id), params, unplaced,
        )  # fmt: skip

    @router.post("/sector-tables/{table_id}/revision", response_class=HTMLResponse)
    async def rename_table(request: Request, table_id: str) -> Response:
        response: Response = await table_form(
            request, table_id, "revision", "PATCH", "", lambda form: fields(form, "name")
        )
        return response

    @router.post("/sector-tables/{table_id}/members", response_class=HTMLResponse)
    async def add_member(request: Request, table_id: str) -> Response:
        response: Response = await table_form(
            request, table_id, "member", "POST", "/members",
            lambda form: fields(form, "cooperative_id", "joined_on"),
        )  # fmt: skip
        return response

    @router.post(
        "/sector-tables/{table_id}/members/{cooperative_id}/removal", response_class=HTMLResponse
    )
    async def remove_member(request: Request, table_id: str, cooperative_id: str) -> Response:
        response: Response = await table_form(
            request, table_id, f"removal-{cooperative_id}", "DELETE",
            f"/members/{cooperative_id}", None,
            lambda form: {"left_on": form_text(form, "left_on")}, "left_on",
        )  # fmt: skip
        return response

    @router.post("/sector-tables/{table_id}/actions", response_class=HTMLResponse)
    async def log_action(request: Request, table_id: str) -> Response:
        response: Response = await table_form(
            request, table_id, "action", "POST", "/actions",
            lambda form: {**fields(form, "kind", "title", "performed_on"),
                          "partner_ids": ticked(form, "partner_ids")},
        )  # fmt: skip
        return response

    @router.post(
        "/sector-tables/{table_id}/actions/{action_id}/withdrawal", response_class=HTMLResponse
    )
    async def withdraw_action(request: Request, table_id: str, action_id: str) -> Response:
        response: Response = await table_form(
            request, table_id, f"withdrawal-{action_id}", "DELETE", f"/actions/{action_id}", None
        )
        return response

    @router.post("/sector-tables/{table_id}/placements", response_class=HTMLResponse)
    async def secure_placement(request: Request, table_id: str) -> Response:
        response: Response = await table_form(
            request, table_id, "placement", "POST", "/retail-placements",
            lambda form: fields(form, "retailer_id", "started_on", "note"),
        )  # fmt: skip
        return response

    @router.post(
        "/sector-tables/{table_id}/placements/{placement_id}/end", response_class=HTMLResponse
    )
    async def end_placement(request: Request, table_id: str, placement_id: str) -> Response:
        response: Response = await table_form(
            request, table_id, f"end-{placement_id}", "POST",
            f"/retail-placements/{placement_id}/end", lambda form: fields(form, "ended_on"),
            None, "ended_on",
        )  # fmt: skip
        return response

    @router.post("/sector-tables/{table_id}/dissolution", response_class=HTMLResponse)
    async def dissolve_table(request: Request, table_id: str) -> Response:
        response: Response = await table_form(
            request, table_id, "dissolution", "POST", "/dissolution",
            lambda form: fields(form, "dissolved_on"), None, "dissolved_on",
        )  # fmt: skip
        return response

    # an action's address opened again (a reload after a refusal): its page

    @router.get("/partners/{partner_id}/{_action}", response_class=HTMLResponse)
    async def partner_action_page(partner_id: str, _action: str) -> Response:
        return redirect(f"/partners/{partner_id}")

    @router.get("/research-projects/{project_id}/{_action}", response_class=HTMLResponse)
    async def project_action_page(project_id: str, _action: str) -> Response:
        return redirect(f"/research-projects/{project_id}")

    @router.get("/sector-tables/{table_id}/{_action:path}", response_class=HTMLResponse)
    async def table_action_page(table_id: str, _action: str) -> Response:
        return redirect(f"/sector-tables/{table_id}")

    @router.get("/research-projects", response_class=HTMLResponse)
    @router.get("/sector-tables", response_class=HTMLResponse)
    async def directory_page() -> Response:
        return redirect("/partners")

    return router
