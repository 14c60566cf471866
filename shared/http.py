"""The HTTP edge every service shares: auth, problem details, body limit, idempotency, paging.

A command route (`command_route`) checks the token, then parses the idempotency key, the body
and the path ids, so the order of checks is the contract's: 413 (the `BodyLimit` middleware),
then 401/403, then 422, then the use case's own answers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import hashlib
import hmac
import inspect
import json
import logging
import re
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError as EventStoreConflict
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.application import StaleVersionError
from shared.asyncapi import serve_asyncapi
from shared.i18n import LanguageHeaders, language_headers, negotiate, scope_language
from shared.logs import correlation_id, trace_parent
from shared.metrics import ServiceMetrics
from shared.openapi import ascii_title, complete_openapi, operation_id, package_version, serve_docs
from shared.persistence import (
    CommandContext,
    Database,
    IdempotencyRecord,
    idempotency_table,
    now,
)
from shared.problems import PROBLEM_CONTENT_TYPE, TITLES, Problem, invalid
from shared.settings import TokenTable
from shared.telemetry import current_traceparent, instrument_api

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
COMMAND_THREADS = 40  # commands in flight at once; concurrent saves share a store transaction
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
MAX_POSITION = 2**63 - 1  # the largest position a BIGINT column holds
ModelT = TypeVar("ModelT", bound=BaseModel)


def language(request: Request) -> str:
    """`en` when the client prefers English (`?lang=en` or Accept-Language), else `fr`."""
    return negotiate(request.headers.get("accept-language"), request.query_params.get("lang"))


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    """Render a Problem as application/problem+json, in the language the client prefers."""
    lang = language(request)
    return JSONResponse(
        problem.body(lang, instance=request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers={**problem.headers, **language_headers(lang)},
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic location as the contract names fields: `periods[1].end`."""
    field = ""
    for part in loc:
        if isinstance(part, int):
            field += f"[{part}]"
        elif part not in ("body", "path", "query", "header"):
            field += f".{part}" if field else str(part)
    return field


def validation_problem(errors: list[Any]) -> Problem:
    """A 422 listing pydantic's errors as `{field, message}`."""
    items = [{"field": _field(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in errors]
    detail = (
        "; ".join(f"{i['field'] or 'body'}: {i['message']}" for i in items) or "invalid request"
    )
    return Problem(422, detail, errors=items)


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


access_log = logging.getLogger("coop.access")
"""One line per request: method, route template, status, duration, client (never a header)."""

QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes, which would drown the access log."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin1"))
    return None


class RequestMetrics:
    """ASGI middleware: request durations, and commands (non-GET requests) by route and outcome."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._durations: dict[tuple[str, int], Any] = {}
        self._commands: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        trace_parent.set(_header(scope, b"traceparent"))

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            method = scope.get("method", "GET")
            elapsed = time.perf_counter() - started
            self._duration(method, status).observe(elapsed)
            route = getattr(scope.get("route"), "path", "unmatched")
            if method not in ("GET", "HEAD", "OPTIONS"):
                self._command(method, route, status).inc()
            if route not in QUIET_ROUTES:
                client = scope.get("client")
                access_log.log(
                    logging.WARNING if status in (401, 403, 429) else logging.INFO,
                    "%s %s %d",
                    method,
                    route,
                    status,
                    extra={
                        "fields": {
                            "method": method,
                            "route": route,
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 2),
                            "client": client[0] if client else None,
                        }
                    },
                )

    def _duration(self, method: str, status: int) -> Any:
        """The duration histogram of (method, status), looked up once."""
        key = (method, status)
        child = self._durations.get(key)
        if child is None:
            child = self._durations[key] = self.metrics.request_seconds.labels(method, str(status))
        return child

    def _command(self, method: str, route: str, status: int) -> Any:
        """The command counter of (method, route, status), looked up once."""
        key = (method, route, status)
        child = self._commands.get(key)
        if child is None:
            outcome = "ok" if status < 400 else "refused" if status < 500 else "error"
            child = self.metrics.commands.labels(f"{method} {route}", outcome)
            self._commands[key] = child
        return child


class FailedAuthLimiter:
    """Counts failed authentications per client address in a sliding window."""

    def __init__(self, limit: int = 30, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds until this client may try again (0 if it may now)."""
        with self._lock:
            failures = self._prune(client)
            if len(failures) < self.limit:
                return 0
            return max(1, int(failures[0] + self.window - time.monotonic()) + 1)

    def fail(self, client: str) -> None:
        """Record one failed attempt."""
        with self._lock:
            self._prune(client).append(time.monotonic())

    def _prune(self, client: str) -> deque[float]:
        failures = self._failures[client]
        horizon = time.monotonic() - self.window
        while failures and failures[0] < horizon:
            failures.popleft()
        return failures


