"""Command routes: declared once, checked in the contract's order, run once per idempotency key.

A command route (`command_route`) checks the token, then parses the idempotency key, the body
and the path ids, so the order of checks is the contract's: 413 (the `BodyLimit` middleware),
then 401/403, then 422, then the use case's own answers.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import re
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from eventsourcing.persistence import IntegrityError as EventStoreConflict
from fastapi import APIRouter, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.http.auth import ScopeCheck
from shared.http.body import parse_body
from shared.http.docs import body_schema
from shared.http.edge import edge_of
from shared.http.idempotency import (
    IDEMPOTENCY_HEADER,
    IdempotentRequest,
    idempotent_request,
    replayed,
)
from shared.http.problems import validation_problem
from shared.logs import correlation_id
from shared.persistence import CommandContext, IdempotencyRecord
from shared.problems import Problem
from shared.telemetry import current_traceparent

BodyT = TypeVar("BodyT", bound=BaseModel)
_PATH_IDS = re.compile(r"{(\w+)}")
_UUID = TypeAdapter(uuid.UUID)


def command_context(
    request: Request, idempotency: IdempotencyRecord | None = None
) -> CommandContext:
    """The context stored with a command's events: correlation id and trace."""
    given = request.headers.get("x-correlation-id", "")
    try:
        correlation = str(uuid.UUID(given))
    except ValueError:
        correlation = str(uuid.uuid4())
    correlation_id.set(correlation)
    return CommandContext(
        correlation_id=correlation, traceparent=current_traceparent(), idempotency=idempotency
    )


@dataclass(frozen=True)
class Command(Generic[BodyT]):
    """A command as its handler gets it: authorized, its body parsed, its idempotency looked up."""

    request: Request
    body: BodyT
    idempotency: IdempotentRequest | None


@dataclass(frozen=True)
class _CommandSpec:
    """How a command route answers: what `command_route` declared."""

    check: ScopeCheck
    model: type[BaseModel]
    optional_body: bool
    idempotent: bool
    ids: tuple[str, ...]
    handler: Callable[..., Response]

    async def handle(self, request: Request) -> Response:
        """Check the token, read the body, and run the rest in one worker thread."""
        await self.check(request)
        raw = await request.body()
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            edge_of(request).workers, context.run, self.run, request, raw
        )

    def run(self, request: Request, raw: bytes) -> Response:
        """In the contract's order: idempotency key, body, path ids; then the handler."""
        idempotency = idempotent_request(request, raw) if self.idempotent else None
        body = parse_body(raw, self.model, optional=self.optional_body)
        ids: dict[str, uuid.UUID] = {}
        errors: list[Any] = []
        for name in self.ids:
            try:
                ids[name] = _UUID.validate_python(request.path_params[name])
            except ValidationError as error:
                errors += [{**e, "loc": ("path", name, *e["loc"])} for e in error.errors()]
        if errors:
            raise validation_problem(errors)
        return self.handler(Command(request, body, idempotency), **ids)


class CommandRoute(APIRoute):
    """A route `command_route` declared: answered by its spec, not by dependency solving.

    FastAPI documents the operation from the endpoint's signature and the route's security
    dependency, as for any route; the spec does the same checks with less work per request.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The spec's handler."""
        spec: _CommandSpec = self.endpoint.command_spec  # type: ignore[attr-defined]
        return spec.handle


def command_route(
    router: APIRouter,
    path: str,
    *,
    scope: str,
    body: type[BaseModel],
    responses: dict[int | str, dict[str, Any]],
    method: str = "POST",
    status_code: int | None = None,
    optional_body: bool = False,
    idempotent: bool = True,
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Declare a command: bearer `scope`, a JSON `body`, `Idempotency-Key`, UUID path ids.

    The handler, `handler(command, **ids)`, runs in a worker thread once the request passed
    the contract's checks in order: 401/403, then 422 for the idempotency key, the body
    (an empty one is `{}` when `optional_body`) and the path ids.
    """

    def declare(handler: Callable[..., Response]) -> Callable[..., Response]:
        ids = tuple(_PATH_IDS.findall(path))
        check = ScopeCheck(scope)
        parameters = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=uuid.UUID)
            for name in ids
        ]
        if idempotent:
            parameters.append(
                inspect.Parameter(
                    "idempotency_key",
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[str | None, IDEMPOTENCY_HEADER],
                    default=None,
                )
            )

        def endpoint(**_: Any) -> Response:
            raise NotImplementedError("a CommandRoute answers with its command_spec")

        endpoint.__name__ = endpoint.__qualname__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            parameters, return_annotation=JSONResponse
        )
        endpoint.command_spec = _CommandSpec(  # type: ignore[attr-defined]
            check, body, optional_body, idempotent, ids, handler
        )
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            status_code=status_code,
            dependencies=[Security(check, scopes=[scope])],
            openapi_extra=body_schema(body, required=not optional_body),
            responses=responses,
            route_class_override=CommandRoute,
        )
        return handler

    return declare


def run_command(
    command: Command[Any],
    *,
    status: int,
    resource: str,
    execute: Callable[[CommandContext], Any],
    render: Callable[[str], dict[str, Any]],
    headers: Callable[[dict[str, Any]], dict[str, str]] | None = None,
    shown: Callable[[Any], dict[str, Any]] | None = None,
) -> JSONResponse:
    """Run a command once per idempotency key; answer with the resource as it is now.

    The idempotency record is stored in the same transaction as the command's events. A
    concurrent twin with the same key, or a concurrent change of the same aggregate, makes the
    store refuse the transaction: the first is answered as a replay, the second is retried.
    With `shown`, a fresh answer renders what `execute` returned (the aggregate it just saved)
    instead of reading the resource again; replays always read it.
    """
    request, idempotency = command.request, command.idempotency

    def respond(code: int, body: dict[str, Any], replay: bool) -> JSONResponse:
        extra = headers(body) if headers else {}
        if replay:
            return replayed(code, body, extra)
        return JSONResponse(body, status_code=code, headers=extra)

    if idempotency is not None and idempotency.previous is not None:
        previous = idempotency.previous
        return respond(previous.status, render(previous.resource), True)
    for _attempt in range(5):
        record = idempotency.record(status, resource) if idempotency else None
        try:
            result = execute(command_context(request, record))
        except EventStoreConflict:
            stored = idempotency.stored() if idempotency else None
            if stored is not None:
                return respond(stored.status, render(stored.resource), True)
            continue
        return respond(status, shown(result) if shown else render(resource), False)
    raise Problem(409, "the resource kept changing concurrently; retry the request")


def known_answer(
    command: Command[Any],
    holder: str,
    render: Callable[[str], dict[str, Any]],
    headers: Callable[[dict[str, Any]], dict[str, str]],
) -> JSONResponse:
    """200 with the record that already holds the command's reference, as it is now.

    Nothing is recorded; the idempotency key remembers the answer. When a concurrent twin
    with the same key won the race, its answer is replayed instead.
    """
    idempotency = command.idempotency
    stored = idempotency.stored() if idempotency else None
    if stored is not None:
        doc = render(stored.resource)
        return replayed(stored.status, doc, headers(doc))
    if idempotency is not None:
        idempotency.remember(200, holder)
    doc = render(holder)
    return JSONResponse(doc, status_code=200, headers=headers(doc))
