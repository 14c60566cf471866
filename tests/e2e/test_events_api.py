"""The events service's HTTP API (contract §1, §3), against real `coop serve` processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support import NatsServer, ServiceProcess, wait_for

pytestmark = pytest.mark.e2e

ADMIN = "events-admin-token"
READER = "events-reader-token"
WRITER = "events-writer-token"
TOKENS = {
    ADMIN: ["read", "membership:write", "events:write"],
    READER: ["read"],
    WRITER: ["events:write"],
}
NOT_A_UUID = "not-a-uuid"


class Platform:
    """A membership and an events service on one nats-server."""

    def __init__(self, events: ServiceProcess, membership: ServiceProcess) -> None:
        self.events = events
        self.membership = membership
        self.http = events.client(ADMIN)
        self.members = membership.client(ADMIN)

    def join(self, joined_on: str = "2020-01-15") -> str:
        """A cooperative joins; returns its id once the events service knows it."""
        response = self.members.post(
            "/v1/cooperatives",
            json={
                "name": f"Coop {uuid4().hex[:6]}",
                "region": "06",
                "sector": "services_conseils",
                "worker_members": 8,
                "joined_on": joined_on,
            },
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def schedule(self, **overrides: Any) -> dict[str, Any]:
        """Schedule an activity; returns its representation."""
        body = {
            "type": "formation",
            "title": "Gouvernance démocratique",
            "date": "2023-11-15",
            "format": "in_person",
            "region": "06",
        }
        body.update(overrides)
        response = self.http.post("/v1/activities", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def attend(self, activity_id: str, cooperative_id: str, **extra: Any) -> httpx.Response:
        """POST an attendance."""
        return self.http.post(
            f"/v1/activities/{activity_id}/attendances",
            json={"cooperative_id": cooperative_id, **extra},
        )


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root: Path = tmp_path_factory.mktemp("events-e2e")
    nats = NatsServer(root / "nats").start()
    env = {"COOP_API_TOKENS": json.dumps(TOKENS)}
    membership = ServiceProcess("membership", root / "membership", nats.url, **env)
    events = ServiceProcess("events", root / "events", nats.url, **env)
    try:
        membership.start()
        events.start()
        yield Platform(events, membership)
    finally:
        events.stop()
        membership.stop()
        nats.stop()


@pytest.fixture(scope="module")
def member(platform: Platform) -> str:
    """A cooperative active since 2020, known to the events service."""
    cooperative_id = platform.join("2020-01-15")
    probe = platform.schedule(date="2021-06-01")["id"]
    wait_for(lambda: platform.attend(probe, cooperative_id).status_code == 201)
    return cooperative_id


@pytest.fixture(scope="module")
def crowd(platform: Platform) -> list[str]:
    """Twelve cooperatives active since 2020, known to the events service."""
    cooperatives = [platform.join("2020-02-01") for _ in range(12)]
    probe = platform.schedule(date="2021-06-01")["id"]
    wait_for(lambda: platform.attend(probe, cooperatives[-1]).status_code == 201)
    return cooperatives


def assert_problem(response: httpx.Response, status: int, type_suffix: str | None = None) -> None:
    """An RFC 9457 answer with the given status (and, for 422, field errors)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert problem["status"] == status
    assert problem["type"].startswith("https://")
    if type_suffix is not None:
        assert problem["type"].endswith(type_suffix)
    if status == 422:
        assert isinstance(problem["errors"], list) and problem["errors"]
        assert all(set(e) == {"field", "message"} for e in problem["errors"])


def fields_in_error(response: httpx.Response) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


# --- health -----------------------------------------------------------------------------------


def test_health_readiness_and_metrics_need_no_token(platform: Platform) -> None:
    anonymous = platform.events.client(token=None)
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/readyz").status_code == 200
    metrics = anonymous.get("/metrics")
    assert metrics.status_code == 200
    assert "coop_relay_published_events" in metrics.text


# --- scheduling -------------------------------------------------------------------------------