@dataclass
class Edge:
    """What the shared HTTP dependencies need, kept on `app.state.edge`."""

    tokens: TokenTable
    database: Database
    metrics: ServiceMetrics
    limiter: FailedAuthLimiter
    secret: bytes = b""
    """This installation's HMAC key: idempotency records keep no plain digest of a request."""
    workers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(COMMAND_THREADS, thread_name_prefix="command")
    )
    """The threads commands run in (see `command_route`)."""


def edge_of(request: Request) -> Edge:
    """The service's Edge."""
    edge: Edge = request.app.state.edge
    return edge


BEARER_SCHEME = "bearerToken"


def token_scopes(edge: Edge, request: Request) -> frozenset[str] | None:
    """The scopes of the request's bearer token, or None when it has no known token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    presented = hashlib.sha256(token.strip().encode()).hexdigest()
    found = None
    for known, granted in edge.tokens.scopes_by_digest.items():
        if hmac.compare_digest(presented, known):
            found = granted
    return found


class WhoAmI(BaseModel):
    """What a token may do: its scopes."""

    model_config = ConfigDict(extra="forbid")

    scopes: list[str]


ANY_VALID_TOKEN = ""
"""The `require` scope of operations that any valid token may call (`GET /v1/whoami`)."""


class _ScopeCheck(SecurityBase):
    """The dependency `require` makes: a bearer-token scheme the OpenAPI shows with its scope."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.scheme_name = BEARER_SCHEME
        self.model = HTTPBearerModel(
            description="A token of COOP_API_TOKENS; the operation's security names its scope."
        )

    async def __call__(self, request: Request) -> None:
        scope = self.scope
        edge = edge_of(request)
        scopes = token_scopes(edge, request)
        if scopes is None:
            # The client address is the proxies' X-Forwarded-For client (COOP_TRUSTED_PROXIES,
            # applied by uvicorn). Only requests without a valid token are ever throttled.
            client = request.client.host if request.client else "unknown"
            wait = edge.limiter.retry_after(client)
            if wait:
                log.warning("authentication refused: too many failures from %s", client)
                raise Problem(
                    429, "too many failed authentications", headers={"Retry-After": str(wait)}
                )
            edge.limiter.fail(client)
            edge.metrics.auth_failures.inc()
            log.warning("authentication failed from %s: missing or unknown token", client)
            raise Problem(
                401,
                "a valid bearer token is required",
                headers={"WWW-Authenticate": 'Bearer realm="coop"'},
            )
        request.state.scopes = scopes
        if scope != ANY_VALID_TOKEN and scope not in scopes:
            log.warning("authorization refused: the token lacks the scope %s", scope)
            raise Problem(403, f"this token lacks the scope {scope!r}")


def require(scope: str) -> Any:
    """A route dependency: a bearer token that carries `scope` (401 without, 403 lacking it)."""
    return Security(_ScopeCheck(scope), scopes=[scope] if scope != ANY_VALID_TOKEN else [])


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


