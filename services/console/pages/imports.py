"""Imports: upload a file, read the check, confirm (contract §13 through the console)."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from services.console.i18n import page_language
from services.console.pages.base import Console, form_text
from services.importer.kinds import KINDS
from services.importer.run import Endpoints, check_file, record_rows


def routes(console: Console) -> APIRouter:
    """The import pages."""
    router = APIRouter()

    def endpoints(token: str) -> Endpoints:
        settings = console.platform.settings
        urls = {name: settings.service_url(name) for name in ("membership", "events",
                "ambassadors", "partnerships")}  # fmt: skip
        return Endpoints(urls, token)

    @router.get("/import", response_class=HTMLResponse)
    async def import_page(request: Request) -> Response:
        return console.render(request, "import.html", console.staff(request), kinds=list(KINDS))

    @router.post("/import", response_class=HTMLResponse)
    async def check_import(request: Request) -> Response:
        session, form = await console.form(request)
        kind = form_text(form, "kind")
        upload = form.get("file")
        encoded = form_text(form, "data")
        if kind not in KINDS:
            return console.render(
                request, "import.html", session, kinds=list(KINDS),
                errors={"kind": "Choisissez le type d'import."}, values=dict(form),
            )  # fmt: skip
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read()
        elif encoded:
            data = base64.b64decode(encoded)
        else:
            return console.render(
                request, "import.html", session, kinds=list(KINDS),
                errors={"file": "Choisissez un fichier CSV."}, values=dict(form),
            )  # fmt: skip
        target = endpoints(session.token)
        async with target.client(page_language(request)) as client:
            check = await check_file(kind, data, target, client)
            summary = None
            if check.clean and form_text(form, "confirm") == "yes":
                summary = await record_rows(check, target, client)
        return console.render(
            request,
            "import.html",
            session,
            kinds=list(KINDS),
            kind=kind,
            check=check,
            summary=summary,
            data=base64.b64encode(data).decode() if summary is None else "",
            values=dict(form),
        )

    return router
