"""Events API rules (contract §1, §3, §10) in-process, its membership view fed by `sync()`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from tests.inprocess.platform import READER, InProcessPlatform, fields_of, join, problem, running

pytestmark = pytest.mark.inprocess


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessPlatform]:
    with running(tmp_path_factory.mktemp("events"), "membership", "events") as built:
        yield built


@pytest.fixture
def api(platform: InProcessPlatform) -> TestClient:
    return platform.services["events"].client()


@pytest.fixture(scope="module")
def member(platform: InProcessPlatform) -> str:
    """A cooperative active since 2020-01-15, known to the events service."""
    return join(platform)


def schedule(api: TestClient, **overrides: Any) -> dict[str, Any]:
    body = {
        "type": "formation",
        "title": "Gouvernance démocratique",
        "date": "2023-11-15",
        "format": "in_person",
        "region": "06",
        **overrides,
    }
    response = api.post("/v1/activities", json=body)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def attend(api: TestClient, activity_id: str, cooperative_id: str, **extra: Any) -> Any:
    path = f"/v1/activities/{activity_id}/attendances"
    return api.post(path, json={"cooperative_id": cooperative_id, **extra})


def test_scheduling_answers_201_with_location_etag_and_reads_back(api: TestClient) -> None:
    response = api.post(
        "/v1/activities",
        json={"type": "formation", "title": "T", "date": "2023-11-15", "format": "remote"},
    )

    assert response.status_code == 201, response.text
    activity = response.json()
    assert response.headers["Location"].endswith(f"/v1/activities/{activity['id']}")
    assert response.headers["ETag"] == '"1"'
    assert (activity["region"], activity["partners"], activity["status"]) == (
        None,
        [],
        "scheduled",
    )
    assert api.get(f"/v1/activities/{activity['id']}").json() == activity


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"type": "banquet"}, "type"),
        ({"date": "2023-02-30"}, "date"),
        ({"format": "hologram"}, "format"),
        ({"region": None}, "region"),
        ({"title": ""}, "title"),
    ],
)
def test_a_bad_activity_is_422_naming_the_field(
    api: TestClient, overrides: dict[str, Any], field: str
) -> None:
    body = {
        "type": "formation",
        "title": "T",
        "date": "2023-11-15",
        "format": "in_person",
        "region": "06",
        **overrides,
    }

    assert field in fields_of(problem(api.post("/v1/activities", json=body), 422))


def test_the_list_filters_by_type_and_inclusive_dates(api: TestClient) -> None:
    day = "2031-03-0"
    kept = [schedule(api, type="courtepointe", date=f"{day}{d}")["id"] for d in (1, 3)]
    schedule(api, type="formation", date=f"{day}2")
    schedule(api, type="courtepointe", date=f"{day}4")

    response = api.get(
        "/v1/activities", params={"type": "courtepointe", "from": f"{day}1", "to": f"{day}3"}
    )

    assert [a["id"] for a in response.json()["items"]] == kept
    problem(api.get("/v1/activities", params={"from": "2031-13-01"}), 422)


def test_a_member_attendance_answers_201_then_200_with_the_existing_record(
    api: TestClient, member: str
) -> None:
    activity_id = schedule(api)["id"]

    first = attend(api, activity_id, member, participants=2)
    again = attend(api, activity_id, member, participants=5)

    assert first.status_code == 201, first.text
    assert (again.status_code, again.json()) == (200, first.json())
    activity = api.get(f"/v1/activities/{activity_id}").json()
    assert (activity["member_attendances"], activity["version"]) == (1, 2)


def test_attendance_needs_membership_on_the_activity_date_as_the_view_learned_it(
    platform: InProcessPlatform, api: TestClient
) -> None:
    cooperative_id = join(platform, "2022-01-01")
    before_joining = schedule(api, date="2021-06-01")["id"]
    refused = problem(attend(api, before_joining, cooperative_id), 422)
    assert refused["type"].endswith("/cooperative-not-member")

    corrected = (
        platform.services["membership"]
        .client()
        .post(
            f"/v1/cooperatives/{cooperative_id}/membership-correction",
            json={"periods": [{"start": "2021-01-01"}], "reason": "date d'adhésion"},
        )
    )
    assert corrected.status_code == 200, corrected.text
    still_unknown = attend(api, before_joining, cooperative_id)
    platform.sync()
    accepted = attend(api, before_joining, cooperative_id)

    assert still_unknown.status_code == 422
    assert accepted.status_code == 201, accepted.text
    assert problem(attend(api, before_joining, str(uuid4())), 422)["type"].endswith(
        "/cooperative-not-member"
    )


def test_checks_come_in_the_contract_order_413_401_403_422_404_409(
    platform: InProcessPlatform, api: TestClient, member: str
) -> None:
    events = platform.services["events"]
    anonymous, reader = events.client(None), events.client(READER)
    path = "/v1/activities/not-a-uuid/attendances"

    problem(anonymous.post(path, content=b"{" + b" " * (1024 * 1024) + b"}"), 413)
    problem(anonymous.post(path, json={"cooperative_id": "nope"}), 401)
    problem(reader.post(path, json={"cooperative_id": "nope"}), 403)
    problem(api.post(f"/v1/activities/{uuid4()}/attendances", json={"cooperative_id": "x"}), 422)
    problem(attend(api, str(uuid4()), str(uuid4())), 404)
    cancelled = schedule(api)["id"]
    assert api.post(f"/v1/activities/{cancelled}/cancellation").status_code == 200
    problem(attend(api, cancelled, member), 409)
    problem(api.post(f"/v1/activities/{cancelled}/cancellation", json={}), 409)


def test_a_revision_answers_its_new_etag_and_a_stale_if_match_is_412(api: TestClient) -> None:
    path = f"/v1/activities/{schedule(api)['id']}"

    revised = api.patch(path, json={"date": "2023-12-01"}, headers={"If-Match": '"1"'})
    stale = api.patch(path, json={"title": "Autre"}, headers={"If-Match": '"1"'})
    refused = api.patch(path, json={"region": None})

    assert (revised.status_code, revised.headers["ETag"]) == (200, '"2"')
    problem(stale, 412)
    assert fields_of(problem(refused, 422)) == {"region"}


def test_an_attendance_is_corrected_then_withdrawn_and_may_be_recorded_again(
    api: TestClient, member: str
) -> None:
    activity_id = schedule(api)["id"]
    assert attend(api, activity_id, member, participants=2).status_code == 201
    path = f"/v1/activities/{activity_id}/attendances/{member}"

    problem(api.patch(path, json={"participants": 3}, headers={"If-Match": '"1"'}), 412)
    corrected = api.patch(path, json={"participants": 3, "reason": "liste"})
    problem(api.patch(path, json={"participants": 0}), 422)
    withdrawn = api.delete(path, params={"reason": "doublon"})

    assert (corrected.status_code, corrected.json()["participants"]) == (200, 3)
    assert (withdrawn.status_code, withdrawn.headers["ETag"]) == (204, '"4"')
    assert problem(api.delete(path), 404)["type"].endswith("/already-withdrawn")
    assert api.get(f"/v1/activities/{activity_id}/attendances").json()["items"] == []
    assert attend(api, activity_id, member).status_code == 201


def test_public_attendance_adds_up_and_is_counted_once_under_its_idempotency_key(
    api: TestClient,
) -> None:
    activity_id = schedule(api, type="cine_discussion")["id"]
    path = f"/v1/activities/{activity_id}/public-attendance"
    key = {"Idempotency-Key": uuid4().hex}

    first = api.post(path, json={"count": 20}, headers=key)
    replay = api.post(path, json={"count": 20}, headers=key)
    other = api.post(path, json={"count": 15, "region": "01"})

    assert (first.status_code, replay.status_code, other.status_code) == (201, 201, 201)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert api.get(f"/v1/activities/{activity_id}").json()["public_attendance"] == 35
    assert fields_of(problem(api.post(path, json={"count": 0}), 422)) == {"count"}


def test_a_known_external_ref_answers_200_with_the_existing_activity(api: TestClient) -> None:
    ref = f"crm-{uuid4()}"
    first = schedule(api, external_ref=ref)

    again = api.post(
        "/v1/activities",
        json={"type": "autre", "title": "Autre", "date": "2024-01-01", "format": "remote",
              "external_ref": ref},
    )  # fmt: skip

    assert again.status_code == 200
    assert again.json() == first
