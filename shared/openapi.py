"""Client-ready OpenAPI documents (contract §15), completed in one place for every service.

FastAPI describes each route from its signature; `complete_openapi` then makes the document
what client generators need, whatever routes a service declares: the shared vocabularies and
the problem schemas as named components, query parameters typed from one table of names,
`Idempotency-Key` and `If-Match` declared, the `ETag`, `Location`, `Idempotent-Replayed` and
`Retry-After` headers of the answers, request bodies as named components, an ASCII title and
the package's version.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import unicodedata
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import vocabulary

PACKAGE = "reseau-coop"
COMPONENTS = "#/components/schemas/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

VOCABULARIES: dict[str, type[StrEnum]] = {
    "Region": vocabulary.Region,
    "ActivityType": vocabulary.ActivityType,
    "ActivityFormat": vocabulary.ActivityFormat,
    "ActionKind": vocabulary.ActionKind,
    "PartnerKind": vocabulary.PartnerKind,
    "Sector": vocabulary.Sector,
    "TableActionKind": vocabulary.TableActionKind,
}
"""The shared vocabularies, each a named component; an inline enum of the same values is one."""


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": COMPONENTS + name}


DATE = {"type": "string", "format": "date"}
SLUG_PATTERN = "^[a-z0-9]+([-_][a-z0-9]+)*$"
QUERY_PARAMETERS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "limit": [("", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100})],
    "cursor": [("", {"type": "string"})],
    "from": [("", DATE)],
    "to": [("", DATE)],
    "as_of": [("", DATE)],
    "left_on": [("", DATE)],
    "as_recorded": [("", {"type": "string", "format": "date-time"})],
    "region": [("", _ref("Region"))],
    "type": [("", _ref("ActivityType"))],
    "format": [("", _ref("ActivityFormat"))],
    # Open: staff add sectors (`SectorDefined`) and older slugs stay valid; `Sector` lists the
    # built-in ones.
    "sector": [("", {"type": "string", "maxLength": 100, "pattern": SLUG_PATTERN})],
    "kind": [
        ("/v1/partners", _ref("PartnerKind")),
        ("/v1/sector-tables", _ref("TableActionKind")),
        ("", _ref("ActionKind")),
    ],
    "lang": [("", {"type": "string", "enum": ["fr", "en"]})],
    "view": [("", {"type": "string", "enum": ["live", "stored"]})],
    "open": [("", {"type": "boolean"})],
    "external_ref": [("", {"type": "string", "minLength": 1, "maxLength": 200})],
    "cooperative_id": [("", {"type": "string", "format": "uuid"})],
    "activity_id": [("", {"type": "string", "format": "uuid"})],
    "partner_id": [("", {"type": "string", "format": "uuid"})],
}
"""Query parameter name → its schema, by path prefix (the first prefix that matches)."""

HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": 'The version of the resource, `"<version>"`: send it back as If-Match.',
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    },
    "Location": {
        "description": "The path of the resource just created.",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the answer to an earlier request with the same key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "Content-Language": {
        "description": "The language of the problem's title, detail and messages.",
        "schema": {"type": "string", "enum": ["fr", "en"]},
    },
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retried POST answer as the first did, recording nothing new.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'The ETag (`"<version>"`) the change was made from; another version → 412.',
    "schema": {"type": "string"},
}

_PROBLEM_REQUIRED = ["type", "title", "status", "detail"]
_PROBLEM_PROPERTIES: dict[str, Any] = {
    "type": {"type": "string", "format": "uri"},
    "title": {"type": "string"},
    "status": {"type": "integer"},
    "detail": {"type": "string"},
    "instance": {"type": "string"},
}
PROBLEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "FieldError": {
        "title": "FieldError",
        "description": "One refused field: its name (`name`, `periods[1].end`, `limit`).",
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
    "Problem": {
        "title": "Problem",
        "description": "RFC 9457 problem details (application/problem+json).",
        "type": "object",
        "required": _PROBLEM_REQUIRED,
        "properties": _PROBLEM_PROPERTIES,
    },
    "ValidationProblem": {
        "title": "ValidationProblem",
        "description": "A 422 problem: what was refused, field by field.",
        "type": "object",
        "required": [*_PROBLEM_REQUIRED, "errors"],
        "properties": {
            **_PROBLEM_PROPERTIES,
            "errors": {"type": "array", "minItems": 1, "items": _ref("FieldError")},
        },
    },
}


def package_version() -> str:
    """The installed package's version (the OpenAPI's and AsyncAPI's `info.version`)."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "0.0.0"


