"""Partners, research projects and sector tables (the partnerships service)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.pages.base import Console, Show, fields, form_text
from services.console.sessions import StaffSession

WRITE = "partnerships:write"


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def routes(console: Console) -> APIRouter:
    """The partnerships' pages."""
    router = APIRouter()

    async def directory(request: Request, **context: Any) -> Response:
        session = context.pop("session")
        partners = await console.call(
            request, session, "partnerships", "GET", "/v1/partners",
            params={"q": request.query_params.get("q", ""), "limit": 500},
        )  # fmt: skip
        projects = await console.call(
            request, session, "partnerships", "GET", "/v1/research-projects", params={"limit": 500}
        )
        tables = await console.call(
            request, session, "partnerships", "GET", "/v1/sector-tables", params={"limit": 500}
        )
        return console.render(
            request,
            "partners.html",
            session,
            partners=partners.body.get("items", []) if partners.ok else [],
            projects=projects.body.get("items", []) if projects.ok else [],
            tables=tables.body.get("items", []) if tables.ok else [],
            **context,
        )

    @router.get("/partners", response_class=HTMLResponse)
    async def list_partners(request: Request) -> Response:
        return await directory(request, session=console.staff(request))

    async def again(request: Request) -> Show:
        async def show(session: StaffSession, **refusal: Any) -> Response:
            return await directory(request, session=session, **refusal)

        return show

    async def create(request: Request, path: str, form_name: str, body: Any) -> Response:
        return await console.submit(
            request, scope=WRITE, service="partnerships", method="POST", path=path, body=body,
            done="/partners", show=await again(request), form_name=form_name,
        )  # fmt: skip

    @router.post("/partners", response_class=HTMLResponse)
    async def register_partner(request: Request) -> Response:
        return await create(
            request, "/v1/partners", "partner",
            lambda form: {**fields(form, "name", "kind", "region", "website", "external_ref"),
                          "aliases": _lines(form_text(form, "aliases"))},
        )  # fmt: skip

    @router.post("/research-projects", response_class=HTMLResponse)
    async def start_research_project(request: Request) -> Response:
        return await create(
            request, "/v1/research-projects", "project",
            lambda form: {**fields(form, "title", "theme", "started_on"),
                          "partner_ids": [v for v in form.getlist("partner_ids")
                                          if isinstance(v, str)]},
        )  # fmt: skip

    @router.post("/sector-tables", response_class=HTMLResponse)
    async def form_sector_table(request: Request) -> Response:
        return await create(
            request, "/v1/sector-tables", "table",
            lambda form: fields(form, "name", "sector", "formed_on"),
        )  # fmt: skip

    return router
