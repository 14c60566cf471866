"""The OpenAPI of the edge: request bodies, problem answers, and what every route may answer."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from shared.openapi import complete_openapi
from shared.problems import PROBLEM_CONTENT_TYPE, TITLES

_PROBLEM_REF = "#/components/schemas/Problem"
_VALIDATION_PROBLEM_REF = "#/components/schemas/ValidationProblem"


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
    schema is not what the edge answers (`complete_openapi` puts the problem schemas in its
    place).
    """
    generate = app.openapi
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if completed:
            return completed[0]
        schema = generate()
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
