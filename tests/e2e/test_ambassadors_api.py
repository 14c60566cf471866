"""The ambassadors service's HTTP API (contract §1, §4, §6), against real `coop serve` processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support import NatsServer, ServiceProcess, wait_for

pytestmark = pytest.mark.e2e

ADMIN = "ambassadors-admin-token"
READER = "ambassadors-reader-token"
WRITER = "ambassadors-writer-token"
PERSONAL = "ambassadors-personal-token"
TOKENS = {
    PERSONAL: ["read", "personal:read"],
    ADMIN: ["read", "membership:write", "ambassadors:write", "privacy:admin"],
    READER: ["read"],
    WRITER: ["ambassadors:write"],
}
NOT_A_UUID = "not-a-uuid"
REPRESENTATION_KEYS = {
    "id",
    "cooperative_id",
    "name",
    "email",
    "enrolled_on",
    "status",
    "ended_on",
    "actions",
    "version",
    "erased",
    "external_ref",
}


class Platform:
    """A membership and an ambassadors service on one nats-server."""

    def __init__(self, ambassadors: ServiceProcess, membership: ServiceProcess) -> None:
        self.ambassadors = ambassadors
        self.membership = membership
        self.http = ambassadors.client(ADMIN)
        self.reader = ambassadors.client(READER)
        self.writer = ambassadors.client(WRITER)
        self.personal = ambassadors.client(PERSONAL)
        self.anonymous = ambassadors.client(None)
        self.members = membership.client(ADMIN)
        self.cooperative_names: dict[str, str] = {}
        self.cooperative_id = self.join()

    def join(self, joined_on: str = "2020-01-15") -> str:
        """A cooperative joins; returns its id once the ambassadors service knows it."""
        name = f"Coop {uuid4().hex[:6]}"
        response = self.members.post(
            "/v1/cooperatives",
            json={
                "name": name,
                "region": "06",
                "sector": "services_conseils",
                "worker_members": 8,
                "joined_on": joined_on,
            },
        )
        assert response.status_code == 201, response.text
        cooperative_id = str(response.json()["id"])
        self.cooperative_names[cooperative_id] = name
        wait_for(lambda: self.enroll(cooperative_id=cooperative_id).status_code == 201)
        return cooperative_id

    def enroll(self, **overrides: Any) -> httpx.Response:
        """POST an enrollment (a valid one unless overridden)."""
        body = {
            "cooperative_id": getattr(self, "cooperative_id", None),
            "name": "Camille Tremblay",
            "email": "camille@example.org",
            "enrolled_on": "2023-06-01",
            **overrides,
        }
        return self.http.post("/v1/ambassadors", json=body)

    def ambassador(self, **overrides: Any) -> dict[str, Any]:
        """A new ambassador's representation."""
        response = self.enroll(**overrides)
        assert response.status_code == 201, response.text
        return dict(response.json())


@contextmanager
def running_platform(root: Path, tokens: dict[str, list[str]]) -> Iterator[Platform]:
    """Membership and ambassadors on a nats-server of their own, with these tokens; the
    ambassadors log holds no stack trace afterwards."""
    nats = NatsServer(root / "nats").start()
    env = {"COOP_API_TOKENS": json.dumps(tokens)}
    membership = ServiceProcess("membership", root / "membership", nats.url, **env)
    ambassadors = ServiceProcess("ambassadors", root / "ambassadors", nats.url, **env)
    try:
        membership.start()
        ambassadors.start()
        yield Platform(ambassadors, membership)
    finally:
        ambassadors.stop()
        membership.stop()
        nats.stop()
    log = ambassadors.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("ambassadors-e2e"), TOKENS) as started:
        yield started


