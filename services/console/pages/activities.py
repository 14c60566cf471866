"""Activities: schedule, edit, cancel, reinstate, and who came (members and the public)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.pages.base import Console, fields, form_text, redirect
from services.console.sessions import StaffSession

WRITE = "events:write"
ACTIVITY = ("type", "title", "date", "format", "region")


def _partners(form: Any) -> list[str]:
    return [line.strip() for line in form_text(form, "partners").splitlines() if line.strip()]


def routes(console: Console) -> APIRouter:
    """The activities' pages."""
    router = APIRouter()

    async def show(
        request: Request,
        session: StaffSession,
        activity_id: str,
        *,
        status: int = 200,
        form_name: str = "",
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response:
        activity = await console.call(
            request, session, "events", "GET", f"/v1/activities/{activity_id}"
        )
        if activity.status == 404:
            return console.render(request, "error.html", session, status=404, status_code=404)
        attendances = await console.call(
            request, session, "events", "GET", f"/v1/activities/{activity_id}/attendances",
            params={"limit": 1000},
        )  # fmt: skip
        public = await console.call(
            request, session, "events", "GET", f"/v1/activities/{activity_id}/public-attendance",
            params={"limit": 1000},
        )  # fmt: skip
        names = await cooperative_names(
            request, session, [a["cooperative_id"] for a in _items(attendances)]
        )
        return console.render(
            request,
            "activity.html",
            session,
            status=status,
            activity=activity.body,
            attendances=_items(attendances),
            public=_items(public),
            names=names,
            form_name=form_name,
            errors=errors or {},
            values=values or {},
        )

    async def cooperative_names(
        request: Request, session: StaffSession, ids: list[str]
    ) -> dict[str, str]:
        answers = await asyncio.gather(
            *(console.call(request, session, "membership", "GET", f"/v1/cooperatives/{i}")
              for i in ids)
        )  # fmt: skip
        return {i: a.body["name"] for i, a in zip(ids, answers, strict=True) if a.ok}

    @router.get("/activities", response_class=HTMLResponse)
    async def list_activities(
        request: Request, type: str = "", region: str = "", cursor: str = ""
    ) -> Response:
        session = console.staff(request)
        answer = await console.call(
            request, session, "events", "GET", "/v1/activities",
            params={"type": type, "region": region, "cursor": cursor, "limit": 50},
        )  # fmt: skip
        return console.render(
            request,
            "activities.html",
            session,
            page=answer.body if answer.ok else {"items": [], "next_cursor": None},
            type_filter=type,
            region_filter=region,
        )

    @router.get("/activities/new", response_class=HTMLResponse)
    async def schedule_page(request: Request) -> Response:
        return console.render(request, "activity_new.html", console.staff(request))

    @router.post("/activities/new", response_class=HTMLResponse)
    async def schedule_activity(request: Request) -> Response:
        session, form = await console.form(request, WRITE)
        body = {**fields(form, *ACTIVITY, "external_ref"), "partners": _partners(form)}
        answer = await console.call(
            request, session, "events", "POST", "/v1/activities",
            json=body, idempotency_key=form_text(form, "idempotency_key"),
        )  # fmt: skip
        if answer.ok:
            return redirect(f"/activities/{answer.body['id']}")
        return console.render(
            request, "activity_new.html", session,
            errors=answer.errors, values=dict(form),
        )  # fmt: skip

    @router.get("/activities/{activity_id}", response_class=HTMLResponse)
    async def show_activity(request: Request, activity_id: str) -> Response:
        return await show(request, console.staff(request), activity_id)

    async def act(
        request: Request,
        activity_id: str,
        form_name: str,
        method: str,
        path: str,
        body: Any,
    ) -> Response:
        async def again(session: StaffSession, **refusal: Any) -> Response:
            return await show(request, session, activity_id, **refusal)

        return await console.submit(
            request, scope=WRITE, service="events", method=method,
            path=f"/v1/activities/{activity_id}{path}", body=body,
            done=f"/activities/{activity_id}", show=again, form_name=form_name,
        )  # fmt: skip

    @router.post("/activities/{activity_id}/revision", response_class=HTMLResponse)
    async def revise_activity(request: Request, activity_id: str) -> Response:
        return await act(
            request, activity_id, "revision", "PATCH", "",
            lambda form: {**fields(form, *ACTIVITY), "partners": _partners(form)},
        )  # fmt: skip

    @router.post("/activities/{activity_id}/cancellation", response_class=HTMLResponse)
    async def cancel_activity(request: Request, activity_id: str) -> Response:
        return await act(
            request, activity_id, "cancellation", "POST", "/cancellation",
            lambda form: fields(form, "reason"),
        )  # fmt: skip

    @router.post("/activities/{activity_id}/reinstatement", response_class=HTMLResponse)
    async def reinstate_activity(request: Request, activity_id: str) -> Response:
        return await act(
            request, activity_id, "reinstatement", "POST", "/reinstatement",
            lambda form: fields(form, "reason"),
        )  # fmt: skip

    @router.post(
        "/activities/{activity_id}/attendances/{cooperative_id}/correction",
        response_class=HTMLResponse,
    )
    async def correct_attendance(
        request: Request, activity_id: str, cooperative_id: str
    ) -> Response:
        return await act(
            request, activity_id, f"attendance-{cooperative_id}", "PATCH",
            f"/attendances/{cooperative_id}",
            lambda form: fields(form, "participants", "reason", numbers=("participants",)),
        )  # fmt: skip

    @router.post(
        "/activities/{activity_id}/attendances/{cooperative_id}/withdrawal",
        response_class=HTMLResponse,
    )
    async def withdraw_attendance(
        request: Request, activity_id: str, cooperative_id: str
    ) -> Response:
        return await act(
            request, activity_id, f"withdrawal-{cooperative_id}", "DELETE",
            f"/attendances/{cooperative_id}", None,
        )  # fmt: skip

    @router.post(
        "/activities/{activity_id}/public/{record_id}/correction", response_class=HTMLResponse
    )
    async def correct_public_attendance(
        request: Request, activity_id: str, record_id: str
    ) -> Response:
        return await act(
            request, activity_id, f"public-{record_id}", "PATCH",
            f"/public-attendance/{record_id}",
            lambda form: fields(form, "count", "region", "reason", numbers=("count",)),
        )  # fmt: skip

    @router.post(
        "/activities/{activity_id}/public/{record_id}/withdrawal", response_class=HTMLResponse
    )
    async def withdraw_public_attendance(
        request: Request, activity_id: str, record_id: str
    ) -> Response:
        return await act(
            request, activity_id, f"public-withdrawal-{record_id}", "DELETE",
            f"/public-attendance/{record_id}", None,
        )  # fmt: skip

    @router.get("/activities/{activity_id}/attendance", response_class=HTMLResponse)
    async def attendance_page(request: Request, activity_id: str, q: str = "") -> Response:
        session = console.staff(request)
        return await attendance_form(request, session, activity_id, q)

    async def attendance_form(
        request: Request,
        session: StaffSession,
        activity_id: str,
        q: str,
        *,
        status: int = 200,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        recorded: list[str] | None = None,
        ticked: list[str] | None = None,
    ) -> Response:
        activity = await console.call(
            request, session, "events", "GET", f"/v1/activities/{activity_id}"
        )
        if activity.status == 404:
            return console.render(request, "error.html", session, status=404, status_code=404)
        members = await console.call(
            request, session, "membership", "GET", "/v1/cooperatives",
            params={"q": q, "status": "active", "limit": 200},
        )  # fmt: skip
        return console.render(
            request,
            "attendance.html",
            session,
            status=status,
            activity=activity.body,
            members=_items(members),
            q=q,
            errors=errors or {},
            values=values or {},
            recorded=recorded or [],
            ticked=ticked or [],
        )

    @router.post("/activities/{activity_id}/attendance", response_class=HTMLResponse)
    async def record_attendance(request: Request, activity_id: str) -> Response:
        """Members present (ticked) and the public's count, recorded in one submit."""
        session, form = await console.form(request, WRITE)
        key = form_text(form, "idempotency_key")
        errors: dict[str, str] = {}
        recorded: list[str] = []
        for cooperative_id in form.getlist("cooperative_id"):
            if not isinstance(cooperative_id, str):
                continue
            participants = fields(
                form, f"participants-{cooperative_id}", numbers=(f"participants-{cooperative_id}",)
            ).get(f"participants-{cooperative_id}", 1)
            answer = await console.call(
                request, session, "events", "POST", f"/v1/activities/{activity_id}/attendances",
                json={"cooperative_id": cooperative_id, "participants": participants},
                idempotency_key=f"{key}:{cooperative_id}" if key else None,
            )  # fmt: skip
            if answer.ok:
                recorded.append(cooperative_id)
            else:
                errors[f"cooperative-{cooperative_id}"] = next(iter(answer.errors.values()))
        count = form_text(form, "count")
        if count:
            answer = await console.call(
                request, session, "events", "POST",
                f"/v1/activities/{activity_id}/public-attendance",
                json=fields(form, "count", "region", numbers=("count",)),
                idempotency_key=f"{key}:public" if key else None,
            )  # fmt: skip
            if not answer.ok:
                errors.update({field or "count": v for field, v in answer.errors.items()})
        if not errors:
            return redirect(f"/activities/{activity_id}")
        return await attendance_form(
            request, session, activity_id, form_text(form, "q"), errors=errors,
            values=dict(form), recorded=recorded,
            ticked=[v for v in form.getlist("cooperative_id") if isinstance(v, str)],
        )  # fmt: skip

    return router


def _items(answer: Any) -> list[Any]:
    return list(answer.body.get("items", [])) if answer.ok and isinstance(answer.body, dict) else []
