"""Request bodies: the 1 MiB limit (413 before anything else), JSON objects parsed into models."""

from __future__ import annotations

import json
from typing import TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.fields import RequestBody
from shared.http.problems import validation_problem
from shared.i18n import language_headers, scope_language
from shared.problems import PROBLEM_CONTENT_TYPE, Problem, invalid

MAX_BODY_BYTES = 1024 * 1024
ModelT = TypeVar("ModelT", bound=BaseModel)


class BodyLimit:
    """ASGI middleware: bodies over 1 MiB get 413 before anything else looks at them."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_large = False
        if declared is not None:
            try:
                too_large = int(declared) > self.limit
            except ValueError:
                too_large = False
        chunks: list[bytes] = []
        if not too_large:
            size, more = 0, True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.limit:
                    too_large = True
                    break
                chunks.append(chunk)
                more = message.get("more_body", False)
        if too_large:
            problem = Problem(413, f"the request body exceeds {self.limit} bytes")
            lang = scope_language(scope)
            response = JSONResponse(
                problem.body(lang, instance=scope.get("path")),
                status_code=413,
                media_type=PROBLEM_CONTENT_TYPE,
                headers={"Connection": "close", **language_headers(lang)},
            )
            await response(scope, receive, send)
            return
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def parse_body(raw: bytes, model: type[ModelT], *, optional: bool = False) -> ModelT:
    """The body as a JSON object validated into `model`, or a 422 problem.

    With `optional`, an empty body stands for `{}` (every field of `model` being optional).
    """
    if optional and not raw.strip():
        return model()
    try:
        data = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise invalid("", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise invalid("", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_problem(list(error.errors(include_url=False))) from None


class Withdrawal(RequestBody):
    """A withdrawal (`DELETE`) has no body: its reason is the `reason` query parameter."""


def withdrawal_reason(request: Request) -> str | None:
    """The `reason` query parameter of a withdrawal (at most 500 characters)."""
    reason = request.query_params.get("reason") or None
    if reason is not None and (len(reason) > 500 or "\x00" in reason):
        raise invalid("reason", "reason is at most 500 characters, without NUL")
    return reason
