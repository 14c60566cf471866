"""Cooperatives: find, join, edit, depart, come back, correct the periods, void, restore."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.pages.base import Console, fields, form_text, redirect
from services.console.sessions import StaffSession

WRITE = "membership:write"
PROFILE = ("name", "region", "sector", "worker_members", "neq")


async def sectors(console: Console, request: Request, session: StaffSession) -> list[Any]:
    """The sector list with its labels, as the membership service keeps it."""
    answer = await console.call(request, session, "membership", "GET", "/v1/sectors")
    return list(answer.body.get("items", [])) if answer.ok else []


def routes(console: Console) -> APIRouter:
    """The cooperatives' pages."""
    router = APIRouter()

    async def show(
        request: Request,
        session: StaffSession,
        cooperative_id: str,
        *,
        status: int = 200,
        form_name: str = "",
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response:
        coop, history, attendances, ambassadors, sector_list = await asyncio.gather(
            console.call(
                request, session, "membership", "GET", f"/v1/cooperatives/{cooperative_id}"
            ),
            console.call(
                request, session, "membership", "GET",
                f"/v1/cooperatives/{cooperative_id}/history", params={"limit": 1000},
            ),
            console.call(
                request, session, "events", "GET", "/v1/attendances",
                params={"cooperative_id": cooperative_id, "limit": 1000},
            ),
            console.call(
                request, session, "ambassadors", "GET", "/v1/ambassadors",
                params={"cooperative_id": cooperative_id, "limit": 1000},
            ),
            sectors(console, request, session),
        )  # fmt: skip
        if coop.status == 404:
            return console.render(request, "error.html", session, status=404, status_code=404)
        attended = attendances.body.get("items", []) if attendances.ok else []
        activity_ids = list(dict.fromkeys(a["activity_id"] for a in attended))
        found = await asyncio.gather(
            *(console.call(request, session, "events", "GET", f"/v1/activities/{activity_id}")
              for activity_id in activity_ids)
        )  # fmt: skip
        return console.render(
            request,
            "cooperative.html",
            session,
            status=status,
            coop=coop.body,
            activities={i: a.body for i, a in zip(activity_ids, found, strict=True) if a.ok},
            history=history.body.get("items", []) if history.ok else [],
            attendances=attendances.body.get("items", []) if attendances.ok else [],
            ambassadors=ambassadors.body.get("items", []) if ambassadors.ok else [],
            sectors=sector_list,
            form_name=form_name,
            errors=errors or {},
            values=values or {},
        )

    @router.get("/cooperatives", response_class=HTMLResponse)
    async def list_cooperatives(
        request: Request, q: str = "", status: str = "", cursor: str = ""
    ) -> Response:
        session = console.staff(request)
        answer = await console.call(
            request, session, "membership", "GET", "/v1/cooperatives",
            params={"q": q, "status": status, "cursor": cursor, "limit": 50},
        )  # fmt: skip
        return console.render(
            request,
            "cooperatives.html",
            session,
            page=answer.body if answer.ok else {"items": [], "next_cursor": None},
            errors=answer.errors,
            q=q,
            status_filter=status,
            sectors=await sectors(console, request, session),
        )

    @router.get("/cooperatives/new", response_class=HTMLResponse)
    async def join_page(request: Request) -> Response:
        session = console.staff(request)
        return console.render(
            request,
            "cooperative_new.html",
            session,
            sectors=await sectors(console, request, session),
        )

    @router.post("/cooperatives/new", response_class=HTMLResponse)
    async def join_cooperative(request: Request) -> Response:
        session, form = await console.form(request, WRITE)
        body = fields(form, *PROFILE, "joined_on", "external_ref", numbers=("worker_members",))
        answer = await console.call(
            request, session, "membership", "POST", "/v1/cooperatives",
            json=body, idempotency_key=form_text(form, "idempotency_key"),
        )  # fmt: skip
        if answer.ok:
            return redirect(f"/cooperatives/{answer.body['id']}")
        return console.render(
            request,
            "cooperative_new.html",
            session,
            errors=answer.errors,
            values=dict(form),
            sectors=await sectors(console, request, session),
        )

    @router.get("/cooperatives/{cooperative_id}", response_class=HTMLResponse)
    async def show_cooperative(request: Request, cooperative_id: str) -> Response:
        session = console.staff(request)
        return await show(request, session, cooperative_id)

    async def act(
        request: Request, cooperative_id: str, form_name: str, method: str, path: str, body: Any
    ) -> Response:
        async def again(session: StaffSession, **refusal: Any) -> Response:
            return await show(request, session, cooperative_id, **refusal)

        return await console.submit(
            request, scope=WRITE, service="membership", method=method,
            path=f"/v1/cooperatives/{cooperative_id}{path}", body=body,
            done=f"/cooperatives/{cooperative_id}", show=again, form_name=form_name,
        )  # fmt: skip

    @router.post("/cooperatives/{cooperative_id}/profile", response_class=HTMLResponse)
    async def update_profile(request: Request, cooperative_id: str) -> Response:
        def body(form: Any) -> dict[str, Any]:
            changed = fields(form, *PROFILE, numbers=("worker_members",))
            if not form_text(form, "neq"):
                changed["neq"] = None
            if not form_text(form, "worker_members"):
                changed["worker_members"] = None
            return changed

        return await act(request, cooperative_id, "profile", "PATCH", "", body)

    @router.post("/cooperatives/{cooperative_id}/departure", response_class=HTMLResponse)
    async def record_departure(request: Request, cooperative_id: str) -> Response:
        return await act(
            request, cooperative_id, "departure", "POST", "/departure",
            lambda form: fields(form, "left_on", "reason"),
        )  # fmt: skip

    @router.post("/cooperatives/{cooperative_id}/readmission", response_class=HTMLResponse)
    async def record_readmission(request: Request, cooperative_id: str) -> Response:
        return await act(
            request, cooperative_id, "readmission", "POST", "/readmission",
            lambda form: fields(form, "rejoined_on"),
        )  # fmt: skip

    @router.post("/cooperatives/{cooperative_id}/correction", response_class=HTMLResponse)
    async def correct_membership(request: Request, cooperative_id: str) -> Response:
        def body(form: Any) -> dict[str, Any]:
            starts = form.getlist("start")
            ends = form.getlist("end")
            periods = [
                {"start": start.strip(), "end": (end or "").strip() or None}
                for start, end in zip(starts, ends, strict=False)
                if start.strip() or (end or "").strip()
            ]
            return {"periods": periods, **fields(form, "reason")}

        return await act(
            request, cooperative_id, "correction", "POST", "/membership-correction", body
        )

    @router.post("/cooperatives/{cooperative_id}/void", response_class=HTMLResponse)
    async def void_cooperative(request: Request, cooperative_id: str) -> Response:
        return await act(
            request, cooperative_id, "void", "POST", "/void",
            lambda form: {"reason": form_text(form, "reason")},
        )  # fmt: skip

    @router.post("/cooperatives/{cooperative_id}/restoration", response_class=HTMLResponse)
    async def restore_cooperative(request: Request, cooperative_id: str) -> Response:
        return await act(
            request, cooperative_id, "restoration", "POST", "/restoration",
            lambda form: fields(form, "reason"),
        )  # fmt: skip

    @router.get("/sectors", response_class=HTMLResponse)
    async def list_sectors(request: Request) -> Response:
        session = console.staff(request)
        return console.render(
            request, "sectors.html", session, sectors=await sectors(console, request, session)
        )

    @router.post("/sectors", response_class=HTMLResponse)
    async def define_sector(request: Request) -> Response:
        session, form = await console.form(request, WRITE)
        slug = form_text(form, "slug")
        answer = await console.call(
            request, session, "membership", "PUT", f"/v1/sectors/{slug or '-'}",
            json={"label": {"fr": form_text(form, "label_fr"), "en": form_text(form, "label_en")}},
        )  # fmt: skip
        if answer.ok:
            return redirect("/sectors")
        errors = {k.replace("label.", "label_"): v for k, v in answer.errors.items()}
        return console.render(
            request, "sectors.html", session, errors=errors,
            values=dict(form), sectors=await sectors(console, request, session),
        )  # fmt: skip

    return router