def test_scheduling_answers_201_with_the_activity_its_location_and_etag(
    platform: Platform,
) -> None:
    response = platform.http.post(
        "/v1/activities",
        json={
            "type": "cine_discussion",
            "title": "(R)évolution – ciné-discussion à Rimouski",
            "date": "2023-10-12",
            "region": "01",
            "format": "in_person",
            "partners": ["Pôle d'économie sociale du Bas-Saint-Laurent"],
        },
    )
    assert response.status_code == 201
    activity = response.json()
    assert activity == {
        "id": activity["id"],
        "type": "cine_discussion",
        "title": "(R)évolution – ciné-discussion à Rimouski",
        "date": "2023-10-12",
        "region": "01",
        "format": "in_person",
        "partners": ["Pôle d'économie sociale du Bas-Saint-Laurent"],
        "status": "scheduled",
        "member_attendances": 0,
        "public_attendance": 0,
        "external_ref": None,
        "version": 1,
    }
    assert response.headers["location"] == f"/v1/activities/{activity['id']}"
    assert response.headers["etag"] == '"1"'


def test_partners_default_to_an_empty_list(platform: Platform) -> None:
    assert platform.schedule()["partners"] == []


def test_a_remote_activity_needs_no_region(platform: Platform) -> None:
    activity = platform.schedule(format="remote", region=None)
    assert (activity["format"], activity["region"]) == ("remote", None)
    assert platform.schedule(format="remote", region="11")["region"] == "11"


def test_reading_an_activity_answers_it_with_its_etag(platform: Platform) -> None:
    created = platform.schedule(type="courtepointe")
    response = platform.http.get(f"/v1/activities/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created
    assert response.headers["etag"] == '"1"'


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "webinaire"}, "type"),
        ({"type": "Formation"}, "type"),
        ({"format": "virtual"}, "format"),
        ({"region": None}, "region"),
        ({"format": "hybrid", "region": None}, "region"),
        ({"region": "18"}, "region"),
        ({"region": 6}, "region"),
        ({"date": "2023-02-30"}, "date"),
        ({"date": "2023-13-01"}, "date"),
        ({"date": "15/11/2023"}, "date"),
        ({"date": "2023-11-15T10:00:00"}, "date"),
        ({"date": 20231115}, "date"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": 42}, "title"),
        ({"partners": "CDR"}, "partners"),
        ({"partners": [""]}, "partners[0]"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_bad_activity_is_refused_with_422_naming_the_field(
    platform: Platform, change: dict[str, Any], field: str
) -> None:
    body = {
        "type": "formation",
        "title": "Gestion",
        "date": "2023-11-15",
        "format": "in_person",
        "region": "06",
        **change,
    }
    response = platform.http.post("/v1/activities", json=body)
    assert_problem(response, 422)
    assert field in fields_in_error(response)


def test_a_missing_region_for_an_in_person_activity_is_refused(platform: Platform) -> None:
    response = platform.http.post(
        "/v1/activities",
        json={"type": "formation", "title": "T", "date": "2023-11-15", "format": "in_person"},
    )
    assert_problem(response, 422)
    assert fields_in_error(response) == {"region"}


@pytest.mark.parametrize("field", ["type", "title", "date", "format"])
def test_a_missing_required_field_is_refused(platform: Platform, field: str) -> None:
    body = {
        "type": "formation",
        "title": "T",
        "date": "2023-11-15",
        "format": "remote",
    }
    del body[field]
    response = platform.http.post("/v1/activities", json=body)
    assert_problem(response, 422)
    assert field in fields_in_error(response)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_refused(platform: Platform, raw: bytes) -> None:
    response = platform.http.post(
        "/v1/activities", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 422)


@pytest.mark.parametrize("suffix", ["/attendances", "/public-attendance", "/cancellation"])
@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'{"count": 1, "unknown": true}'])
def test_every_activity_command_refuses_a_malformed_body_with_422(
    platform: Platform, suffix: str, raw: bytes
) -> None:
    activity_id = platform.schedule()["id"]
    response = platform.http.post(
        f"/v1/activities/{activity_id}{suffix}",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 422)
    activity = platform.http.get(f"/v1/activities/{activity_id}").json()
    assert (activity["status"], activity["version"]) == ("scheduled", 1)


