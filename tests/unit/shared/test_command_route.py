"""Command routes: documented like any FastAPI route, checked in the contract's order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header
from fastapi.responses import JSONResponse

from shared.fields import PositiveInt, RequestBody
from shared.http import (
    Command,
    Edge,
    FailedAuthLimiter,
    answers,
    body_schema,
    command_route,
    create_api,
    parse_body,
    require,
    run_command,
)
from shared.metrics import ServiceMetrics
from shared.persistence import Database
from shared.problems import Problem
from shared.settings import TokenTable, digest

TOKENS = TokenTable(
    {digest("writer"): frozenset({"things:write"}), digest("reader"): frozenset({"read"})}
)
WRITER = {"Authorization": "Bearer writer"}
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", json_schema_extra={"minLength": 1, "maxLength": 255}),
]


class Count(RequestBody):
    """Body of the test command."""

    count: PositiveInt


class Note(RequestBody):
    """An optional body."""

    note: str | None = None


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'edge.db'}", app_name="edge")
    db.create_tables()
    yield db
    db.dispose()


def _api(database: Database, router: APIRouter) -> FastAPI:
    async def ready() -> bool:
        return True

    edge = Edge(TOKENS, database, ServiceMetrics("test"), FailedAuthLimiter())
    api = create_api(title="test", edge=edge, readiness=ready)
    api.include_router(router)
    return api


def _commands() -> tuple[APIRouter, list[dict[str, Any]]]:
    router = APIRouter(prefix="/v1/things")
    seen: list[dict[str, Any]] = []

    @command_route(
        router,
        "/{thing_id}/counts",
        scope="things:write",
        body=Count,
        status_code=201,
        responses=answers(201, Count, 404),
    )
    def count_thing(command: Command[Count], thing_id: UUID) -> JSONResponse:
        return run_command(
            command,
            status=201,
            resource=str(thing_id),
            execute=lambda context: _execute(command, thing_id, seen),
            render=lambda ref: {"count": len(seen)},
            shown=lambda result: result,
        )

    @command_route(
        router,
        "/{thing_id}/notes",
        method="PATCH",
        scope="things:write",
        body=Note,
        optional_body=True,
        idempotent=False,
        responses=answers(200, Note, 404),
    )
    def note_thing(command: Command[Note], thing_id: UUID) -> JSONResponse:
        return JSONResponse({"note": command.body.note, "idempotent": command.idempotency})

    return router, seen


def _execute(command: Command[Count], thing_id: UUID, seen: list[Any]) -> dict[str, int]:
    """A use case: counts its runs and keeps the idempotency record with its answer."""
    seen.append({"thing_id": thing_id, "count": command.body.count})
    if command.idempotency is not None:
        command.idempotency.remember(201, str(thing_id))
    return {"count": command.body.count}


def _declared(database: Database) -> FastAPI:
    """The same operations, declared with FastAPI's dependencies as the routes used to be."""
    router = APIRouter(prefix="/v1/things")

    async def idempotency(idempotency_key: IdempotencyKey = None) -> None:
        return None

    async def nothing() -> None:
        return None

    @router.post(
        "/{thing_id}/counts",
        status_code=201,
        dependencies=[require("things:write")],
        openapi_extra=body_schema(Count),
        responses=answers(201, Count, 404),
    )
    def count_thing(
        thing_id: UUID, _idem: None = Depends(idempotency), _body: None = Depends(nothing)
    ) -> JSONResponse:
        raise NotImplementedError

    @router.patch(
        "/{thing_id}/notes",
        dependencies=[require("things:write")],
        openapi_extra=body_schema(Note, required=False),
        responses=answers(200, Note, 404),
    )
    def note_thing(thing_id: UUID, _body: None = Depends(nothing)) -> JSONResponse:
        raise NotImplementedError

    return _api(database, router)


@pytest.fixture
async def client(database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, list[Any]]]:
    router, seen = _commands()
    transport = httpx.ASGITransport(app=_api(database, router))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http, seen


def _errors(response: httpx.Response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def test_a_command_route_documents_what_dependencies_would(database: Database) -> None:
    router, _ = _commands()
    ours = _api(database, router).openapi()["paths"]
    theirs = _declared(database).openapi()["paths"]
    assert ours == theirs
    operation = ours["/v1/things/{thing_id}/counts"]["post"]
    assert operation["security"] == [{"bearerToken": ["things:write"]}]
    assert [p["name"] for p in operation["parameters"]] == ["thing_id", "Idempotency-Key"]
    assert operation["requestBody"]["required"] is True


async def test_a_command_answers_from_its_handler_in_a_worker_thread(
    client: tuple[httpx.AsyncClient, list[Any]],
) -> None:
    http, seen = client
    thing = uuid4()
    response = await http.post(f"/v1/things/{thing}/counts", json={"count": 3}, headers=WRITER)
    assert response.status_code == 201
    assert response.json() == {"count": 3}
    assert seen == [{"thing_id": thing, "count": 3}]


async def test_the_token_is_checked_before_anything_else(
    client: tuple[httpx.AsyncClient, list[Any]],
) -> None:
    http, seen = client
    bad = {"Idempotency-Key": ""}
    anonymous = await http.post("/v1/things/x/counts", content=b"[", headers=bad)
    reader = await http.post(
        "/v1/things/x/counts", content=b"[", headers={**bad, "Authorization": "Bearer reader"}
    )
    assert (anonymous.status_code, reader.status_code) == (401, 403)
    assert seen == []


async def test_then_the_idempotency_key_then_the_body_then_the_path_ids(
    client: tuple[httpx.AsyncClient, list[Any]],
) -> None:
    http, seen = client
    url = "/v1/things/not-a-uuid/counts"
    key = await http.post(url, content=b"[", headers={**WRITER, "Idempotency-Key": ""})
    body = await http.post(url, json={"count": 0}, headers=WRITER)
    path = await http.post(url, json={"count": 1}, headers=WRITER)
    assert [r.status_code for r in (key, body, path)] == [422, 422, 422]
    assert (_errors(key), _errors(body), _errors(path)) == (
        ["Idempotency-Key"],
        ["count"],
        ["thing_id"],
    )
    assert seen == []


async def test_a_repeated_key_replays_and_another_body_with_it_is_refused(
    client: tuple[httpx.AsyncClient, list[Any]],
) -> None:
    http, seen = client
    thing = uuid4()
    url, headers = f"/v1/things/{thing}/counts", {**WRITER, "Idempotency-Key": "k-1"}
    first = await http.post(url, json={"count": 2}, headers=headers)
    again = await http.post(url, json={"count": 2}, headers=headers)
    other = await http.post(url, json={"count": 5}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert seen == [{"thing_id": thing, "count": 2}]


async def test_an_optional_body_may_be_empty_and_a_route_may_ignore_keys(
    client: tuple[httpx.AsyncClient, list[Any]],
) -> None:
    http, _ = client
    url = f"/v1/things/{uuid4()}/notes"
    empty = await http.patch(url, headers={**WRITER, "Idempotency-Key": "ignored"})
    given = await http.patch(url, json={"note": "hi"}, headers=WRITER)
    assert empty.json() == {"note": None, "idempotent": None}
    assert given.json() == {"note": "hi", "idempotent": None}


def test_parse_body_refuses_what_is_not_a_json_object() -> None:
    for raw in (b"", b"[1]", b"{", b"\xff"):
        with pytest.raises(Problem, match="body"):
            parse_body(raw, Count)
    assert parse_body(b" ", Note, optional=True) == Note()
