"""Arbitrary JSON (and bytes that are not JSON) sent to every POST and PATCH of every service.

Whatever the body, a service never answers 5xx, and whatever it refuses is problem+json with
type/title/status/detail (and `errors` on a 422).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.platform import ADMIN, SERVICES, Platform

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("COOP_FUZZ_JSON_EXAMPLES", "300"))

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and infinities included: Python's json writes and reads them
    | st.text()
    | st.sampled_from(["", "2023-10-12", "0000-00-00", "9999-12-31", "01", "\x00", "é" * 600])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)


def _known_fields(operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    return sorted(schema.get("properties", {}))


def _writes(document: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(method, path template, known body fields) of every POST and PATCH."""
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "patch"):
                found.append((method.upper(), path, _known_fields(operation)))
    return sorted(found)


def _bodies(fields: list[str]) -> st.SearchStrategy[bytes]:
    """Arbitrary JSON; objects made of the route's own fields; bytes that are not JSON."""
    keys = st.sampled_from(fields) | st.text(max_size=12) if fields else st.text(max_size=12)
    shaped = st.dictionaries(keys, json_values, max_size=len(fields) + 2)
    as_json = (json_values | shaped).map(lambda value: json.dumps(value).encode())
    return as_json | st.binary(max_size=200)


_PARAMETER = re.compile(r"\{(\w+)\}")
_RECORD = {
    "cooperative_id": "cooperative",
    "activity_id": "activity",
    "ambassador_id": "ambassador",
}


def _path(platform: Platform, template: str, data: st.DataObject) -> str:
    def fill(match: re.Match[str]) -> str:
        seeded = platform.seeded.get(_RECORD.get(match.group(1), ""), [])
        choices = [*seeded, str(uuid.uuid4())] if seeded else [str(uuid.uuid4())]
        chosen: str = data.draw(st.sampled_from(choices), label=match.group(1))
        return chosen

    return _PARAMETER.sub(fill, template)


def assert_refused_as_a_problem(response: httpx.Response) -> None:
    """Not a 5xx; when not 2xx, a problem document."""
    assert response.status_code < 500, response.text
    if response.status_code < 400:
        return
    assert response.headers["content-type"].startswith("application/problem+json"), response
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem), problem
    assert problem["status"] == response.status_code, problem
    if response.status_code == 422:
        assert problem["errors"] and all({"field", "message"} <= set(e) for e in problem["errors"])


@pytest.mark.parametrize("service", SERVICES)
def test_every_post_and_patch_refuses_arbitrary_json_with_a_problem_never_a_5xx(
    platform: Platform, service: str
) -> None:
    writes = _writes(platform.openapi(service))
    assert writes, f"{service} has no POST or PATCH"
    strategies = {(method, path): _bodies(fields) for method, path, fields in writes}
    with platform.client(service) as http:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(data=st.data())
        def sends_arbitrary_json(data: st.DataObject) -> None:
            method, template = data.draw(st.sampled_from(sorted(strategies)), label="route")
            body = data.draw(strategies[(method, template)], label="body")
            response = http.request(
                method,
                _path(platform, template, data),
                content=body,
                headers={**ADMIN, "Content-Type": "application/json"},
            )
            assert_refused_as_a_problem(response)

        sends_arbitrary_json()