def test_a_body_over_one_mebibyte_is_refused_with_413_before_auth(platform: Platform) -> None:
    big = json.dumps({"type": "formation", "title": "x" * (1024 * 1024 + 10)}).encode()
    headers = {"Content-Type": "application/json"}
    assert_problem(platform.http.post("/v1/activities", content=big, headers=headers), 413)
    anonymous = platform.events.client(token=None)
    assert_problem(anonymous.post("/v1/activities", content=big, headers=headers), 413)


# --- auth -------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_a_missing_or_unknown_token_gets_401(platform: Platform, token: str | None) -> None:
    client = platform.events.client(token)
    assert_problem(client.get("/v1/activities"), 401)
    assert_problem(client.get(f"/v1/activities/{uuid4()}"), 401)
    assert_problem(client.post("/v1/activities", json={}), 401)
    assert_problem(client.post(f"/v1/activities/{uuid4()}/cancellation", json={}), 401)


def test_a_read_only_token_cannot_write(platform: Platform) -> None:
    activity_id = platform.schedule()["id"]
    reader = platform.events.client(READER)
    assert reader.get(f"/v1/activities/{activity_id}").status_code == 200
    assert_problem(reader.post("/v1/activities", json={}), 403)
    for path in ("attendances", "public-attendance", "cancellation"):
        assert_problem(reader.post(f"/v1/activities/{activity_id}/{path}", json={}), 403)


def test_a_write_only_token_cannot_read(platform: Platform) -> None:
    writer = platform.events.client(WRITER)
    assert_problem(writer.get("/v1/activities"), 403)
    assert_problem(writer.get(f"/v1/activities/{uuid4()}"), 403)


# --- reading and listing ----------------------------------------------------------------------


def test_an_unknown_activity_is_404(platform: Platform) -> None:
    assert_problem(platform.http.get(f"/v1/activities/{uuid4()}"), 404)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("POST", "/attendances"),
        ("POST", "/public-attendance"),
        ("POST", "/cancellation"),
    ],
)
def test_an_activity_id_that_is_not_a_uuid_is_422(
    platform: Platform, method: str, suffix: str
) -> None:
    response = platform.http.request(method, f"/v1/activities/{NOT_A_UUID}{suffix}", json={})
    assert_problem(response, 422)


def test_the_list_filters_by_type_region_and_inclusive_dates(platform: Platform) -> None:
    september = platform.schedule(date="2031-09-01", region="01")["id"]
    october = platform.schedule(date="2031-10-01", type="conference", region="06")["id"]
    november = platform.schedule(date="2031-11-30", format="remote", region=None)["id"]

    def ids(**params: str) -> list[str]:
        response = platform.http.get(
            "/v1/activities", params={"from": "2031-01-01", "to": "2031-12-31", **params}
        )
        assert response.status_code == 200, response.text
        assert response.json()["next_cursor"] is None
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [september, october, november]
    assert ids(type="conference") == [october]
    assert ids(region="01") == [september]
    assert ids(**{"from": "2031-10-01"}) == [october, november]
    assert ids(to="2031-10-01") == [september, october]
    assert ids(**{"from": "2031-10-01", "to": "2031-10-01"}) == [october]
    assert ids(type="", region="") == [september, october, november]


def test_the_list_pages_in_creation_order(platform: Platform) -> None:
    created = [platform.schedule(date="2032-03-0" + str(day))["id"] for day in (3, 1, 2)]
    seen: list[str] = []
    cursor: str | None = ""
    while cursor is not None:
        params = {"from": "2032-03-01", "to": "2032-03-31", "limit": "2", "cursor": cursor}
        body = platform.http.get("/v1/activities", params=params).json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
    assert seen == created


