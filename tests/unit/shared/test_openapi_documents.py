"""Every service's OpenAPI is ready for client generators (contract §15), and /docs is offline."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from importlib import metadata
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.registry import apis, builder
from shared.openapi import VOCABULARIES
from shared.settings import ServiceSettings


def built_api(service: str) -> Iterator[FastAPI]:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = ServiceSettings.from_env(service, {"COOP_DATA_DIR": data_dir})
        built = builder(service)(settings)
        assert built.api is not None
        try:
            yield built.api
        finally:
            for close in built.closers:
                close()
            built.database.dispose()


@pytest.fixture(scope="module", params=apis())
def api(request: pytest.FixtureRequest) -> Iterator[FastAPI]:
    yield from built_api(request.param)


@pytest.fixture(scope="module")
def document(api: FastAPI) -> dict[str, Any]:
    return api.openapi()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_title_is_ascii_and_the_version_is_the_package_version(
    document: dict[str, Any],
) -> None:
    title = document["info"]["title"]

    assert title.isascii() and re.fullmatch(r"Reseau COOP [a-z]+ API", title)
    assert document["info"]["version"] == metadata.version("reseau-coop")


def test_every_operation_id_is_its_endpoint_function_name_in_snake_case(
    document: dict[str, Any],
) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]

    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", i) for i in ids), ids
    assert any(i.startswith(("list_", "get_")) for i in ids)  # verbs of reading, as named


def test_every_error_answer_is_a_named_problem_schema(document: dict[str, Any]) -> None:
    for _, _, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = response["content"]["application/problem+json"]["schema"]
            expected = "ValidationProblem" if status == "422" else "Problem"
            assert schema == {"$ref": f"#/components/schemas/{expected}"}
    schemas = document["components"]["schemas"]
    assert "errors" in schemas["ValidationProblem"]["required"]
    assert "HTTPValidationError" not in schemas


def test_every_documented_answer_has_a_schema(document: dict[str, Any]) -> None:
    for _, _, operation in operations(document):
        for status, response in operation["responses"].items():
            for content in response.get("content", {}).values():
                assert "schema" in content, status


def test_the_shared_vocabularies_are_named_components_never_repeated_inline(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    vocabularies = {frozenset(member.value for member in enum) for enum in VOCABULARIES.values()}

    def inline_enums(node: Any) -> Iterator[frozenset[str]]:
        if isinstance(node, dict):
            if isinstance(node.get("enum"), list):
                yield frozenset(node["enum"])
            for value in node.values():
                yield from inline_enums(value)
        elif isinstance(node, list):
            for item in node:
                yield from inline_enums(item)

    for name, enum in VOCABULARIES.items():
        assert schemas[name]["enum"] == [member.value for member in enum]
    outside = {k: v for k, v in schemas.items() if k not in VOCABULARIES}
    assert not [e for e in inline_enums([document["paths"], outside]) if e in vocabularies]


def test_query_parameters_carry_their_types(document: dict[str, Any]) -> None:
    expected = {
        "limit": {"type": "integer"},
        "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
        "as_of": {"type": "string", "format": "date"},
        "as_recorded": {"type": "string", "format": "date-time"},
        "region": {"$ref": "#/components/schemas/Region"},
        "type": {"$ref": "#/components/schemas/ActivityType"},
        "format": {"$ref": "#/components/schemas/ActivityFormat"},
    }
    for _, _, operation in operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            schema = parameter["schema"]
            assert "anyOf" not in schema, parameter
            assert expected.get(parameter["name"], schema).items() <= schema.items(), parameter


def test_the_headers_of_commands_and_answers_are_declared(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        parameters = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        responses = operation["responses"]
        if "Idempotency-Key" in parameters:
            assert parameters["Idempotency-Key"]["schema"] == {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
            }
        if method == "post" and path.startswith("/v1/") and "security" in operation:
            assert "Idempotency-Key" in parameters or "rebuild" in path, path
        if "412" in responses:
            assert "If-Match" in parameters, path
            assert "ETag" in responses["412"]["headers"]
        for status, response in responses.items():
            headers = response.get("headers", {})
            if status == "201":
                assert "Location" in headers, path
            if status.startswith("2") and "Idempotency-Key" in parameters:
                assert "Idempotent-Replayed" in headers, path
            if status == "429":
                assert "Retry-After" in headers, path


def test_a_single_resource_answer_declares_its_etag(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for _, _, operation in operations(document):
        for status, response in operation["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            name = schema.get("$ref", "").rpartition("/")[2]
            if status.startswith("2") and "version" in schemas.get(name, {}).get("properties", {}):
                assert "ETag" in response["headers"], operation["operationId"]


def test_docs_are_served_with_local_assets_only(api: FastAPI) -> None:
    client = TestClient(api)

    page = client.get("/docs")

    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(
        r"url: '([^']+)'", page.text
    )
    assert sources and all(source.startswith("/") for source in sources), sources
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert asset.content
    assert client.get("/docs/assets/../../pyproject.toml").status_code == 404


def test_a_list_filter_takes_the_values_of_the_listed_field() -> None:
    for api in built_api("membership"):
        operation = api.openapi()["paths"]["/v1/cooperatives"]["get"]
        status = next(p for p in operation["parameters"] if p["name"] == "status")
        assert status["schema"] == {"type": "string", "enum": ["active", "left", "voided"]}
        assert status["allowEmptyValue"] is True


def test_a_table_members_left_on_is_a_required_date() -> None:
    for api in built_api("partnerships"):
        operation = api.openapi()["paths"]["/v1/sector-tables/{table_id}/members/{cooperative_id}"]
        (left_on,) = [p for p in operation["delete"]["parameters"] if p["name"] == "left_on"]
        assert left_on["required"] is True
        assert left_on["schema"] == {"type": "string", "format": "date"}
        assert "allowEmptyValue" not in left_on
