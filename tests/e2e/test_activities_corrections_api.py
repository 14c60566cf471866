"""Corrections of activities and attendance over HTTP (contract §10, §16), on real processes."""

# ruff: noqa: F811  (pytest fixtures imported from test_events_api)
from __future__ import annotations

from uuid import uuid4

import pytest

from tests.e2e.test_events_api import (  # noqa: F401  (fixtures)
    Platform,
    assert_problem,
    fields_in_error,
    member,
    platform,
)

pytestmark = pytest.mark.e2e


def test_an_activity_carries_its_external_ref_and_a_known_one_answers_200(
    platform: Platform,
) -> None:
    ref = f"crm-{uuid4()}"
    first = platform.schedule(external_ref=ref)
    assert first["external_ref"] == ref
    again = platform.http.post(
        "/v1/activities",
        json={"type": "autre", "title": "Autre", "date": "2024-01-01", "format": "remote",
              "external_ref": ref},
    )  # fmt: skip
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["version"] == 1
    platform.http.post(f"/v1/activities/{first['id']}/cancellation")
    listed = platform.http.get("/v1/activities", params={"external_ref": ref}).json()
    assert [a["id"] for a in listed["items"]] == [first["id"]]
    assert listed["items"][0]["status"] == "cancelled"


def test_a_public_attendance_reference_answers_200_here_and_409_under_another_activity(
    platform: Platform,
) -> None:
    one, other = platform.schedule()["id"], platform.schedule()["id"]
    ref = f"row-{uuid4()}"
    created = platform.http.post(
        f"/v1/activities/{one}/public-attendance", json={"count": 4, "external_ref": ref}
    )
    assert created.status_code == 201 and created.json()["external_ref"] == ref
    again = platform.http.post(
        f"/v1/activities/{one}/public-attendance", json={"count": 9, "external_ref": ref}
    )
    assert again.status_code == 200 and again.json() == created.json()
    assert again.headers["etag"] == platform.http.get(f"/v1/activities/{one}").headers["etag"]
    taken = platform.http.post(
        f"/v1/activities/{other}/public-attendance", json={"count": 4, "external_ref": ref}
    )
    assert_problem(taken, 409, "/external-ref-taken")
    assert platform.http.get(f"/v1/activities/{one}").json()["public_attendance"] == 4


def test_revising_an_activity_answers_200_with_its_new_etag(platform: Platform) -> None:
    activity = platform.schedule()
    path = f"/v1/activities/{activity['id']}"
    revised = platform.http.patch(
        path, json={"date": "2023-12-01", "partners": ["CDR"]}, headers={"If-Match": '"1"'}
    )
    assert revised.status_code == 200, revised.text
    assert (revised.json()["date"], revised.json()["partners"]) == ("2023-12-01", ["CDR"])
    assert revised.headers["etag"] == '"2"'
    same = platform.http.patch(path, json={"date": "2023-12-01"})
    assert same.status_code == 200 and same.json()["version"] == 2
    stale = platform.http.patch(path, json={"title": "Autre"}, headers={"If-Match": '"1"'})
    assert_problem(stale, 412)


def test_a_revision_keeps_the_region_rule_and_names_the_field(platform: Platform) -> None:
    path = f"/v1/activities/{platform.schedule()['id']}"
    refused = platform.http.patch(path, json={"region": None})
    assert_problem(refused, 422)
    assert fields_in_error(refused) == {"region"}
    assert fields_in_error(platform.http.patch(path, json={"title": None})) == {"title"}
    remote = platform.http.patch(path, json={"format": "remote", "region": None})
    assert remote.status_code == 200 and remote.json()["region"] is None
    assert_problem(platform.http.patch(f"/v1/activities/{uuid4()}", json={"title": "x"}), 404)


def test_reinstating_needs_a_cancelled_activity(platform: Platform) -> None:
    path = f"/v1/activities/{platform.schedule()['id']}"
    assert_problem(platform.http.post(f"{path}/reinstatement"), 409, "/not-cancelled")
    platform.http.post(f"{path}/cancellation", json={"reason": "neige"})
    reinstated = platform.http.post(f"{path}/reinstatement", json={"reason": "reportée"})
    assert reinstated.status_code == 200
    assert reinstated.json()["status"] == "scheduled" and reinstated.headers["etag"] == '"3"'


def test_attendances_are_listed_corrected_and_withdrawn(platform: Platform, member: str) -> None:
    activity_id = platform.schedule()["id"]
    assert platform.attend(activity_id, member, participants=2).status_code == 201
    path = f"/v1/activities/{activity_id}/attendances"
    listed = platform.http.get(path).json()
    assert [(a["cooperative_id"], a["participants"]) for a in listed["items"]] == [(member, 2)]
    stale = platform.http.patch(f"{path}/{member}", json={"participants": 3},
                                headers={"If-Match": '"1"'})  # fmt: skip
    assert_problem(stale, 412)
    corrected = platform.http.patch(
        f"{path}/{member}", json={"participants": 3, "reason": "liste"}, headers={"If-Match": '"2"'}
    )
    assert corrected.status_code == 200 and corrected.json()["participants"] == 3
    assert corrected.headers["etag"] == '"3"'
    assert_problem(platform.http.patch(f"{path}/{member}", json={"participants": 0}), 422)
    withdrawn = platform.http.delete(f"{path}/{member}", params={"reason": "doublon"})
    assert withdrawn.status_code == 204 and withdrawn.headers["etag"] == '"4"'
    assert_problem(platform.http.delete(f"{path}/{member}"), 404, "/already-withdrawn")
    assert platform.http.get(path).json()["items"] == []
    assert platform.attend(activity_id, member).status_code == 201