def test_empty_filters_mean_no_filter(platform: Platform) -> None:
    response = platform.http.get("/v1/activities", params={"type": "", "from": "", "to": ""})
    assert response.status_code == 200
    assert set(response.json()) == {"items", "next_cursor"}


@pytest.mark.parametrize(
    "params",
    [
        {"type": "webinaire"},
        {"region": "18"},
        {"region": "6"},
        {"from": "2023-02-30"},
        {"to": "tomorrow"},
        {"from": "2023-1-5"},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"cursor": "%%%not-a-cursor"},
    ],
)
def test_an_invalid_list_parameter_is_422(platform: Platform, params: dict[str, str]) -> None:
    assert_problem(platform.http.get("/v1/activities", params=params), 422)


# --- attendance -------------------------------------------------------------------------------


def test_a_member_attendance_answers_201_with_the_record(platform: Platform, member: str) -> None:
    activity_id = platform.schedule()["id"]
    response = platform.attend(activity_id, member, participants=3)
    assert response.status_code == 201
    record = response.json()
    assert set(record) == {"activity_id", "cooperative_id", "participants", "recorded_at"}
    assert (record["activity_id"], record["cooperative_id"], record["participants"]) == (
        activity_id,
        member,
        3,
    )
    assert record["recorded_at"].endswith("Z")
    activity = platform.http.get(f"/v1/activities/{activity_id}").json()
    assert (activity["member_attendances"], activity["version"]) == (1, 2)


def test_participants_default_to_one(platform: Platform, member: str) -> None:
    response = platform.attend(platform.schedule()["id"], member)
    assert response.json()["participants"] == 1


def test_the_same_cooperative_again_answers_200_with_the_existing_record(
    platform: Platform, member: str
) -> None:
    activity_id = platform.schedule()["id"]
    first = platform.attend(activity_id, member, participants=2).json()
    again = platform.attend(activity_id, member, participants=5)
    assert again.status_code == 200
    assert again.json() == first
    activity = platform.http.get(f"/v1/activities/{activity_id}").json()
    assert (activity["member_attendances"], activity["version"]) == (1, 2)


def test_a_cooperative_that_is_not_a_member_on_the_date_gets_422_not_member(
    platform: Platform, member: str
) -> None:
    before_joining = platform.schedule(date="2019-12-31")["id"]
    response = platform.attend(before_joining, member)
    assert_problem(response, 422, "/cooperative-not-member")
    unknown = platform.attend(platform.schedule()["id"], str(uuid4()))
    assert_problem(unknown, 422, "/cooperative-not-member")


def test_concurrent_attendances_are_each_recorded_once(
    platform: Platform, crowd: list[str]
) -> None:
    activity_id = platform.schedule()["id"]

    def attend(cooperative_id: str) -> int:
        with platform.events.client(ADMIN) as client:
            path = f"/v1/activities/{activity_id}/attendances"
            return client.post(path, json={"cooperative_id": cooperative_id}).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(attend, crowd + crowd))
    assert sorted(statuses) == [200] * 12 + [201] * 12
    activity = platform.http.get(f"/v1/activities/{activity_id}").json()
    assert (activity["member_attendances"], activity["version"]) == (12, 13)


def test_concurrent_public_attendances_all_add_up(platform: Platform) -> None:
    activity_id = platform.schedule(type="cine_discussion")["id"]

    def count(people: int) -> int:
        with platform.events.client(ADMIN) as client:
            path = f"/v1/activities/{activity_id}/public-attendance"
            return client.post(path, json={"count": people}).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(count, range(1, 25)))
    assert statuses == [201] * 24
    activity = platform.http.get(f"/v1/activities/{activity_id}").json()
    assert activity["public_attendance"] == sum(range(1, 25))


def test_attendance_at_an_unknown_activity_is_404_before_membership(platform: Platform) -> None:
    assert_problem(platform.attend(str(uuid4()), str(uuid4())), 404)


