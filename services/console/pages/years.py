"""Fiscal years: their figures, closing before the AGM, reopening, the strategic plan's targets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.pages.base import Console, form_text, redirect
from services.console.sessions import StaffSession

ADMIN = "reporting:admin"


def _scalars(indicators: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in indicators.items() if isinstance(v, int | float)}


def routes(console: Console) -> APIRouter:
    """The fiscal years' pages."""
    router = APIRouter()

    @router.get("/years", response_class=HTMLResponse)
    async def list_years(request: Request) -> Response:
        session = console.staff(request)
        answer = await console.call(request, session, "reporting", "GET", "/v1/fiscal-years")
        return console.render(
            request,
            "years.html",
            session,
            years=list(reversed(answer.body.get("items", []))) if answer.ok else [],
        )

    async def show(
        request: Request,
        session: StaffSession,
        fiscal_year: str,
        *,
        status: int = 200,
        form_name: str = "",
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response:
        figures = await console.call(
            request, session, "reporting", "GET", f"/v1/indicators/{fiscal_year}"
        )
        if not figures.ok:
            return console.render(
                request, "error.html", session, status=figures.status, status_code=figures.status
            )
        closure = await console.call(
            request, session, "reporting", "GET", f"/v1/fiscal-years/{fiscal_year}/closure"
        )
        targets = await console.call(
            request, session, "reporting", "GET", f"/v1/targets/{fiscal_year}"
        )
        return console.render(
            request,
            "year.html",
            session,
            status=status,
            fiscal_year=fiscal_year,
            figures=figures.body,
            scalars=_scalars(figures.body.get("indicators", {})),
            closure=closure.body if closure.ok else None,
            targets=targets.body.get("targets", {}) if targets.ok else {},
            form_name=form_name,
            errors=errors or {},
            values=values or {},
        )

    @router.get("/years/{fiscal_year}", response_class=HTMLResponse)
    async def show_year(request: Request, fiscal_year: str) -> Response:
        return await show(request, console.staff(request), fiscal_year)

    @router.post("/years/{fiscal_year}/closure", response_class=HTMLResponse)
    async def close_year(request: Request, fiscal_year: str) -> Response:
        session, form = await console.form(request, ADMIN)
        note = form_text(form, "note")
        answer = await console.call(
            request, session, "reporting", "POST", f"/v1/fiscal-years/{fiscal_year}/closure",
            json={"note": note} if note else {}, idempotency_key=form_text(form, "idempotency_key"),
        )  # fmt: skip
        if answer.ok:
            return redirect(f"/years/{fiscal_year}")
        return await show(
            request, session, fiscal_year, form_name="closure",
            errors=answer.errors, values=dict(form),
        )  # fmt: skip

    @router.post("/years/{fiscal_year}/reopening", response_class=HTMLResponse)
    async def reopen_year(request: Request, fiscal_year: str) -> Response:
        session, _form = await console.form(request, ADMIN)
        answer = await console.call(
            request, session, "reporting", "DELETE", f"/v1/fiscal-years/{fiscal_year}/closure"
        )
        if answer.ok:
            return redirect(f"/years/{fiscal_year}")
        return await show(
            request, session, fiscal_year, form_name="reopening",
            errors=answer.errors,
        )  # fmt: skip

    @router.post("/years/{fiscal_year}/targets", response_class=HTMLResponse)
    async def set_targets(request: Request, fiscal_year: str) -> Response:
        session, form = await console.form(request, ADMIN)
        targets: dict[str, Any] = {}
        for name, value in form.multi_items():
            if not name.startswith("target:") or not isinstance(value, str) or not value.strip():
                continue
            number = value.strip().replace(",", ".")
            try:
                targets[name.removeprefix("target:")] = (
                    float(number) if "." in number else int(number)
                )
            except ValueError:
                targets[name.removeprefix("target:")] = number
        answer = await console.call(
            request, session, "reporting", "PUT", f"/v1/targets/{fiscal_year}", json=targets
        )
        if answer.ok:
            return redirect(f"/years/{fiscal_year}")
        errors = {f"target:{k}": v for k, v in answer.errors.items()}
        return await show(
            request, session, fiscal_year, form_name="targets",
            errors=errors, values=dict(form),
        )  # fmt: skip

    return router
