"""Every endpoint's scope, as the contract's tables give it, is what each service enforces.

The table below is CONTRACT §1-§6 written as data. The OpenAPI each service serves must list
exactly these operations with exactly these scopes; then, for each operation, no token → 401,
a token that has every scope but the required one → 403, the required scope alone → neither.
Public endpoints answer without a token. Then the v2 personal-data rules (§4, §6): an
ambassador's name and email show only to `personal:read` or `privacy:admin`, in resources and
lists alike; finding ambassadors by email and the export need `privacy:admin`, and an email
lookup without it is refused before its other parameters are read (§1's order of checks).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.fuzz.platform import ADMIN_TOKEN, SERVICES, Platform
from tests.security.conftest import HASHED_READER, PERSONAL_READER, all_but, client_from, only

pytestmark = pytest.mark.e2e

ADDRESS = "127.0.1.1"
PUBLIC = None

# (service, method, path) -> required scope, or PUBLIC; from the contract's tables.
CONTRACT_SCOPES: dict[tuple[str, str, str], str | None] = {
    ("membership", "POST", "/v1/cooperatives"): "membership:write",
    ("membership", "GET", "/v1/cooperatives/{cooperative_id}"): "read",
    ("membership", "GET", "/v1/cooperatives"): "read",
    ("membership", "PATCH", "/v1/cooperatives/{cooperative_id}"): "membership:write",
    ("membership", "POST", "/v1/cooperatives/{cooperative_id}/departure"): "membership:write",
    ("membership", "POST", "/v1/cooperatives/{cooperative_id}/readmission"): "membership:write",
    ("membership", "GET", "/v1/cooperatives/{cooperative_id}/history"): "read",
    ("membership", "POST", "/v1/cooperatives/{cooperative_id}/membership-correction"): (
        "membership:write"
    ),
    ("membership", "POST", "/v1/cooperatives/{cooperative_id}/void"): "membership:write",
    ("membership", "POST", "/v1/cooperatives/{cooperative_id}/restoration"): "membership:write",
    ("membership", "GET", "/v1/sectors"): PUBLIC,
    ("membership", "PUT", "/v1/sectors/{slug}"): "membership:write",
    ("events", "POST", "/v1/activities"): "events:write",
    ("events", "GET", "/v1/activities/{activity_id}"): "read",
    ("events", "GET", "/v1/activities"): "read",
    ("events", "POST", "/v1/activities/{activity_id}/attendances"): "events:write",
    ("events", "POST", "/v1/activities/{activity_id}/public-attendance"): "events:write",
    ("events", "POST", "/v1/activities/{activity_id}/cancellation"): "events:write",
    ("events", "PATCH", "/v1/activities/{activity_id}"): "events:write",
    ("events", "POST", "/v1/activities/{activity_id}/reinstatement"): "events:write",
    ("events", "GET", "/v1/activities/{activity_id}/history"): "read",
    ("events", "GET", "/v1/activities/{activity_id}/attendances"): "read",
    ("events", "PATCH", "/v1/activities/{activity_id}/attendances/{cooperative_id}"): (
        "events:write"
    ),
    ("events", "DELETE", "/v1/activities/{activity_id}/attendances/{cooperative_id}"): (
        "events:write"
    ),
    ("events", "GET", "/v1/activities/{activity_id}/public-attendance"): "read",
    ("events", "PATCH", "/v1/activities/{activity_id}/public-attendance/{record_id}"): (
        "events:write"
    ),
    ("events", "DELETE", "/v1/activities/{activity_id}/public-attendance/{record_id}"): (
        "events:write"
    ),
    ("events", "GET", "/v1/attendances"): "read",
    ("ambassadors", "POST", "/v1/ambassadors"): "ambassadors:write",
    ("ambassadors", "GET", "/v1/ambassadors/{ambassador_id}"): "read",
    ("ambassadors", "GET", "/v1/ambassadors"): "read",
    ("ambassadors", "POST", "/v1/ambassadors/{ambassador_id}/actions"): "ambassadors:write",
    ("ambassadors", "POST", "/v1/ambassadors/{ambassador_id}/retirement"): "ambassadors:write",
    ("ambassadors", "PATCH", "/v1/ambassadors/{ambassador_id}"): "ambassadors:write",
    ("ambassadors", "GET", "/v1/ambassadors/{ambassador_id}/actions"): "read",
    ("ambassadors", "PATCH", "/v1/ambassadors/{ambassador_id}/actions/{action_id}"): (
        "ambassadors:write"
    ),
    ("ambassadors", "DELETE", "/v1/ambassadors/{ambassador_id}/actions/{action_id}"): (
        "ambassadors:write"
    ),
    ("ambassadors", "POST", "/v1/ambassadors/{ambassador_id}/reactivation"): "ambassadors:write",
    ("ambassadors", "GET", "/v1/ambassadors/{ambassador_id}/history"): "read",
    ("ambassadors", "GET", "/v1/ambassadors/{ambassador_id}/personal-data"): "privacy:admin",
    ("ambassadors", "DELETE", "/v1/ambassadors/{ambassador_id}/personal-data"): "privacy:admin",
    ("reporting", "GET", "/v1/indicators/{fiscal_year}"): PUBLIC,
    ("reporting", "GET", "/v1/indicators/{fiscal_year}.csv"): PUBLIC,
    ("reporting", "GET", "/v1/reports/{fiscal_year}"): PUBLIC,
    ("reporting", "GET", "/v1/projections/status"): PUBLIC,
    ("reporting", "POST", "/v1/projections/rebuild"): "reporting:admin",
    ("reporting", "GET", "/v1/indicators"): PUBLIC,
    ("reporting", "GET", "/v1/indicators.csv"): PUBLIC,
    ("reporting", "GET", "/v1/fiscal-years"): PUBLIC,
    ("reporting", "POST", "/v1/fiscal-years/{fiscal_year}/closure"): "reporting:admin",
    ("reporting", "GET", "/v1/fiscal-years/{fiscal_year}/closure"): PUBLIC,
    ("reporting", "DELETE", "/v1/fiscal-years/{fiscal_year}/closure"): "reporting:admin",
    ("reporting", "PUT", "/v1/targets/{fiscal_year}"): "reporting:admin",
    ("reporting", "GET", "/v1/targets/{fiscal_year}"): PUBLIC,
    ("partnerships", "POST", "/v1/partners"): "partnerships:write",
    ("partnerships", "GET", "/v1/partners"): "read",
    ("partnerships", "GET", "/v1/partners/{partner_id}"): "read",
    ("partnerships", "PATCH", "/v1/partners/{partner_id}"): "partnerships:write",
    ("partnerships", "POST", "/v1/partners/{partner_id}/deactivation"): "partnerships:write",
    ("partnerships", "POST", "/v1/partners/{partner_id}/reactivation"): "partnerships:write",
    ("partnerships", "GET", "/v1/partners/{partner_id}/history"): "read",
    ("partnerships", "POST", "/v1/research-projects"): "partnerships:write",
    ("partnerships", "GET", "/v1/research-projects"): "read",
    ("partnerships", "GET", "/v1/research-projects/{project_id}"): "read",
    ("partnerships", "PATCH", "/v1/research-projects/{project_id}"): "partnerships:write",
    ("partnerships", "POST", "/v1/research-projects/{project_id}/completion"): "partnerships:write",
    ("partnerships", "GET", "/v1/research-projects/{project_id}/history"): "read",
    ("partnerships", "POST", "/v1/sector-tables"): "partnerships:write",
    ("partnerships", "GET", "/v1/sector-tables"): "read",
    ("partnerships", "GET", "/v1/sector-tables/{table_id}"): "read",
    ("partnerships", "PATCH", "/v1/sector-tables/{table_id}"): "partnerships:write",
    ("partnerships", "POST", "/v1/sector-tables/{table_id}/members"): "partnerships:write",
    (
        "partnerships",
        "DELETE",
        "/v1/sector-tables/{table_id}/members/{cooperative_id}",
    ): "partnerships:write",
    ("partnerships", "POST", "/v1/sector-tables/{table_id}/actions"): "partnerships:write",
    ("partnerships", "GET", "/v1/sector-tables/{table_id}/actions"): "read",
    (
        "partnerships",
        "DELETE",
        "/v1/sector-tables/{table_id}/actions/{action_id}",
    ): "partnerships:write",
    (
        "partnerships",
        "POST",
        "/v1/sector-tables/{table_id}/retail-placements",
    ): "partnerships:write",
    ("partnerships", "GET", "/v1/sector-tables/{table_id}/retail-placements"): "read",
    (
        "partnerships",
        "POST",
        "/v1/sector-tables/{table_id}/retail-placements/{placement_id}/end",
    ): "partnerships:write",
    ("partnerships", "POST", "/v1/sector-tables/{table_id}/dissolution"): "partnerships:write",
    ("partnerships", "GET", "/v1/sector-tables/{table_id}/history"): "read",
}
# Public routes the OpenAPI does not list (health, metrics, the dashboard).
UNLISTED_PUBLIC = [
    *((service, "GET", path) for service in SERVICES for path in ("/healthz", "/metrics")),
    *((service, "GET", "/readyz") for service in SERVICES),
    ("reporting", "GET", "/"),
]
# Operations declared with alternative scopes: listing ambassadors needs `read`, finding them
# by email `privacy:admin` (§6), which is then enough on its own.
ALTERNATIVES: dict[tuple[str, str, str], list[str]] = {
    ("ambassadors", "GET", "/v1/ambassadors"): ["privacy:admin", "read"],
}
# Operations any valid token may call (401 without one), declared without a scope.
ANY_VALID_TOKEN = [(service, "GET", "/v1/whoami") for service in SERVICES]
SECURED = sorted((key, scope) for key, scope in CONTRACT_SCOPES.items() if scope is not None)
LISTED_PUBLIC = sorted(key for key, scope in CONTRACT_SCOPES.items() if scope is None)


def _declared_scopes(document: dict[str, Any], service: str) -> dict[tuple[str, str, str], Any]:
    declared: dict[tuple[str, str, str], Any] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            requirements = operation.get("security") or []
            scopes = sorted(
                {s for requirement in requirements for v in requirement.values() for s in v}
            )
            declared[(service, method.upper(), path)] = (
                scopes[0] if len(scopes) == 1 else scopes or None
            )
    return declared


def test_each_openapi_lists_exactly_the_contract_operations_with_their_scopes(
    secured: Platform,
) -> None:
    declared: dict[tuple[str, str, str], Any] = {}
    for service in SERVICES:
        declared.update(_declared_scopes(secured.openapi(service), service))
    assert declared == {**CONTRACT_SCOPES, **ALTERNATIVES, **dict.fromkeys(ANY_VALID_TOKEN)}


_PARAMETER = re.compile(r"\{(\w+)\}")


def _concrete(path: str) -> str:
    """A path with every parameter filled with a well-formed value naming nothing."""
    return _PARAMETER.sub(
        lambda m: "2023-2024" if m.group(1) == "fiscal_year" else str(uuid.uuid4()), path
    )


def _send(http: httpx.Client, method: str, path: str) -> httpx.Response:
    body: dict[str, Any] | None = {} if method in ("POST", "PATCH") else None
    return http.request(method, _concrete(path), json=body)


def _assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == status


@pytest.mark.parametrize(
    ("operation", "scope"), SECURED, ids=[f"{m} {p}" for (_, m, p), _ in SECURED]
)
def test_a_secured_operation_needs_a_token_that_carries_its_own_scope(
    secured: Platform, operation: tuple[str, str, str], scope: str
) -> None:
    service, method, path = operation
    # Each operation from its own address: the failures below stay under the 30-a-minute limit.
    number = SECURED.index((operation, scope))
    address = f"127.0.{2 + number // 200}.{1 + number % 200}"
    with client_from(secured, service, address) as anonymous:
        refused = _send(anonymous, method, path)
        _assert_problem(refused, 401)
        assert refused.headers["www-authenticate"].lower().startswith("bearer")
    with client_from(secured, service, address, "a-token-nobody-was-given") as stranger:
        _assert_problem(_send(stranger, method, path), 401)
    with client_from(secured, service, address, all_but(scope)) as lacking:
        _assert_problem(_send(lacking, method, path), 403)
    with client_from(secured, service, address, only(scope)) as granted:
        answered = _send(granted, method, path)
        assert answered.status_code not in (401, 403, 429), answered.text
        assert answered.status_code < 500, answered.text


@pytest.mark.parametrize(
    "operation",
    [*LISTED_PUBLIC, *UNLISTED_PUBLIC],
    ids=[f"{s} {m} {p}" for s, m, p in [*LISTED_PUBLIC, *UNLISTED_PUBLIC]],
)
def test_a_public_endpoint_answers_without_a_token(
    secured: Platform, operation: tuple[str, str, str]
) -> None:
    service, method, path = operation
    with client_from(secured, service, ADDRESS) as anonymous:
        answered = anonymous.request(method, _concrete(path))
    # answered as to anyone: 200, or what the resource's state says (an open year's closure: 404;
    # a series without its bounds: 422), never a refusal of the caller
    assert answered.status_code not in (401, 403, 429), answered.text
    assert answered.status_code < 500, answered.text


def test_a_write_scope_does_not_grant_read(secured: Platform) -> None:
    for service, path in [
        ("membership", "/v1/cooperatives"),
        ("events", "/v1/activities"),
        ("ambassadors", "/v1/ambassadors"),
    ]:
        with client_from(secured, service, ADDRESS, only(f"{service}:write")) as writer:
            _assert_problem(writer.get(path), 403)


# --- v2 personal-data rules (§4, §6): who sees an ambassador's name and email -------------

PERSONAL_ADDRESS = "127.0.4.1"


@pytest.fixture(scope="module")
def ambassador(secured: Platform) -> dict[str, str]:
    """An ambassador enrolled with a name and an email of its own."""
    cooperative = secured.seeded["cooperative"][1]
    marker = uuid.uuid4().hex[:8]
    body = {
        "cooperative_id": cooperative,
        "name": f"Scopine Lavoie {marker}",
        "email": f"scopine.{marker}@example.org",
        "enrolled_on": "2022-02-01",
    }
    with client_from(secured, "ambassadors", PERSONAL_ADDRESS, ADMIN_TOKEN) as admin:
        enrolled = admin.post("/v1/ambassadors", json=body)
    assert enrolled.status_code == 201, enrolled.text
    return {"id": enrolled.json()["id"], **body}


# (token, whether it sees name and email): personal:read or privacy:admin shows them.
VIEWERS = [
    (only("read"), False),
    (HASHED_READER, False),
    (PERSONAL_READER, True),
    (all_but("personal:read"), True),  # privacy:admin without personal:read
    (all_but("privacy:admin"), True),  # personal:read without privacy:admin
]


@pytest.mark.parametrize(("token", "shown"), VIEWERS, ids=[t for t, _ in VIEWERS])
def test_name_and_email_show_only_to_personal_read_or_privacy_admin_in_resources_and_lists(
    secured: Platform, ambassador: dict[str, str], token: str, shown: bool
) -> None:
    expected = (ambassador["name"], ambassador["email"]) if shown else (None, None)
    with client_from(secured, "ambassadors", PERSONAL_ADDRESS, token) as viewer:
        single = viewer.get(f"/v1/ambassadors/{ambassador['id']}")
        listed = viewer.get(
            "/v1/ambassadors", params={"cooperative_id": ambassador["cooperative_id"]}
        )
    assert single.status_code == 200, single.text
    assert (single.json()["name"], single.json()["email"]) == expected
    assert single.json()["erased"] is False
    assert listed.status_code == 200, listed.text
    (item,) = [i for i in listed.json()["items"] if i["id"] == ambassador["id"]]
    assert (item["name"], item["email"]) == expected
    assert item["erased"] is False


@pytest.mark.parametrize(
    "token", [only("read"), HASHED_READER, PERSONAL_READER, all_but("privacy:admin")]
)
def test_finding_ambassadors_by_email_needs_privacy_admin(
    secured: Platform, ambassador: dict[str, str], token: str
) -> None:
    with client_from(secured, "ambassadors", PERSONAL_ADDRESS, token) as lacking:
        _assert_problem(lacking.get("/v1/ambassadors", params={"email": ambassador["email"]}), 403)
        # without the filter, the same token lists as any reader does
        assert lacking.get("/v1/ambassadors", params={"email": ""}).status_code == 200


@pytest.mark.parametrize("token", [all_but("personal:read"), only("privacy:admin")])
def test_privacy_admin_finds_ambassadors_by_email_whatever_its_case(
    secured: Platform, ambassador: dict[str, str], token: str
) -> None:
    with client_from(secured, "ambassadors", PERSONAL_ADDRESS, token) as admin:
        found = admin.get("/v1/ambassadors", params={"email": ambassador["email"].upper()})
    assert found.status_code == 200, found.text
    assert [(i["id"], i["email"]) for i in found.json()["items"]] == [
        (ambassador["id"], ambassador["email"])
    ]


def test_the_personal_data_export_needs_privacy_admin_and_holds_name_and_email(
    secured: Platform, ambassador: dict[str, str]
) -> None:
    path = f"/v1/ambassadors/{ambassador['id']}/personal-data"
    for token in (only("read"), PERSONAL_READER, all_but("privacy:admin")):
        with client_from(secured, "ambassadors", PERSONAL_ADDRESS, token) as lacking:
            _assert_problem(lacking.get(path), 403)
    with client_from(secured, "ambassadors", PERSONAL_ADDRESS, only("privacy:admin")) as admin:
        exported = admin.get(path)
    assert exported.status_code == 200, exported.text
    document = exported.json()
    assert (document["name"], document["email"]) == (ambassador["name"], ambassador["email"])
    assert document["ambassador_id"] == ambassador["id"]
    assert document["cooperative"]["id"] == ambassador["cooperative_id"]
    assert {"enrolled_on", "status", "ended_on", "erased", "actions", "exported_at"} <= set(
        document
    )


def test_an_email_lookup_with_a_bad_limit_is_refused_for_its_scope_before_its_parameters(
    secured: Platform,
) -> None:
    """§1's order: 401/403 before 422 for a malformed request."""
    params = {"email": "someone@example.org", "limit": "bad"}
    with client_from(secured, "ambassadors", "127.0.4.2") as anonymous:
        _assert_problem(anonymous.get("/v1/ambassadors", params=params), 401)
    for token in (only("read"), PERSONAL_READER):
        with client_from(secured, "ambassadors", PERSONAL_ADDRESS, token) as lacking:
            _assert_problem(lacking.get("/v1/ambassadors", params=params), 403)
    with client_from(secured, "ambassadors", PERSONAL_ADDRESS, all_but("personal:read")) as admin:
        malformed = admin.get("/v1/ambassadors", params=params)
    _assert_problem(malformed, 422)
    assert [e["field"] for e in malformed.json()["errors"]] == ["limit"]
