"""Partners, research projects and sector tables (the partnerships service)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.pages.base import Console, fields, redirect, text

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

    @router.post("/partners", response_class=HTMLResponse)
    async def register_partner(request: Request) -> Response:
        session, form = await console.form(request, WRITE)
        body = {
            **fields(form, "name", "kind", "region", "website", "external_ref"),
            "aliases": _lines(text(form, "aliases")),
        }
        answer = await console.call(
            request, session, "partnerships", "POST", "/v1/partners",
            json=body, idempotency_key=text(form, "idempotency_key"),
        )  # fmt: skip
        if answer.ok:
            return redirect("/partners")
        return await directory(
            request, session=session, form_name="partner",
            errors=answer.errors, values=dict(form),
        )  # fmt: skip

    @router.post("/research-projects", response_class=HTMLResponse)
    async def start_research_project(request: Request) -> Response:
        session, form = await console.form(request, WRITE)
        body = {
            **fields(form, "title", "theme", "started_on"),
            "partner_ids": [v for v in form.getlist("partner_ids") if isinstance(v, str)],
        }
        answer = await console.call(
            request, session, "partnerships", "POST", "/v1/research-projects",
            json=body, idempotency_key=text(form, "idempotency_key"),
        )  # fmt: skip
        if answer.ok:
            return redirect("/partners")
        return await directory(
            request, session=session, form_name="project",
            errors=answer.errors, values=dict(form),
        )  # fmt: skip

    @router.post("/sector-tables", response_class=HTMLResponse)
    async def form_sector_table(request: Request) -> Response:
        session, form = await console.form(request, WRITE)
        answer = await console.call(
            request, session, "partnerships", "POST", "/v1/sector-tables",
            json=fields(form, "name", "sector", "formed_on"),
            idempotency_key=text(form, "idempotency_key"),
        )  # fmt: skip
        if answer.ok:
            return redirect("/partners")
        return await directory(
            request, session=session, form_name="table",
            errors=answer.errors, values=dict(form),
        )  # fmt: skip

    return router