def test_attendance_corrections_are_allowed_on_a_cancelled_activity(
    platform: Platform, member: str
) -> None:
    activity_id = platform.schedule()["id"]
    platform.attend(activity_id, member)
    platform.http.post(f"/v1/activities/{activity_id}/cancellation")
    path = f"/v1/activities/{activity_id}/attendances/{member}"
    assert platform.http.patch(path, json={"participants": 4}).status_code == 200
    assert platform.http.delete(path).status_code == 204


def test_an_unknown_attendance_or_activity_is_404(platform: Platform) -> None:
    activity_id = platform.schedule()["id"]
    nobody = uuid4()
    path = f"/v1/activities/{activity_id}/attendances/{nobody}"
    assert_problem(platform.http.patch(path, json={"participants": 2}), 404)
    assert_problem(platform.http.delete(path), 404)
    assert_problem(platform.http.get(f"/v1/activities/{uuid4()}/attendances"), 404)


def test_public_attendance_is_listed_corrected_and_withdrawn(platform: Platform) -> None:
    activity_id = platform.schedule(type="cine_discussion")["id"]
    path = f"/v1/activities/{activity_id}/public-attendance"
    record = platform.http.post(path, json={"count": 40, "region": "01"}).json()
    listed = platform.http.get(path).json()["items"]
    assert listed == [record]
    corrected = platform.http.patch(f"{path}/{record['id']}", json={"count": 42, "region": "02"})
    assert corrected.status_code == 200 and corrected.headers["etag"] == '"3"'
    assert (corrected.json()["count"], corrected.json()["region"]) == (42, "02")
    assert platform.http.get(f"/v1/activities/{activity_id}").json()["public_attendance"] == 42
    assert platform.http.delete(f"{path}/{record['id']}").status_code == 204
    assert_problem(platform.http.delete(f"{path}/{record['id']}"), 404, "/already-withdrawn")
    assert_problem(platform.http.patch(f"{path}/{uuid4()}", json={"count": 2}), 404)
    assert platform.http.get(f"/v1/activities/{activity_id}").json()["public_attendance"] == 0


def test_a_withdrawal_between_two_pages_of_records_skips_none(platform: Platform) -> None:
    activity_id = platform.schedule(type="cine_discussion")["id"]
    path = f"/v1/activities/{activity_id}/public-attendance"
    first, second, third = (
        platform.http.post(path, json={"count": n}).json()["id"] for n in (10, 20, 30)
    )
    page = platform.http.get(path, params={"limit": 1}).json()
    assert [r["id"] for r in page["items"]] == [first]

    assert platform.http.delete(f"{path}/{first}").status_code == 204
    rest = platform.http.get(path, params={"cursor": page["next_cursor"]}).json()

    assert [r["id"] for r in rest["items"]] == [second, third]


def test_a_cooperative_s_attendances_are_listed_across_activities(
    platform: Platform, member: str
) -> None:
    first, second = platform.schedule()["id"], platform.schedule()["id"]
    platform.attend(first, member)
    platform.attend(second, member, participants=3)
    platform.http.delete(f"/v1/activities/{first}/attendances/{member}")
    listed = platform.http.get("/v1/attendances", params={"cooperative_id": member}).json()
    mine = [a["activity_id"] for a in listed["items"]]
    assert second in mine and first not in mine
    for params in ({}, {"cooperative_id": ""}, {"cooperative_id": "nope"}):
        refused = platform.http.get("/v1/attendances", params=params)
        assert_problem(refused, 422)
        assert fields_in_error(refused) == {"cooperative_id"}


def test_an_activity_s_history_shows_its_corrections(platform: Platform) -> None:
    activity_id = platform.schedule()["id"]
    platform.http.patch(
        f"/v1/activities/{activity_id}", json={"title": "Nouveau titre", "reason": "coquille"}
    )
    history = platform.http.get(f"/v1/activities/{activity_id}/history").json()
    assert [(h["type"], h["version"]) for h in history["items"]] == [
        ("ActivityScheduled", 1),
        ("ActivityRevised", 2),
    ]
    assert history["items"][1]["data"] == {
        "activity_id": activity_id,
        "changes": {"title": "Nouveau titre"},
        "reason": "coquille",
    }
    assert_problem(platform.http.get(f"/v1/activities/{uuid4()}/history"), 404)


def test_withdrawals_and_reinstatements_honour_if_match(platform: Platform, member: str) -> None:
    activity_id = platform.schedule()["id"]
    platform.attend(activity_id, member)
    path = f"/v1/activities/{activity_id}"
    stale = platform.http.delete(f"{path}/attendances/{member}", headers={"If-Match": '"1"'})
    assert_problem(stale, 412)
    assert stale.headers["etag"] == '"2"'
    platform.http.post(f"{path}/cancellation")
    assert_problem(platform.http.post(f"{path}/reinstatement", headers={"If-Match": '"2"'}), 412)
    fresh = platform.http.post(f"{path}/reinstatement", headers={"If-Match": '"3"'})
    assert fresh.status_code == 200 and fresh.json()["version"] == 4


def test_a_malformed_correction_is_422_before_404(platform: Platform) -> None:
    unknown = f"/v1/activities/{uuid4()}"
    refused = platform.http.patch(f"{unknown}/public-attendance/{uuid4()}", json={"count": None})
    assert_problem(refused, 422)
    assert fields_in_error(refused) == {"count"}
    too_long = platform.http.delete(
        f"{unknown}/attendances/{uuid4()}", params={"reason": "x" * 501}
    )
    assert fields_in_error(too_long) == {"reason"}
    not_a_uuid = platform.http.patch(f"{unknown}/attendances/nope", json={"participants": 2})
    assert_problem(not_a_uuid, 422)