def assert_problem(response: httpx.Response, status: int, suffix: str | None = None) -> None:
    """An RFC 9457 problem with this status (and a `type` ending in `/suffix`)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert problem["status"] == status
    assert problem["type"].startswith(("http://", "https://"))
    assert "Traceback" not in problem["detail"]
    if status == 422:
        assert problem["errors"]
        assert all({"field", "message"} <= set(e) for e in problem["errors"])
    if suffix is not None:
        assert problem["type"].endswith(f"/{suffix}")


# --- enrollment -------------------------------------------------------------------------------


def test_enrollment_answers_201_with_the_ambassador_a_location_and_an_etag(
    platform: Platform,
) -> None:
    response = platform.enroll(name="Léa Gagnon", email="lea@exemple.qc")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == REPRESENTATION_KEYS
    assert body == {
        "id": body["id"],
        "cooperative_id": platform.cooperative_id,
        "name": "Léa Gagnon",
        "email": "lea@exemple.qc",
        "enrolled_on": "2023-06-01",
        "status": "active",
        "ended_on": None,
        "actions": 0,
        "version": 1,
        "erased": False,
        "external_ref": None,
    }
    assert response.headers["location"] == f"/v1/ambassadors/{body['id']}"
    assert response.headers["etag"] == '"1"'


def test_enrollment_without_an_email_is_accepted(platform: Platform) -> None:
    body = {"cooperative_id": platform.cooperative_id, "name": "Sans Courriel"}
    response = platform.http.post("/v1/ambassadors", json={**body, "enrolled_on": "2023-06-01"})

    assert response.status_code == 201
    assert response.json()["email"] is None


def test_enrollment_for_a_cooperative_this_service_does_not_know_is_422_not_member(
    platform: Platform,
) -> None:
    assert_problem(platform.enroll(cooperative_id=str(uuid4())), 422, "cooperative-not-member")
    assert_problem(platform.enroll(enrolled_on="2020-01-14"), 422, "cooperative-not-member")


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": ""},
        {"name": None},
        {"name": 12},
        {"email": "not-an-email"},
        {"email": 5},
        {"enrolled_on": "2023-13-01"},
        {"enrolled_on": "01/06/2023"},
        {"enrolled_on": 20230601},
        {"cooperative_id": NOT_A_UUID},
        {"cooperative_id": 7},
        {"nickname": "Cam"},
    ],
    ids=lambda o: f"{next(iter(o))}={next(iter(o.values()))!r}",
)
def test_enrollment_with_a_bad_field_is_422(platform: Platform, overrides: dict[str, Any]) -> None:
    assert_problem(platform.enroll(**overrides), 422)


@pytest.mark.parametrize("field", ["cooperative_id", "name", "enrolled_on"])
def test_enrollment_without_a_required_field_is_422(platform: Platform, field: str) -> None:
    body = {"cooperative_id": platform.cooperative_id, "name": "X", "enrolled_on": "2023-06-01"}
    del body[field]

    assert_problem(platform.http.post("/v1/ambassadors", json=body), 422)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"", b"null"])
def test_enrollment_whose_body_is_not_a_json_object_is_422(platform: Platform, raw: bytes) -> None:
    response = platform.http.post(
        "/v1/ambassadors", content=raw, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 422)


def test_a_body_over_one_mebibyte_is_413_before_authentication(platform: Platform) -> None:
    big = json.dumps({"name": "x" * (1024 * 1024 + 10)})

    response = platform.anonymous.post(
        "/v1/ambassadors", content=big, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 413)


def test_an_enrollment_repeated_with_its_idempotency_key_is_replayed(platform: Platform) -> None:
    key = {"Idempotency-Key": f"enroll-{uuid4()}"}
    body = {
        "cooperative_id": platform.cooperative_id,
        "name": "Rémi Côté",
        "enrolled_on": "2023-06-01",
    }

    first = platform.http.post("/v1/ambassadors", json=body, headers=key)
    second = platform.http.post("/v1/ambassadors", json=body, headers=key)
    other = platform.http.post("/v1/ambassadors", json={**body, "name": "Autre"}, headers=key)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert "idempotent-replayed" not in first.headers
    assert_problem(other, 422)
    listed = platform.http.get(
        "/v1/ambassadors", params={"cooperative_id": platform.cooperative_id, "limit": 1000}
    ).json()["items"]
    assert [a["id"] for a in listed].count(first.json()["id"]) == 1
    assert sum(1 for a in listed if a["name"] == "Rémi Côté") == 1


def test_an_idempotency_key_longer_than_255_characters_is_422(platform: Platform) -> None:
    response = platform.http.post(
        "/v1/ambassadors",
        json={"cooperative_id": platform.cooperative_id, "name": "X", "enrolled_on": "2023-06-01"},
        headers={"Idempotency-Key": "k" * 256},
    )

    assert_problem(response, 422)


# --- reading ----------------------------------------------------------------------------------


def test_an_ambassador_is_read_with_its_etag(platform: Platform) -> None:
    created = platform.ambassador()

    response = platform.personal.get(f"/v1/ambassadors/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created
    assert response.headers["etag"] == '"1"'


def test_reading_an_unknown_ambassador_is_404_and_a_malformed_id_is_422(
    platform: Platform,
) -> None:
    assert_problem(platform.reader.get(f"/v1/ambassadors/{uuid4()}"), 404)
    assert_problem(platform.reader.get(f"/v1/ambassadors/{NOT_A_UUID}"), 422)


def test_lists_page_in_creation_order_and_filter_by_cooperative_and_status(
    platform: Platform,
) -> None:
    cooperative_id = platform.join()
    first_page = platform.reader.get(
        "/v1/ambassadors", params={"cooperative_id": cooperative_id}
    ).json()
    created = [a["id"] for a in first_page["items"]]
    for _ in range(2):
        created.append(platform.ambassador(cooperative_id=cooperative_id)["id"])
    retired = created[-1]
    assert platform.http.post(
        f"/v1/ambassadors/{retired}/retirement", json={"retired_on": "2024-01-01"}
    ).is_success

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"cooperative_id": cooperative_id, "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = platform.reader.get("/v1/ambassadors", params=params).json()
        assert set(page) == {"items", "next_cursor"}
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created
    active = platform.reader.get(
        "/v1/ambassadors", params={"cooperative_id": cooperative_id, "status": "active"}
    ).json()["items"]
    assert [a["id"] for a in active] == created[:-1]
    gone = platform.reader.get(
        "/v1/ambassadors", params={"cooperative_id": cooperative_id, "status": "retired"}
    ).json()["items"]
    assert [(a["id"], set(a)) for a in gone] == [(retired, REPRESENTATION_KEYS)]
    unfiltered = platform.reader.get(
        "/v1/ambassadors", params={"cooperative_id": cooperative_id, "status": ""}
    ).json()["items"]
    assert len(unfiltered) == len(created)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"cursor": "%%%not-a-cursor"},
        {"status": "left"},
        {"cooperative_id": NOT_A_UUID},
    ],
    ids=lambda p: f"{next(iter(p))}={next(iter(p.values()))}",
)
def test_a_list_with_a_bad_parameter_is_422(platform: Platform, params: dict[str, str]) -> None:
    assert_problem(platform.reader.get("/v1/ambassadors", params=params), 422)


# --- actions ----------------------------------------------------------------------------------


def test_an_action_answers_201_with_the_action_record(platform: Platform) -> None:
    ambassador = platform.ambassador()
    activity = str(uuid4())

    response = platform.http.post(
        f"/v1/ambassadors/{ambassador['id']}/actions",
        json={
            "kind": "cine_discussion",
            "performed_on": "2023-10-12",
            "activity_id": activity,
            "people_reached": 45,
        },
    )

    assert response.status_code == 201
    record = response.json()
    assert record == {
        "id": record["id"],
        "ambassador_id": ambassador["id"],
        "kind": "cine_discussion",
        "performed_on": "2023-10-12",
        "activity_id": activity,
        "people_reached": 45,
        "external_ref": None,
    }
    now = platform.reader.get(f"/v1/ambassadors/{ambassador['id']}").json()
    assert (now["actions"], now["version"]) == (1, 2)


def test_an_action_without_optional_fields_has_nulls(platform: Platform) -> None:
    ambassador = platform.ambassador()

    response = platform.http.post(
        f"/v1/ambassadors/{ambassador['id']}/actions",
        json={"kind": "kiosque", "performed_on": "2023-06-01"},
    )

    assert response.status_code == 201
    assert (response.json()["activity_id"], response.json()["people_reached"]) == (None, None)


def test_an_action_repeated_with_its_idempotency_key_is_replayed(platform: Platform) -> None:
    ambassador = platform.ambassador()
    path = f"/v1/ambassadors/{ambassador['id']}/actions"
    key = {"Idempotency-Key": f"action-{uuid4()}"}
    body = {"kind": "mentorat", "performed_on": "2023-08-01", "people_reached": 0}

    first = platform.http.post(path, json=body, headers=key)
    second = platform.http.post(path, json=body, headers=key)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert platform.reader.get(f"/v1/ambassadors/{ambassador['id']}").json()["actions"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "podcast", "performed_on": "2023-07-01"},
        {"kind": "kiosque", "performed_on": "2023-02-30"},
        {"kind": "kiosque"},
        {"performed_on": "2023-07-01"},
        {"kind": "kiosque", "performed_on": "2023-07-01", "people_reached": -1},
        {"kind": "kiosque", "performed_on": "2023-07-01", "people_reached": "3"},
        {"kind": "kiosque", "performed_on": "2023-07-01", "people_reached": 2.5},
        {"kind": "kiosque", "performed_on": "2023-07-01", "activity_id": NOT_A_UUID},
        {"kind": "kiosque", "performed_on": "2023-07-01", "place": "Rimouski"},
    ],
    ids=lambda b: ",".join(f"{k}={v!r}" for k, v in b.items()),
)
def test_an_action_with_a_bad_body_is_422(platform: Platform, body: dict[str, Any]) -> None:
    ambassador = platform.ambassador()

    assert_problem(
        platform.http.post(f"/v1/ambassadors/{ambassador['id']}/actions", json=body), 422
    )


def test_an_action_dated_before_the_enrollment_is_422(platform: Platform) -> None:
    ambassador = platform.ambassador()

    response = platform.http.post(
        f"/v1/ambassadors/{ambassador['id']}/actions",
        json={"kind": "presentation", "performed_on": "2023-05-31"},
    )

    assert_problem(response, 422, "action-date")
    assert response.json()["errors"][0]["field"] == "performed_on"


def test_an_action_on_or_after_the_day_the_ambassador_ended_is_409(platform: Platform) -> None:
    ambassador = platform.ambassador()
    path = f"/v1/ambassadors/{ambassador['id']}/actions"
    platform.http.post(
        f"/v1/ambassadors/{ambassador['id']}/retirement", json={"retired_on": "2024-01-01"}
    )

    for day in ("2024-01-01", "2024-06-01"):
        assert_problem(platform.http.post(path, json={"kind": "autre", "performed_on": day}), 409)
    late = platform.http.post(path, json={"kind": "autre", "performed_on": "2023-12-31"})
    assert late.status_code == 201


def test_an_action_for_an_unknown_ambassador_is_404_after_the_body_is_checked(
    platform: Platform,
) -> None:
    path = f"/v1/ambassadors/{uuid4()}/actions"

    assert_problem(
        platform.http.post(path, json={"kind": "autre", "performed_on": "2023-07-01"}), 404
    )
    assert_problem(platform.http.post(path, json={"kind": "nope"}), 422)
    assert_problem(
        platform.http.post(
            f"/v1/ambassadors/{NOT_A_UUID}/actions",
            json={"kind": "autre", "performed_on": "2023-07-01"},
        ),
        422,
    )


# --- retirement -------------------------------------------------------------------------------


def test_retirement_answers_200_with_the_retired_ambassador(platform: Platform) -> None:
    ambassador = platform.ambassador()

    response = platform.http.post(
        f"/v1/ambassadors/{ambassador['id']}/retirement", json={"retired_on": "2024-02-01"}
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == REPRESENTATION_KEYS
    assert (body["status"], body["ended_on"], body["version"]) == ("retired", "2024-02-01", 2)
    assert response.headers["etag"] == '"2"'


def test_retiring_an_ambassador_who_is_not_active_is_409(platform: Platform) -> None:
    ambassador = platform.ambassador()
    path = f"/v1/ambassadors/{ambassador['id']}/retirement"
    platform.http.post(path, json={"retired_on": "2024-02-01"})

    assert_problem(platform.http.post(path, json={"retired_on": "2024-03-01"}), 409)


def test_retirement_dated_before_the_enrollment_is_422(platform: Platform) -> None:
    ambassador = platform.ambassador()

    response = platform.http.post(
        f"/v1/ambassadors/{ambassador['id']}/retirement", json={"retired_on": "2023-05-31"}
    )

    assert_problem(response, 422, "retirement-date")


@pytest.mark.parametrize(
    "body",
    [{}, {"retired_on": "yesterday"}, {"retired_on": None}, {"retired_on": "2024-01-01", "x": 1}],
)
def test_retirement_with_a_bad_body_is_422(platform: Platform, body: dict[str, Any]) -> None:
    ambassador = platform.ambassador()

    response = platform.http.post(f"/v1/ambassadors/{ambassador['id']}/retirement", json=body)

    assert_problem(response, 422)


def test_retiring_an_unknown_ambassador_is_404(platform: Platform) -> None:
    response = platform.http.post(
        f"/v1/ambassadors/{uuid4()}/retirement", json={"retired_on": "2024-01-01"}
    )

    assert_problem(response, 404)


def test_a_stale_if_match_on_a_retirement_is_412(platform: Platform) -> None:
    ambassador = platform.ambassador()

    response = platform.http.post(
        f"/v1/ambassadors/{ambassador['id']}/retirement",
        json={"retired_on": "2024-01-01"},
        headers={"If-Match": '"7"'},
    )

    assert_problem(response, 412)
    assert response.headers["etag"] == '"1"'


# --- personal information ---------------------------------------------------------------------


def test_personal_data_is_exported_then_erased_for_good(platform: Platform) -> None:
    ambassador = platform.ambassador(name="Maëlle Fortin", email="maelle@exemple.qc")
    path = f"/v1/ambassadors/{ambassador['id']}/personal-data"

    exported = platform.http.get(path)
    assert exported.status_code == 200
    body = exported.json()
    assert body.pop("exported_at").endswith("Z")
    assert body == {
        "ambassador_id": ambassador["id"],
        "name": "Maëlle Fortin",
        "email": "maelle@exemple.qc",
        "cooperative": {
            "id": platform.cooperative_id,
            "name": platform.cooperative_names[platform.cooperative_id],
        },
        "enrolled_on": "2023-06-01",
        "status": "active",
        "ended_on": None,
        "erased": False,
        "actions": [],
    }

    assert platform.http.delete(path).status_code == 204
    assert platform.http.delete(path).status_code == 204

    after = platform.http.get(path).json()
    assert (after["name"], after["email"], after["erased"]) == (None, None, True)
    now = platform.reader.get(f"/v1/ambassadors/{ambassador['id']}").json()
    assert (now["name"], now["email"], now["erased"], now["version"]) == (None, None, True, 1)


def test_personal_data_of_an_unknown_ambassador_is_404_and_a_malformed_id_422(
    platform: Platform,
) -> None:
    unknown = f"/v1/ambassadors/{uuid4()}/personal-data"
    assert_problem(platform.http.get(unknown), 404)
    assert_problem(platform.http.delete(unknown), 404)
    assert_problem(platform.http.get(f"/v1/ambassadors/{NOT_A_UUID}/personal-data"), 422)


# --- authentication ---------------------------------------------------------------------------


def test_every_endpoint_needs_a_known_token_and_its_scope(platform: Platform) -> None:
    ambassador = platform.ambassador()
    one = f"/v1/ambassadors/{ambassador['id']}"
    calls: list[tuple[str, str, dict[str, Any] | None, httpx.Client]] = [
        ("POST", "/v1/ambassadors", {"name": "x"}, platform.reader),
        ("GET", "/v1/ambassadors", None, platform.writer),
        ("GET", one, None, platform.writer),
        ("POST", f"{one}/actions", {"kind": "autre"}, platform.reader),
        ("POST", f"{one}/retirement", {"retired_on": "2024-01-01"}, platform.reader),
        ("GET", f"{one}/personal-data", None, platform.reader),
        ("DELETE", f"{one}/personal-data", None, platform.writer),
    ]
    unknown = platform.ambassadors.client("not-a-known-token")
    for method, path, body, lacking in calls:
        assert_problem(platform.anonymous.request(method, path, json=body), 401)
        assert_problem(lacking.request(method, path, json=body), 403)
    assert_problem(unknown.get("/v1/ambassadors"), 401)
    assert platform.http.get(f"{one}/personal-data").json()["name"] == "Camille Tremblay"


def test_health_readiness_and_metrics_need_no_token(platform: Platform) -> None:
    assert platform.anonymous.get("/healthz").status_code == 200
    assert platform.anonymous.get("/readyz").status_code == 200
    metrics = platform.anonymous.get("/metrics")
    assert metrics.status_code == 200
    assert "coop_consumer_applied_messages" in metrics.text


def test_name_and_email_are_null_for_a_token_without_personal_read_but_erased_still_tells(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    path = f"/v1/ambassadors/{ambassador['id']}"

    single = platform.reader.get(path).json()
    listed = platform.reader.get("/v1/ambassadors", params={"limit": 200}).json()["items"]

    assert (single["name"], single["email"], single["erased"]) == (None, None, False)
    mine = next(item for item in listed if item["id"] == ambassador["id"])
    assert (mine["name"], mine["email"], mine["erased"]) == (None, None, False)


def test_name_and_email_appear_to_personal_read_and_privacy_admin_tokens(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    path = f"/v1/ambassadors/{ambassador['id']}"

    for client in (platform.personal, platform.http):
        doc = client.get(path).json()
        assert (doc["name"], doc["email"]) == ("Camille Tremblay", "camille@example.org")


def test_the_answer_to_ones_own_enrollment_and_retirement_is_redacted_without_the_scope(
    platform: Platform,
) -> None:
    body = {
        "cooperative_id": platform.cooperative_id,
        "name": "Camille Tremblay",
        "email": "camille@example.org",
        "enrolled_on": "2023-06-01",
    }
    created = platform.writer.post("/v1/ambassadors", json=body)
    assert created.status_code == 201, created.text
    retired = platform.writer.post(
        f"/v1/ambassadors/{created.json()['id']}/retirement", json={"retired_on": "2024-01-01"}
    )

    assert (created.json()["name"], created.json()["email"]) == (None, None)
    assert retired.status_code == 200, retired.text
    assert (retired.json()["name"], retired.json()["email"], retired.json()["erased"]) == (
        None,
        None,
        False,
    )


def test_the_email_filter_finds_ambassadors_case_aside_for_a_privacy_admin(
    platform: Platform,
) -> None:
    email = f"lookup-{uuid4().hex[:8]}@example.org"
    wanted = platform.ambassador(email=email)
    platform.ambassador()

    found = platform.http.get("/v1/ambassadors", params={"email": email.upper()}).json()

    assert [item["id"] for item in found["items"]] == [wanted["id"]]
    assert found["items"][0]["email"] == email


def test_the_email_filter_is_403_without_privacy_admin_and_empty_is_no_filter(
    platform: Platform,
) -> None:
    platform.ambassador()

    refused = platform.personal.get("/v1/ambassadors", params={"email": "a@example.org"})
    unfiltered = platform.reader.get("/v1/ambassadors", params={"email": ""})

    assert_problem(refused, 403)
    assert unfiltered.status_code == 200
    assert unfiltered.json()["items"]


def test_the_export_lists_the_ambassadors_actions(platform: Platform) -> None:
    ambassador = platform.ambassador()
    logged = platform.http.post(
        f"/v1/ambassadors/{ambassador['id']}/actions",
        json={"kind": "kiosque", "performed_on": "2024-02-01", "people_reached": 12},
    )
    assert logged.status_code == 201, logged.text

    exported = platform.http.get(f"/v1/ambassadors/{ambassador['id']}/personal-data").json()

    assert exported["actions"] == [logged.json()]