def body_schema(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """OpenAPI `requestBody` for a route whose body `json_body` parses.

    Nested models are inlined: the route's `openapi_extra` cannot add components, so a
    `$ref` to one would point nowhere.
    """
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    schema = _inline_refs(schema, definitions, ())
    return {
        "requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}
    }


def _inline_refs(node: Any, definitions: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline_refs(item, definitions, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in seen:
            raise ValueError(f"body_schema cannot inline the recursive model {name}")
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return _inline_refs({**definitions[name], **rest}, definitions, (*seen, name))
    return {key: _inline_refs(value, definitions, seen) for key, value in node.items()}


_PROBLEM_REF = "#/components/schemas/Problem"
_VALIDATION_PROBLEM_REF = "#/components/schemas/ValidationProblem"
PROBLEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "title": "Problem",
        "description": "RFC 9457 problem details (application/problem+json).",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
        },
    },
    "ValidationProblem": {
        "title": "ValidationProblem",
        "description": "A 422 problem: what was refused, field by field.",
        "allOf": [
            {"$ref": _PROBLEM_REF},
            {
                "type": "object",
                "required": ["errors"],
                "properties": {"status": {"const": 422}, "errors": {"minItems": 1}},
            },
        ],
    },
    "FieldError": {
        "title": "FieldError",
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` declaring problem+json answers with these statuses."""
    return {status: _problem_response(status) for status in statuses}


def answers(status: int, model: Any, *errors: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` of a route: its success document and the problems it answers."""
    return {status: {"model": model}, **problem_responses(*errors)}


def _problem_response(status: int) -> dict[str, Any]:
    ref = _VALIDATION_PROBLEM_REF if status == 422 else _PROBLEM_REF
    response: dict[str, Any] = {
        "description": TITLES.get(status, ("Erreur", "Error"))[1],
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": ref}}},
    }
    if status == 429:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before authenticating again.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        }
    return response


def document_edge(app: FastAPI) -> None:
    """Complete the app's OpenAPI with what the shared edge answers on every route.

    401/403/429 on the routes that need a token (their `security` names the scope), 413 and
    422 where a body is read, and every 422 as a validation problem: FastAPI's own 422
    schema is not what the edge answers.
    """
    generate = app.openapi
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if completed:
            return completed[0]
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        schemas.update(PROBLEM_SCHEMAS)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                _document_operation(operation)
        completed.append(complete_openapi(schema))
        return completed[0]

    app.openapi = openapi  # type: ignore[method-assign]


def _document_operation(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    statuses: list[int] = []
    if operation.get("security"):
        statuses += [401, 403, 429]
    if "requestBody" in operation:
        statuses += [413, 422]
    if operation.get("parameters"):
        statuses.append(422)
    if "application/json" in responses.get("422", {}).get("content", {}):
        del responses["422"]  # FastAPI's HTTPValidationError
    for status in statuses:
        responses.setdefault(str(status), _problem_response(status))


@dataclass
class IdempotentRequest:
    """A POST's `Idempotency-Key`, its request fingerprint and what was answered before."""

    database: Database
    key_hash: str
    fingerprint: str
    previous: IdempotencyRecord | None

    def record(self, status: int, resource: str) -> IdempotencyRecord:
        """The record to store in the same transaction as the command's events."""
        return IdempotencyRecord(self.key_hash, self.fingerprint, status, resource, now())

    def remember(self, status: int, resource: str) -> None:
        """Store the record of an answer that recorded no event."""
        row = self.record(status, resource)
        try:
            with self.database.writing() as conn:
                conn.execute(sa.insert(idempotency_table).values(**row.__dict__))
        except sa.exc.IntegrityError:
            pass  # a concurrent twin stored it first: same fingerprint, same outcome

    def stored(self) -> IdempotencyRecord | None:
        """The record as stored now (after a concurrent twin won the race)."""
        return _load_record(self.database, self.key_hash)


def _load_record(database: Database, key_hash: str) -> IdempotencyRecord | None:
    table = idempotency_table
    with database.reading() as conn:
        row = conn.execute(sa.select(table).where(table.c.key_hash == key_hash)).first()
    if row is None or row.created_at < now() - IDEMPOTENCY_TTL_SECONDS:
        return None
    return IdempotencyRecord(
        row.key_hash, row.fingerprint, row.status, row.resource, row.created_at
    )


def _expire(database: Database, key_hash: str) -> None:
    table = idempotency_table
    with database.writing() as conn:
        conn.execute(
            sa.delete(table).where(
                table.c.key_hash == key_hash,
                table.c.created_at < now() - IDEMPOTENCY_TTL_SECONDS,
            )
        )


def sweep_idempotency_records(database: Database) -> int:
    """Delete every idempotency record older than 24 h; returns how many went."""
    table = idempotency_table
    with database.writing(durable=False) as conn:
        result = conn.execute(
            sa.delete(table).where(table.c.created_at < now() - IDEMPOTENCY_TTL_SECONDS)
        )
    return int(result.rowcount or 0)


def idempotent_request(request: Request, raw: bytes) -> IdempotentRequest | None:
    """The request's `Idempotency-Key` with its fingerprint and earlier answer (None without).

    422 when the key is not 1 to 255 characters, or was used with another request.
    """
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is None:
        return None
    if not 1 <= len(idempotency_key) <= 255:
        raise invalid("Idempotency-Key", "must be 1 to 255 characters")
    database = edge_of(request).database
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):
        canonical = raw.decode("utf-8", "replace")
    secret = edge_of(request).secret
    fingerprint = hmac.new(
        secret, f"{request.method}\n{request.url.path}\n{canonical}".encode(), hashlib.sha256
    ).hexdigest()
    key_hash = hmac.new(secret, idempotency_key.encode(), hashlib.sha256).hexdigest()
    previous = _load_record(database, key_hash)
    if previous is None:
        _expire(database, key_hash)
    elif previous.fingerprint != fingerprint:
        raise invalid(
            "Idempotency-Key",
            "this key was used with another request",
            slug="idempotency-key-reused",
        )
    return IdempotentRequest(database, key_hash, fingerprint, previous)


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


def replayed(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """The answer to a repeated idempotent request."""
    return JSONResponse(
        body, status_code=status, headers={**(headers or {}), "Idempotent-Replayed": "true"}
    )


def etag(version: int) -> str:
    """The ETag of a resource at `version`."""
    return f'"{version}"'


def etag_header(body: dict[str, Any]) -> dict[str, str]:
    """The `ETag` header of a resource representation that carries its `version`."""
    return {"ETag": etag(body["version"])}


_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


def check_if_match(request: Request, version: int) -> None:
    """412 when `If-Match` names another version than the current one."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return
    candidates = [_ETAG.match(part) for part in header.split(",")]
    if not any(m and int(m.group(1)) == version for m in candidates):
        raise Problem(412, f"the resource is at version {version}", headers={"ETag": etag(version)})


@dataclass(frozen=True)
class PageRequest:
    """`limit` and the position after which a page starts."""

    limit: int
    after: int


def _page_request(
    limit: Annotated[str | None, Query()] = None, cursor: Annotated[str | None, Query()] = None
) -> PageRequest:
    size = 100
    if limit not in (None, ""):
        try:
            size = int(limit)
        except ValueError:
            raise invalid("limit", "must be a whole number from 1 to 1000") from None
        if not 1 <= size <= 1000:
            raise invalid("limit", "must be a whole number from 1 to 1000")
    after = 0
    if cursor:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            after = int(decoded["after"])
            if not 0 <= after <= MAX_POSITION:
                raise ValueError
        except (
            ValueError,
            TypeError,
            KeyError,
            OverflowError,
            RecursionError,
            binascii.Error,
            UnicodeDecodeError,
        ):
            raise invalid("cursor", "this cursor cannot be read") from None
    return PageRequest(size, after)


Paging = Annotated[PageRequest, Depends(_page_request)]

ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """A page of a list (for the OpenAPI): its items and the cursor of the next page."""

    model_config = ConfigDict(extra="forbid")

    items: list[ItemT]
    next_cursor: str | None


def page(items: list[Any], positions: list[int], limit: int) -> dict[str, Any]:
    """`{"items", "next_cursor"}` from up to limit+1 rows and their positions."""
    more = len(items) > limit
    items, positions = items[:limit], positions[:limit]
    cursor = None
    if more and positions:
        raw = json.dumps({"after": positions[-1]}).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {"items": items, "next_cursor": cursor}


def filter_value(value: str | None, field: str, allowed: Callable[[str], bool]) -> str | None:
    """An optional filter: empty means none; a value `allowed` refuses → 422."""
    if value is None or value == "":
        return None
    if not allowed(value):
        raise invalid(field, f"{value!r} is not a valid {field}")
    return value


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at the request's path (a 405's `Allow`, RFC 9110)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def create_api(
    *,
    title: str,
    edge: Edge,
    readiness: Callable[[], Awaitable[bool]],
    lifespan: Any = None,
) -> FastAPI:
    """A FastAPI app with the shared edge: handlers, body limit, health and metrics."""
    app = FastAPI(
        title=ascii_title(title),
        lifespan=lifespan,
        version=package_version(),
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.edge = edge
    serve_docs(app)
    serve_asyncapi(app, title.split()[-1])

    @app.exception_handler(Problem)
    async def on_problem(request: Request, problem: Problem) -> JSONResponse:
        return problem_response(request, problem)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, error: RequestValidationError) -> JSONResponse:
        return problem_response(request, validation_problem(list(error.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else "request refused"
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        problem = Problem(error.status_code, detail, headers=headers)
        return problem_response(request, problem)

    @app.exception_handler(StaleVersionError)
    async def on_stale(request: Request, error: StaleVersionError) -> JSONResponse:
        problem = Problem(412, str(error), headers={"ETag": etag(error.current)})
        return problem_response(request, problem)

    @app.exception_handler(Exception)
    async def on_error(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, Problem(500, "an internal error occurred"))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        ready = await readiness()
        return JSONResponse(
            {"status": "ready" if ready else "unavailable"}, status_code=200 if ready else 503
        )

    @app.get(
        "/v1/whoami",
        tags=["tokens"],
        dependencies=[require(ANY_VALID_TOKEN)],
        responses=answers(200, WhoAmI, 401, 429),
    )
    async def get_whoami(request: Request) -> dict[str, list[str]]:
        """The scopes of the token presented (any valid token): what it may do here."""
        return {"scopes": sorted(request.state.scopes)}

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        body, media_type = edge.metrics.exposition(request.headers.get("accept", ""))
        return Response(body, media_type=media_type)

    app.add_middleware(BodyLimit)
    app.add_middleware(LanguageHeaders)
    app.add_middleware(RequestMetrics, metrics=edge.metrics)
    instrument_api(app)
    document_edge(app)
    return app


BodyT = TypeVar("BodyT", bound=BaseModel)
_PATH_IDS = re.compile(r"{(\w+)}")
_UUID = TypeAdapter(uuid.UUID)
IDEMPOTENCY_HEADER = Header(
    alias="Idempotency-Key", json_schema_extra={"minLength": 1, "maxLength": 255}
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

    check: _ScopeCheck
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
        check = _ScopeCheck(scope)
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
