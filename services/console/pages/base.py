"""What every page shares: the signed-in staff member, rendering, forms and API calls."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from services.console.i18n import LANG_COOKIE, page_language, translator
from services.console.platform import Answer, Platform
from services.console.sessions import Sessions, StaffSession
from shared import vocabulary
from shared.calendar import QUEBEC_TIME_ZONE

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class Show(Protocol):
    """A page shown again after a refusal, with the refused form's errors and values."""

    def __call__(
        self,
        session: StaffSession,
        *,
        form_name: str,
        errors: dict[str, str],
        values: dict[str, Any],
    ) -> Awaitable[Response]: ...


class SignInRequiredError(Exception):
    """No live session: the staff member signs in, then comes back to `next`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class ForbiddenError(Exception):
    """The form or the action is refused: no CSRF token, or a scope the token lacks."""


@dataclass
class Console:
    """The console's parts, shared by its pages."""

    sessions: Sessions
    platform: Platform
    templates: Jinja2Templates = field(
        default_factory=lambda: Jinja2Templates(directory=str(TEMPLATES))
    )

    def staff(self, request: Request, back: str | None = None) -> StaffSession:
        """The signed-in staff member, or a redirection to the sign-in page."""
        session = self.sessions.find(request.cookies.get(Sessions.COOKIE))
        if session is None:
            raise SignInRequiredError(back or _here(request))
        return session

    async def form(
        self, request: Request, scope: str | None = None
    ) -> tuple[StaffSession, FormData]:
        """A posted form of a signed-in staff member: its CSRF token checked, its scope held."""
        form = await request.form()
        back = str(form.get("back") or "") or None
        session = self.staff(request, back if back and back.startswith("/") else None)
        if not session.csrf_matches(_text(form.get("csrf_token"))):
            raise ForbiddenError("csrf")
        if scope is not None and not session.can(scope):
            raise ForbiddenError(scope)
        return session, form

    async def call(
        self,
        request: Request,
        session: StaffSession,
        service: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        if_match: str | None = None,
    ) -> Answer:
        """Call a service as the staff member, in the page's language."""
        headers: dict[str, str] = {}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if if_match:
            headers["If-Match"] = f'"{if_match}"'
        return await self.platform.call(
            service,
            method,
            path,
            token=session.token,
            lang=page_language(request),
            json=json,
            params=params,
            headers=headers,
        )

    async def submit(
        self,
        request: Request,
        *,
        scope: str,
        service: str,
        method: str,
        path: str,
        body: Callable[[FormData], Any] | None,
        done: str | Callable[[Answer], str],
        show: Show,
        form_name: str,
        params: Callable[[FormData], dict[str, Any]] | None = None,
        unplaced: str | None = None,
    ) -> Response:
        """Post a form to a service: see the result (303), or the page again with the refusal.

        A POST carries the form's idempotency key (a double click records once), a change its
        `If-Match` version, a withdrawal its reason; a refusal shows next to its fields with
        what was typed kept. `done` may name the page from the answer (a new resource's own);
        `params` adds a query (a removal's date); `unplaced` names the field that a refusal
        naming none is shown beside (a form of one field).
        """
        session, form = await self.form(request, scope)
        query = {"reason": form_text(form, "reason")} if method == "DELETE" else {}
        if params is not None:
            query.update(params(form))
        answer = await self.call(
            request,
            session,
            service,
            method,
            path,
            json=body(form) if body is not None else None,
            params=query or None,
            idempotency_key=form_text(form, "idempotency_key") if method == "POST" else None,
            if_match=form_text(form, "version") or None,
        )
        if answer.ok:
            return redirect(done if isinstance(done, str) else done(answer))
        errors = answer.errors
        if unplaced and "" in errors:
            errors[unplaced] = errors.pop("")
        return await show(session, form_name=form_name, errors=errors, values=typed(form))

    def render(
        self,
        request: Request,
        template: str,
        session: StaffSession | None,
        *,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """A page in the staff member's language."""
        lang = page_language(request)
        response = self.templates.TemplateResponse(
            request,
            template,
            {
                "staff": session,
                "lang": lang,
                "_": translator(lang),
                "options": options(lang),
                "label": lambda labels, slug: vocabulary.label(labels, slug, lang),
                "day": lambda value: written_date(value, lang),
                "number": lambda value: written_number(value, lang),
                "v": vocabulary,
                "sector_choices": lambda sectors: sector_choices(sectors, lang),
                "choices": lambda items, key="id", text="name": [(i[key], i[text]) for i in items],
                "new_key": lambda: str(uuid.uuid4()),
                "here": _here(request),
                "errors": {},
                "values": {},
                **context,
            },
            status_code=status,
        )
        response.headers["Content-Language"] = lang
        if request.query_params.get("lang") in ("fr", "en"):
            response.set_cookie(LANG_COOKIE, lang, httponly=True, samesite="strict")
        return response


LOCALES = {"fr": "fr_CA", "en": "en_CA"}


def written_date(value: object, lang: str) -> str:
    """An ISO business date — or the Québec date of an RFC 3339 instant — as people read it in
    the page's language (`12 oct. 2023`, `Oct 12, 2023`); empty for none, anything else as is."""
    if not value:
        return ""
    text = str(value)
    try:
        if len(text) > 10:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            day = moment.astimezone(QUEBEC_TIME_ZONE).date()
        else:
            day = date.fromisoformat(text)
    except ValueError:
        return text
    return format_date(day, "medium", locale=LOCALES.get(lang, "fr_CA"))


def written_number(value: object, lang: str) -> str:
    """A count or a rate as people read it in the page's language (`1 000`, `1,000`,
    `0,912`); anything that is not a number as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    return format_decimal(value, locale=LOCALES.get(lang, "fr_CA"))


def options(lang: str) -> dict[str, list[tuple[str, str]]]:
    """The vocabularies as (slug, label) choices in the page's language."""
    words = vocabulary

    def choices(labels: vocabulary.Labels) -> list[tuple[str, str]]:
        return list(labels.get(lang, labels["fr"]).items())

    return {
        "regions": [(code, f"{code} – {name}") for code, name in words.REGION_NAMES.items()],
        "types": choices(words.ACTIVITY_TYPE_LABELS),
        "formats": choices(words.ACTIVITY_FORMAT_LABELS),
        "action_kinds": choices(words.ACTION_KIND_LABELS),
        "partner_kinds": choices(words.PARTNER_KIND_LABELS),
        "table_kinds": choices(words.TABLE_ACTION_KIND_LABELS),
    }


def sector_choices(sectors: list[Any], lang: str) -> list[tuple[str, str]]:
    """The sector list (as `GET /v1/sectors` answers it) as (slug, label) choices."""
    return [
        (sector["slug"], sector.get("label", {}).get(lang) or sector["slug"]) for sector in sectors
    ]


def redirect(path: str) -> RedirectResponse:
    """After a successful form: see the result (303, so a reload does not post again)."""
    return RedirectResponse(path, status_code=303)


def sign_in_redirect(next_path: str) -> Response:
    """To the sign-in page, coming back to `next_path` afterwards."""
    return RedirectResponse(f"/sign-in?next={quote(next_path)}", status_code=303)


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def fields(form: FormData, *names: str, numbers: tuple[str, ...] = ()) -> dict[str, Any]:
    """The named fields that were filled in (numbers as integers when they read as such)."""
    body: dict[str, Any] = {}
    for name in names:
        value = _text(form.get(name))
        if value is None or not value.strip():
            continue
        value = value.strip()
        if name in numbers:
            try:
                body[name] = int(value)
            except ValueError:
                body[name] = value
        else:
            body[name] = value
    return body


def typed(form: FormData) -> dict[str, Any]:
    """What was typed in a form, a field ticked many times (checkboxes) as its list."""
    values: dict[str, Any] = dict(form)
    for name in set(form.keys()):
        ticked = form.getlist(name)
        if len(ticked) > 1:
            values[name] = ticked
    return values


def ticked(form: FormData, name: str) -> list[str]:
    """The values of a field ticked many times (checkboxes)."""
    return [value for value in form.getlist(name) if isinstance(value, str) and value]


def form_text(form: FormData, name: str) -> str:
    """One field's text ("" when absent)."""
    return (_text(form.get(name)) or "").strip()