def ascii_title(title: str) -> str:
    """`Réseau COOP — membership` → `Reseau COOP membership API`."""
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^A-Za-z0-9 ._-]+", " ", plain).split()
    if not words or words[-1] != "API":
        words.append("API")
    return " ".join(words)


def vocabulary_schema(name: str, enum: type[StrEnum]) -> dict[str, Any]:
    """A vocabulary as a named string enum, its French labels as the values' descriptions."""
    constant = re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()
    labels = getattr(vocabulary, f"{constant}_LABELS", None)
    schema: dict[str, Any] = {
        "title": name,
        "description": (enum.__doc__ or name).strip(),
        "type": "string",
        "enum": [member.value for member in enum],
        "x-enum-varnames": [member.name for member in enum],
    }
    if isinstance(labels, dict) and isinstance(labels.get("fr"), dict):
        schema["x-labels"] = labels
    return schema


def complete_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """The document made ready for client generators (see the module's docstring)."""
    info = schema.setdefault("info", {})
    info["title"] = ascii_title(info.get("title", "Reseau COOP"))
    info["version"] = package_version()
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(copy.deepcopy(PROBLEM_SCHEMAS))
    for name, enum in VOCABULARIES.items():
        schemas[name] = vocabulary_schema(name, enum)
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                _complete_operation(path, operation, schemas)
    by_values = {frozenset(schemas[name]["enum"]): name for name in VOCABULARIES}
    _name_vocabularies(schema, by_values)
    return schema


def _complete_operation(path: str, operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    for index, parameter in enumerate(parameters):
        if parameter.get("in") == "query":
            typed = _query_schema(path, parameter["name"]) or _listed_enum(
                parameter["name"], responses, schemas
            )
            if typed is not None:
                parameter["schema"] = copy.deepcopy(typed)
                if not parameter.get("required"):
                    parameter["allowEmptyValue"] = True  # an empty filter is no filter (§1)
            else:
                parameter["schema"] = _not_null(parameter.get("schema", {}))
        elif parameter.get("in") == "header" and parameter["name"].lower() == "idempotency-key":
            parameters[index] = copy.deepcopy(IDEMPOTENCY_KEY)
    names = {p["name"].lower() for p in parameters}
    if "412" in responses and "if-match" not in names:
        parameters.append(copy.deepcopy(IF_MATCH))
    idempotent = "idempotency-key" in names
    for status, response in responses.items():
        code = int(status) if status.isdigit() else 0
        headers = response.setdefault("headers", {})
        if code >= 400:
            ref = "ValidationProblem" if code == 422 else "Problem"
            response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": _ref(ref)}}
            headers["Content-Language"] = copy.deepcopy(HEADERS["Content-Language"])
            if code == 412:
                headers["ETag"] = copy.deepcopy(HEADERS["ETag"])
            if code in (429, 503):
                headers["Retry-After"] = copy.deepcopy(HEADERS["Retry-After"])
        elif 200 <= code < 300:
            if code == 201:
                headers["Location"] = copy.deepcopy(HEADERS["Location"])
            if idempotent:
                headers["Idempotent-Replayed"] = copy.deepcopy(HEADERS["Idempotent-Replayed"])
            if _has_version(response, schemas):
                headers["ETag"] = copy.deepcopy(HEADERS["ETag"])
        if not headers:
            del response["headers"]
    _name_request_body(operation, schemas)


def _listed_enum(
    name: str, responses: dict[str, Any], schemas: dict[str, Any]
) -> dict[str, Any] | None:
    """A list filter's values: the enum of the same-named field of the listed items, if any.

    `GET /v1/cooperatives?status=` filters on the cooperatives' `status`, whose values the
    `Cooperative` schema lists; the filter takes the same values.
    """
    content = responses.get("200", {}).get("content", {}).get("application/json", {})
    page = _resolved(content.get("schema", {}), schemas)
    items = _resolved(page.get("properties", {}).get("items", {}).get("items", {}), schemas)
    field = items.get("properties", {}).get(name, {})
    if isinstance(field.get("enum"), list) and all(isinstance(v, str) for v in field["enum"]):
        return {"type": "string", "enum": list(field["enum"])}
    return None


def _resolved(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if isinstance(ref, str) and ref.startswith(COMPONENTS):
        found: dict[str, Any] = schemas.get(ref.removeprefix(COMPONENTS), {})
        return found
    return schema


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without FastAPI's `null` branch (a query value is never null)."""
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "title")}
    return {**branches[0], **rest}


