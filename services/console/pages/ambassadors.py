"""Ambassadors: enrol, edit, log and correct actions, retire, reactivate, personal data."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.pages.base import Console, fields, form_text, redirect
from services.console.sessions import StaffSession

WRITE = "ambassadors:write"
PRIVACY = "privacy:admin"
ACTION = ("kind", "performed_on", "activity_id", "people_reached")


def routes(console: Console) -> APIRouter:
    """The ambassadors' pages."""
    router = APIRouter()

    async def members(request: Request, session: StaffSession) -> list[Any]:
        answer = await console.call(
            request, session, "membership", "GET", "/v1/cooperatives",
            params={"status": "active", "limit": 1000},
        )  # fmt: skip
        return list(answer.body.get("items", [])) if answer.ok else []

    async def show(
        request: Request,
        session: StaffSession,
        ambassador_id: str,
        *,
        status: int = 200,
        form_name: str = "",
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response:
        ambassador = await console.call(
            request, session, "ambassadors", "GET", f"/v1/ambassadors/{ambassador_id}"
        )
        if ambassador.status == 404:
            return console.render(request, "error.html", session, status=404, status_code=404)
        actions = await console.call(
            request, session, "ambassadors", "GET", f"/v1/ambassadors/{ambassador_id}/actions",
            params={"limit": 1000},
        )  # fmt: skip
        coop = await console.call(
            request, session, "membership", "GET",
            f"/v1/cooperatives/{ambassador.body['cooperative_id']}",
        )  # fmt: skip
        return console.render(
            request,
            "ambassador.html",
            session,
            status=status,
            ambassador=ambassador.body,
            actions=actions.body.get("items", []) if actions.ok else [],
            coop=coop.body if coop.ok else None,
            form_name=form_name,
            errors=errors or {},
            values=values or {},
        )

    @router.get("/ambassadors", response_class=HTMLResponse)
    async def list_ambassadors(request: Request, status: str = "", cursor: str = "") -> Response:
        session = console.staff(request)
        answer = await console.call(
            request, session, "ambassadors", "GET", "/v1/ambassadors",
            params={"status": status, "cursor": cursor, "limit": 50},
        )  # fmt: skip
        return console.render(
            request,
            "ambassadors.html",
            session,
            page=answer.body if answer.ok else {"items": [], "next_cursor": None},
            status_filter=status,
        )

    @router.get("/ambassadors/new", response_class=HTMLResponse)
    async def enrol_page(request: Request, cooperative_id: str = "") -> Response:
        session = console.staff(request)
        return console.render(
            request, "ambassador_new.html", session,
            members=await members(request, session), values={"cooperative_id": cooperative_id},
        )  # fmt: skip

    @router.post("/ambassadors/new", response_class=HTMLResponse)
    async def enrol_ambassador(request: Request) -> Response:
        session, form = await console.form(request, WRITE)
        body = fields(form, "cooperative_id", "name", "email", "enrolled_on", "external_ref")
        answer = await console.call(
            request, session, "ambassadors", "POST", "/v1/ambassadors",
            json=body, idempotency_key=form_text(form, "idempotency_key"),
        )  # fmt: skip
        if answer.ok:
            return redirect(f"/ambassadors/{answer.body['id']}")
        return console.render(
            request, "ambassador_new.html", session,
            errors=answer.errors, values=dict(form), members=await members(request, session),
        )  # fmt: skip

    @router.get("/ambassadors/{ambassador_id}", response_class=HTMLResponse)
    async def show_ambassador(request: Request, ambassador_id: str) -> Response:
        return await show(request, console.staff(request), ambassador_id)

    async def act(
        request: Request,
        ambassador_id: str,
        form_name: str,
        method: str,
        path: str,
        body: Any,
        scope: str = WRITE,
    ) -> Response:
        async def again(session: StaffSession, **refusal: Any) -> Response:
            return await show(request, session, ambassador_id, **refusal)

        return await console.submit(
            request, scope=scope, service="ambassadors", method=method,
            path=f"/v1/ambassadors/{ambassador_id}{path}", body=body,
            done=f"/ambassadors/{ambassador_id}", show=again, form_name=form_name,
        )  # fmt: skip

    @router.post("/ambassadors/{ambassador_id}/profile", response_class=HTMLResponse)
    async def update_ambassador(request: Request, ambassador_id: str) -> Response:
        return await act(
            request, ambassador_id, "profile", "PATCH", "",
            lambda form: fields(form, "name", "email", "enrolled_on", "reason"),
        )  # fmt: skip

    @router.post("/ambassadors/{ambassador_id}/actions", response_class=HTMLResponse)
    async def log_action(request: Request, ambassador_id: str) -> Response:
        return await act(
            request, ambassador_id, "action", "POST", "/actions",
            lambda form: fields(form, *ACTION, numbers=("people_reached",)),
        )  # fmt: skip

    @router.post(
        "/ambassadors/{ambassador_id}/actions/{action_id}/correction", response_class=HTMLResponse
    )
    async def correct_action(request: Request, ambassador_id: str, action_id: str) -> Response:
        return await act(
            request, ambassador_id, f"action-{action_id}", "PATCH", f"/actions/{action_id}",
            lambda form: fields(form, *ACTION, "reason", numbers=("people_reached",)),
        )  # fmt: skip

    @router.post(
        "/ambassadors/{ambassador_id}/actions/{action_id}/withdrawal", response_class=HTMLResponse
    )
    async def withdraw_action(request: Request, ambassador_id: str, action_id: str) -> Response:
        return await act(
            request, ambassador_id, f"action-{action_id}", "DELETE", f"/actions/{action_id}", None
        )

    @router.post("/ambassadors/{ambassador_id}/retirement", response_class=HTMLResponse)
    async def retire_ambassador(request: Request, ambassador_id: str) -> Response:
        return await act(
            request, ambassador_id, "retirement", "POST", "/retirement",
            lambda form: fields(form, "retired_on"),
        )  # fmt: skip

    @router.post("/ambassadors/{ambassador_id}/reactivation", response_class=HTMLResponse)
    async def reactivate_ambassador(request: Request, ambassador_id: str) -> Response:
        return await act(
            request, ambassador_id, "reactivation", "POST", "/reactivation",
            lambda form: fields(form, "reason"),
        )  # fmt: skip

    @router.post("/ambassadors/{ambassador_id}/erasure", response_class=HTMLResponse)
    async def erase_personal_data(request: Request, ambassador_id: str) -> Response:
        return await act(
            request, ambassador_id, "erasure", "DELETE", "/personal-data", None, scope=PRIVACY
        )

    @router.get("/ambassadors/{ambassador_id}/personal-data")
    async def export_personal_data(request: Request, ambassador_id: str) -> Response:
        session = console.staff(request)
        if not session.can(PRIVACY):
            return console.render(request, "error.html", session, status=403, status_code=403)
        answer = await console.call(
            request, session, "ambassadors", "GET", f"/v1/ambassadors/{ambassador_id}/personal-data"
        )
        if not answer.ok:
            return console.render(request, "error.html", session, status_code=answer.status)
        return Response(
            json.dumps(answer.body, ensure_ascii=False, indent=2),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="donnees-{ambassador_id}.json"'},
        )

    return router