def test_attendance_at_a_cancelled_activity_is_409(platform: Platform, member: str) -> None:
    activity_id = platform.schedule()["id"]
    platform.attend(activity_id, member)
    platform.http.post(f"/v1/activities/{activity_id}/cancellation", json={})
    assert_problem(platform.attend(activity_id, member), 409)
    assert_problem(platform.attend(activity_id, str(uuid4())), 409)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cooperative_id": NOT_A_UUID}, "cooperative_id"),
        ({"cooperative_id": 12}, "cooperative_id"),
        ({"cooperative_id": None}, "cooperative_id"),
        ({"participants": 2}, "cooperative_id"),
        ({"cooperative_id": "MEMBER", "participants": 0}, "participants"),
        ({"cooperative_id": "MEMBER", "participants": "2"}, "participants"),
        ({"cooperative_id": "MEMBER", "participants": 1.5}, "participants"),
        ({"cooperative_id": "MEMBER", "participants": True}, "participants"),
        ({"cooperative_id": "MEMBER", "guests": 2}, "guests"),
    ],
)
def test_a_bad_attendance_is_422(
    platform: Platform, member: str, body: dict[str, Any], field: str
) -> None:
    activity_id = platform.schedule()["id"]
    body = {k: member if v == "MEMBER" else v for k, v in body.items()}
    response = platform.http.post(f"/v1/activities/{activity_id}/attendances", json=body)
    assert_problem(response, 422)
    assert field in fields_in_error(response)
    assert platform.http.get(f"/v1/activities/{activity_id}").json()["member_attendances"] == 0


def test_a_malformed_attendance_is_422_even_for_an_unknown_activity(platform: Platform) -> None:
    response = platform.http.post(
        f"/v1/activities/{uuid4()}/attendances", json={"cooperative_id": "nope"}
    )
    assert_problem(response, 422)


def test_checks_come_in_the_contract_order(platform: Platform) -> None:
    anonymous = platform.events.client(token=None)
    big = b"{" + b" " * (1024 * 1024) + b"}"
    path = f"/v1/activities/{NOT_A_UUID}/attendances"
    assert_problem(anonymous.post(path, content=big), 413)
    assert_problem(anonymous.post(path, json={"cooperative_id": "nope"}), 401)
    reader = platform.events.client(READER)
    assert_problem(reader.post(path, json={"cooperative_id": "nope"}), 403)


# --- public attendance ------------------------------------------------------------------------


def test_public_attendance_answers_201_with_the_record_and_adds_up(platform: Platform) -> None:
    activity_id = platform.schedule(type="cine_discussion")["id"]
    path = f"/v1/activities/{activity_id}/public-attendance"
    response = platform.http.post(path, json={"count": 35, "region": "01"})
    assert response.status_code == 201
    record = response.json()
    assert set(record) == {"id", "activity_id", "count", "region", "recorded_at", "external_ref"}
    assert record["external_ref"] is None
    assert (record["activity_id"], record["count"], record["region"]) == (activity_id, 35, "01")
    second = platform.http.post(path, json={"count": 12}).json()
    assert second["region"] is None and second["id"] != record["id"]
    activity = platform.http.get(f"/v1/activities/{activity_id}").json()
    assert (activity["public_attendance"], activity["version"]) == (47, 3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": -4}, "count"),
        ({"count": "12"}, "count"),
        ({}, "count"),
        ({"count": 3, "region": "00"}, "region"),
        ({"count": 3, "people": 4}, "people"),
    ],
)
def test_a_bad_public_attendance_is_422(
    platform: Platform, body: dict[str, Any], field: str
) -> None:
    activity_id = platform.schedule()["id"]
    response = platform.http.post(f"/v1/activities/{activity_id}/public-attendance", json=body)
    assert_problem(response, 422)
    assert field in fields_in_error(response)