def _query_schema(path: str, name: str) -> dict[str, Any] | None:
    for prefix, typed in QUERY_PARAMETERS.get(name, []):
        if path.startswith(prefix):
            return typed
    return None


def _has_version(response: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """True when the answer is one resource's representation (it carries `version`)."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith(COMPONENTS):
        schema = schemas.get(ref.removeprefix(COMPONENTS), {})
    return "version" in schema.get("properties", {})


def _name_request_body(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A body schema with a title becomes the named component of that title."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not content or "$ref" in content.get("schema", {}):
        return
    body = content["schema"]
    title = body.get("title")
    if not isinstance(title, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", title):
        return
    if title in schemas and schemas[title] != body:
        return
    schemas[title] = body
    content["schema"] = _ref(title)


def _name_vocabularies(
    node: Any, by_values: dict[frozenset[str], str], keep: set[int] | None = None
) -> Any:
    """Replace every inline enum whose values are a vocabulary's by a `$ref` to it."""
    if keep is None:
        schemas = node.get("components", {}).get("schemas", {})
        keep = {id(schemas[name]) for name in VOCABULARIES if name in schemas}
    if isinstance(node, list):
        return [_name_vocabularies(item, by_values, keep) for item in node]
    if not isinstance(node, dict) or id(node) in keep:
        return node
    for key, value in list(node.items()):
        node[key] = _name_vocabularies(value, by_values, keep)
    enum = node.get("enum")
    if isinstance(enum, list) and all(isinstance(value, str) for value in enum):
        name = by_values.get(frozenset(enum))
        if name is not None:
            kept = {k: v for k, v in node.items() if k in ("description", "default")}
            return {**_ref(name), **kept}
    return node


def operation_id(route: Any) -> str:
    """A route's operationId: its endpoint function's name (`create_cooperative`)."""
    return str(route.name)


DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
"""The Swagger UI files `/docs` loads, served from the `swagger-ui-py` package (no CDN)."""


def swagger_ui_static() -> Path:
    """The directory of Swagger UI's distribution files in the installed `swagger_ui` package."""
    spec = importlib.util.find_spec("swagger_ui")
    assert spec is not None and spec.origin is not None, "swagger-ui-py is not installed"
    return Path(spec.origin).parent / "static"


def serve_docs(app: FastAPI) -> None:
    """`GET /docs`: Swagger UI over the service's `/openapi.json`, its assets served here."""
    static = swagger_ui_static()

    @app.get("/docs", include_in_schema=False)
    async def show_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=ascii_title(app.title).removesuffix(" API") + " API documentation",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def show_docs_asset(name: str) -> Response:
        media_type = DOCS_ASSETS.get(name)
        if media_type is None:
            raise StarletteHTTPException(404, "Not Found")
        return FileResponse(
            static / name,
            media_type=media_type,
            headers={"Cache-Control": "public, max-age=86400"},
        )
