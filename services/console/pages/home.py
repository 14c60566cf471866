"""Signing in and out, and the home page."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.pages.base import Console, ForbiddenError, form_text, redirect
from services.console.sessions import Sessions

PRE_SESSION_COOKIE = "coop_sign_in"


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/"


def routes(console: Console) -> APIRouter:
    """The sign-in, sign-out and home pages."""
    router = APIRouter()

    @router.get("/sign-in", response_class=HTMLResponse)
    async def sign_in_page(request: Request, next: str = "/") -> Response:
        csrf = secrets.token_urlsafe(32)
        response = console.render(
            request, "sign_in.html", None, csrf=csrf, next_path=_safe_next(next)
        )
        response.set_cookie(
            PRE_SESSION_COOKIE,
            csrf,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/sign-in", response_class=HTMLResponse)
    async def sign_in(request: Request) -> Response:
        form = await request.form()
        expected = request.cookies.get(PRE_SESSION_COOKIE) or ""
        submitted = form_text(form, "csrf_token")
        if not expected or not secrets.compare_digest(expected, submitted):
            raise ForbiddenError("csrf")
        token = form_text(form, "token")
        next_path = _safe_next(form_text(form, "next") or "/")
        answer = await console.platform.call("membership", "GET", "/v1/whoami", token=token)
        if not token or answer.status != 200:
            csrf = secrets.token_urlsafe(32)
            response = console.render(
                request,
                "sign_in.html",
                None,
                csrf=csrf,
                next_path=next_path,
                errors={"token": "Ce jeton n'est pas reconnu."},
            )
            response.set_cookie(PRE_SESSION_COOKIE, csrf, httponly=True, samesite="strict")
            return response
        _session, cookie = console.sessions.open(token, list(answer.body.get("scopes", [])))
        signed_in = redirect(next_path)
        signed_in.set_cookie(
            Sessions.COOKIE,
            cookie,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        signed_in.delete_cookie(PRE_SESSION_COOKIE)
        return signed_in

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        session, _form = await console.form(request)
        console.sessions.close(session)
        response = redirect("/sign-in")
        response.delete_cookie(Sessions.COOKIE)
        return response

    @router.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        session = console.staff(request)
        return console.render(request, "home.html", session)

    return router