def test_public_attendance_at_unknown_or_cancelled_activities(platform: Platform) -> None:
    assert_problem(
        platform.http.post(f"/v1/activities/{uuid4()}/public-attendance", json={"count": 3}), 404
    )
    activity_id = platform.schedule()["id"]
    platform.http.post(f"/v1/activities/{activity_id}/cancellation", json={"reason": "neige"})
    response = platform.http.post(
        f"/v1/activities/{activity_id}/public-attendance", json={"count": 3}
    )
    assert_problem(response, 409)


# --- cancellation -----------------------------------------------------------------------------


def test_cancelling_answers_200_with_the_cancelled_activity(platform: Platform) -> None:
    activity_id = platform.schedule()["id"]
    response = platform.http.post(
        f"/v1/activities/{activity_id}/cancellation", json={"reason": "salle fermée"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'


def test_cancelling_accepts_an_empty_body(platform: Platform) -> None:
    activity_id = platform.schedule()["id"]
    response = platform.http.post(f"/v1/activities/{activity_id}/cancellation")
    assert response.status_code == 200


def test_cancelling_twice_is_409_and_an_unknown_activity_404(platform: Platform) -> None:
    activity_id = platform.schedule()["id"]
    path = f"/v1/activities/{activity_id}/cancellation"
    assert platform.http.post(path, json={}).status_code == 200
    assert_problem(platform.http.post(path, json={}), 409)
    assert_problem(platform.http.post(f"/v1/activities/{uuid4()}/cancellation", json={}), 404)


@pytest.mark.parametrize("body", [{"reason": 5}, {"why": "x"}, [1]])
def test_a_bad_cancellation_is_422(platform: Platform, body: Any) -> None:
    activity_id = platform.schedule()["id"]
    response = platform.http.post(f"/v1/activities/{activity_id}/cancellation", json=body)
    assert_problem(response, 422)


# --- idempotency ------------------------------------------------------------------------------


def test_a_repeated_idempotent_schedule_replays_the_same_activity(platform: Platform) -> None:
    key = {"Idempotency-Key": uuid4().hex}
    body = {"type": "autre", "title": "AGA", "date": "2033-06-01", "format": "remote"}
    first = platform.http.post("/v1/activities", json=body, headers=key)
    again = platform.http.post("/v1/activities", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    listed = platform.http.get("/v1/activities", params={"from": "2033-06-01", "to": "2033-06-01"})
    assert [a["id"] for a in listed.json()["items"]] == [first.json()["id"]]
    other = platform.http.post("/v1/activities", json={**body, "title": "AGE"}, headers=key)
    assert_problem(other, 422)


def test_a_repeated_idempotent_attendance_replays_its_status(
    platform: Platform, member: str
) -> None:
    activity_id = platform.schedule()["id"]
    platform.attend(activity_id, member)
    key = {"Idempotency-Key": uuid4().hex}
    path = f"/v1/activities/{activity_id}/attendances"
    existing = platform.http.post(path, json={"cooperative_id": member}, headers=key)
    replay = platform.http.post(path, json={"cooperative_id": member}, headers=key)
    assert (existing.status_code, replay.status_code) == (200, 200)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == existing.json()


def test_a_repeated_idempotent_public_attendance_is_counted_once(platform: Platform) -> None:
    activity_id = platform.schedule()["id"]
    key = {"Idempotency-Key": uuid4().hex}
    path = f"/v1/activities/{activity_id}/public-attendance"
    first = platform.http.post(path, json={"count": 20}, headers=key)
    again = platform.http.post(path, json={"count": 20}, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert platform.http.get(f"/v1/activities/{activity_id}").json()["public_attendance"] == 20


def test_an_idempotency_key_over_255_characters_is_422(platform: Platform) -> None:
    response = platform.http.post(
        "/v1/activities",
        json={"type": "autre", "title": "T", "date": "2023-11-15", "format": "remote"},
        headers={"Idempotency-Key": "k" * 256},
    )
    assert_problem(response, 422)


def test_no_request_in_this_file_made_the_service_fail(platform: Platform) -> None:
    log = platform.events.log_path.read_text()
    assert "unhandled error" not in log
    assert "Traceback" not in log
