"""Corrections of ambassadors and their actions (contract §10, §16), and the membership policy,
against real `coop serve` processes (a membership and an ambassadors service on one NATS)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from tests.e2e.test_ambassadors_api import (
    NOT_A_UUID,
    TOKENS,
    Platform,
    assert_problem,
    running_platform,
)
from tests.support import stream_messages, wait_for

pytestmark = pytest.mark.e2e

# A token that may write and read ambassadors but not see personal information (§4 v2, §16.16).
CORRECTOR = "ambassadors-corrector-token"
ACTION_KEYS = {
    "id",
    "ambassador_id",
    "kind",
    "performed_on",
    "activity_id",
    "people_reached",
    "external_ref",
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root: Path = tmp_path_factory.mktemp("ambassadors-corrections-e2e")
    tokens = {**TOKENS, CORRECTOR: ["read", "ambassadors:write"]}
    with running_platform(root, tokens) as started:
        yield started


# --- helpers ----------------------------------------------------------------------------------


def path_of(ambassador: dict[str, Any] | str) -> str:
    ambassador_id = ambassador if isinstance(ambassador, str) else ambassador["id"]
    return f"/v1/ambassadors/{ambassador_id}"


def log_action(platform: Platform, ambassador: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Log an action (a valid one unless overridden) and return its record."""
    body = {"kind": "kiosque", "performed_on": "2023-09-01", **fields}
    response = platform.http.post(f"{path_of(ambassador)}/actions", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def fetch(platform: Platform, ambassador: dict[str, Any] | str) -> dict[str, Any]:
    response = platform.http.get(path_of(ambassador))
    assert response.status_code == 200, response.text
    return dict(response.json())


def listed_actions(platform: Platform, ambassador: dict[str, Any]) -> list[dict[str, Any]]:
    response = platform.reader.get(f"{path_of(ambassador)}/actions", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def history(platform: Platform, ambassador: dict[str, Any] | str) -> list[dict[str, Any]]:
    response = platform.reader.get(f"{path_of(ambassador)}/history", params={"limit": 1000})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return list(response.json()["items"])


def retire(platform: Platform, ambassador: dict[str, Any], retired_on: str) -> None:
    response = platform.http.post(
        f"{path_of(ambassador)}/retirement", json={"retired_on": retired_on}
    )
    assert response.status_code == 200, response.text


def settled(platform: Platform, ambassador: dict[str, Any], **expected: Any) -> dict[str, Any]:
    """Wait until the ambassador shows these values (the policy runs from NATS)."""

    def check() -> dict[str, Any] | None:
        doc = fetch(platform, ambassador)
        return doc if all(doc[key] == value for key, value in expected.items()) else None

    return dict(wait_for(check))


def membership(platform: Platform, cooperative_id: str, action: str, body: dict[str, Any]) -> None:
    """POST one of the membership service's commands about a cooperative."""
    response = platform.members.post(f"/v1/cooperatives/{cooperative_id}/{action}", json=body)
    assert response.status_code == 200, response.text


def last_event(platform: Platform, ambassador: dict[str, Any]) -> dict[str, Any]:
    return history(platform, ambassador)[-1]


# --- listing actions --------------------------------------------------------------------------


def test_actions_are_listed_oldest_first_as_corrected_without_the_withdrawn_ones(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    first = log_action(platform, ambassador, performed_on="2023-07-01", people_reached=3)
    second = log_action(platform, ambassador, performed_on="2023-08-01")
    third = log_action(platform, ambassador, kind="mentorat", performed_on="2023-09-01")
    corrected = platform.http.patch(
        f"{path_of(ambassador)}/actions/{first['id']}", json={"people_reached": 30}
    )
    assert corrected.status_code == 200, corrected.text
    withdrawn = platform.http.delete(f"{path_of(ambassador)}/actions/{second['id']}")
    assert withdrawn.status_code == 204, withdrawn.text

    response = platform.reader.get(f"{path_of(ambassador)}/actions")

    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"items", "next_cursor"}
    assert page["next_cursor"] is None
    assert all(set(item) == ACTION_KEYS for item in page["items"])
    assert page["items"] == [{**first, "people_reached": 30}, third]


def test_the_actions_of_an_unknown_ambassador_are_404_and_a_malformed_id_422(
    platform: Platform,
) -> None:
    assert_problem(platform.reader.get(f"/v1/ambassadors/{uuid4()}/actions"), 404)
    assert_problem(platform.reader.get(f"/v1/ambassadors/{NOT_A_UUID}/actions"), 422)


def test_the_actions_page_with_limit_and_cursor(platform: Platform) -> None:
    ambassador = platform.ambassador()
    logged = [
        log_action(platform, ambassador, performed_on=f"2023-0{month}-01")["id"]
        for month in (7, 8, 9)
    ]

    seen: list[str] = []
    sizes: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        response = platform.reader.get(f"{path_of(ambassador)}/actions", params=params)
        assert response.status_code == 200, response.text
        sizes.append(len(response.json()["items"]))
        seen += [item["id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    two = platform.reader.get(f"{path_of(ambassador)}/actions", params={"limit": 2}).json()

    assert seen == logged
    assert sizes == [1, 1, 1]
    assert [item["id"] for item in two["items"]] == logged[:2]
    assert two["next_cursor"] is not None
    for bad in ({"limit": 0}, {"limit": 1001}, {"cursor": "%%%not-a-cursor"}):
        assert_problem(platform.reader.get(f"{path_of(ambassador)}/actions", params=bad), 422)


def test_the_actions_list_filters_on_external_ref(platform: Platform) -> None:
    ambassador = platform.ambassador()
    ref = f"action-{uuid4().hex}"
    log_action(platform, ambassador, performed_on="2023-07-01")
    wanted = log_action(platform, ambassador, external_ref=ref)

    found = platform.reader.get(f"{path_of(ambassador)}/actions", params={"external_ref": ref})

    assert found.status_code == 200, found.text
    assert found.json()["items"] == [wanted]


def test_the_actions_cursor_holds_when_an_earlier_action_is_withdrawn_between_pages(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    first, second, third = (
        log_action(platform, ambassador, performed_on=f"2023-0{month}-01")["id"]
        for month in (7, 8, 9)
    )
    path = f"{path_of(ambassador)}/actions"
    page_one = platform.reader.get(path, params={"limit": 1}).json()
    assert [item["id"] for item in page_one["items"]] == [first]

    assert platform.http.delete(f"{path}/{first}").status_code == 204
    rest = platform.reader.get(
        path, params={"limit": 1000, "cursor": page_one["next_cursor"]}
    ).json()

    # resuming after `first` gives everything logged after it: nothing is skipped
    assert [item["id"] for item in rest["items"]] == [second, third]


# --- correcting an action ---------------------------------------------------------------------


def test_an_action_correction_answers_200_with_the_action_and_the_ambassadors_new_etag(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador, people_reached=12)
    activity = str(uuid4())

    response = platform.http.patch(
        f"{path_of(ambassador)}/actions/{action['id']}",
        json={
            "kind": "presentation",
            "performed_on": "2023-10-02",
            "activity_id": activity,
            "people_reached": 40,
            "reason": "saisie erronée",
        },
        headers={"If-Match": '"2"'},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        **action,
        "kind": "presentation",
        "performed_on": "2023-10-02",
        "activity_id": activity,
        "people_reached": 40,
    }
    assert response.headers["etag"] == '"3"'
    now = fetch(platform, ambassador)
    assert (now["version"], now["actions"]) == (3, 1)
    assert listed_actions(platform, ambassador) == [response.json()]


def test_an_action_correction_may_set_optional_fields_to_null(platform: Platform) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador, activity_id=str(uuid4()), people_reached=5)

    response = platform.http.patch(
        f"{path_of(ambassador)}/actions/{action['id']}",
        json={"activity_id": None, "people_reached": None},
    )

    assert response.status_code == 200, response.text
    assert (response.json()["activity_id"], response.json()["people_reached"]) == (None, None)


def test_an_action_correction_that_changes_nothing_answers_200_and_records_nothing(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador, people_reached=7)
    before = history(platform, ambassador)

    response = platform.http.patch(
        f"{path_of(ambassador)}/actions/{action['id']}",
        json={"kind": action["kind"], "people_reached": 7, "reason": "vérification"},
        headers={"If-Match": '"2"'},
    )

    assert response.status_code == 200, response.text
    assert response.json() == action
    assert response.headers["etag"] == '"2"'
    assert fetch(platform, ambassador)["version"] == 2
    assert history(platform, ambassador) == before


def test_a_stale_if_match_on_an_action_correction_is_412_and_changes_nothing(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)

    response = platform.http.patch(
        f"{path_of(ambassador)}/actions/{action['id']}",
        json={"people_reached": 9},
        headers={"If-Match": '"1"'},
    )

    assert_problem(response, 412)
    assert listed_actions(platform, ambassador) == [action]
    assert fetch(platform, ambassador)["version"] == 2


def test_an_action_corrected_to_before_the_enrollment_is_422_on_performed_on(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)

    response = platform.http.patch(
        f"{path_of(ambassador)}/actions/{action['id']}", json={"performed_on": "2023-05-31"}
    )

    assert_problem(response, 422)
    assert [e["field"] for e in response.json()["errors"]] == ["performed_on"]
    assert listed_actions(platform, ambassador) == [action]


def test_an_action_corrected_to_on_or_after_the_ambassadors_end_is_409(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)
    retire(platform, ambassador, "2024-01-01")
    path = f"{path_of(ambassador)}/actions/{action['id']}"

    for day in ("2024-01-01", "2024-03-15"):
        assert_problem(platform.http.patch(path, json={"performed_on": day}), 409)
    earlier = platform.http.patch(path, json={"performed_on": "2023-12-31"})

    assert earlier.status_code == 200, earlier.text
    assert earlier.json()["performed_on"] == "2023-12-31"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": None},
        {"performed_on": None},
        {"kind": "podcast"},
        {"performed_on": "2023-02-30"},
        {"people_reached": -1},
        {"people_reached": "3"},
        {"activity_id": NOT_A_UUID},
        {"place": "Rimouski"},
        {"reason": "x" * 501},
    ],
    ids=lambda b: f"{next(iter(b))}={str(next(iter(b.values())))[:12]!r}",
)
def test_an_action_correction_with_a_bad_body_is_422(
    platform: Platform, body: dict[str, Any]
) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)

    response = platform.http.patch(f"{path_of(ambassador)}/actions/{action['id']}", json=body)

    assert_problem(response, 422)
    assert [e["field"] for e in response.json()["errors"]] == [next(iter(body))]
    assert fetch(platform, ambassador)["version"] == 2


def test_correcting_an_unknown_action_or_ambassador_is_404(platform: Platform) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)
    body = {"people_reached": 1}

    assert_problem(platform.http.patch(f"{path_of(ambassador)}/actions/{uuid4()}", json=body), 404)
    assert_problem(
        platform.http.patch(f"/v1/ambassadors/{uuid4()}/actions/{action['id']}", json=body), 404
    )
    other = platform.ambassador()
    assert_problem(platform.http.patch(f"{path_of(other)}/actions/{action['id']}", json=body), 404)
    assert_problem(
        platform.http.patch(f"{path_of(ambassador)}/actions/{NOT_A_UUID}", json=body), 422
    )


def test_action_corrections_check_in_the_contracts_order(platform: Platform) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)
    retire(platform, ambassador, "2024-01-01")
    path = f"{path_of(ambassador)}/actions/{action['id']}"
    stale = {"If-Match": '"1"'}

    # a malformed body before 404
    assert_problem(
        platform.http.patch(f"/v1/ambassadors/{uuid4()}/actions/{uuid4()}", json={"kind": 1}),
        422,
    )
    # 404 before 412
    assert_problem(
        platform.http.patch(
            f"/v1/ambassadors/{uuid4()}/actions/{uuid4()}",
            json={"people_reached": 1},
            headers=stale,
        ),
        404,
    )
    # 412 before 409 and before the business 422
    assert_problem(
        platform.http.patch(path, json={"performed_on": "2024-02-01"}, headers=stale), 412
    )
    assert_problem(
        platform.http.patch(path, json={"performed_on": "2023-01-01"}, headers=stale), 412
    )


# --- withdrawing an action --------------------------------------------------------------------


def test_withdrawing_an_action_answers_204_and_it_counts_no_more(platform: Platform) -> None:
    ambassador = platform.ambassador()
    kept = log_action(platform, ambassador, performed_on="2023-07-01")
    gone = log_action(platform, ambassador, performed_on="2023-08-01")
    assert fetch(platform, ambassador)["actions"] == 2

    response = platform.http.delete(
        f"{path_of(ambassador)}/actions/{gone['id']}",
        params={"reason": "doublon"},
        headers={"If-Match": '"3"'},
    )

    assert response.status_code == 204, response.text
    assert response.content == b""
    now = fetch(platform, ambassador)
    assert (now["actions"], now["version"]) == (1, 4)
    assert listed_actions(platform, ambassador) == [kept]
    assert platform.http.get(f"{path_of(ambassador)}/personal-data").json()["actions"] == [kept]


def test_withdrawing_an_action_again_is_404_already_withdrawn(platform: Platform) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)
    path = f"{path_of(ambassador)}/actions/{action['id']}"
    assert platform.http.delete(path).status_code == 204

    again = platform.http.delete(path)

    assert_problem(again, 404, "already-withdrawn")
    assert fetch(platform, ambassador)["version"] == 3
    assert_problem(platform.http.patch(path, json={"people_reached": 4}), 404)


def test_withdrawing_an_unknown_action_is_404_but_not_already_withdrawn(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()

    response = platform.http.delete(f"{path_of(ambassador)}/actions/{uuid4()}")

    assert_problem(response, 404)
    assert not response.json()["type"].endswith("/already-withdrawn")
    assert_problem(platform.http.delete(f"/v1/ambassadors/{uuid4()}/actions/{uuid4()}"), 404)


def test_a_stale_if_match_on_a_withdrawal_is_412_and_keeps_the_action(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)

    response = platform.http.delete(
        f"{path_of(ambassador)}/actions/{action['id']}", headers={"If-Match": '"1"'}
    )

    assert_problem(response, 412)
    assert listed_actions(platform, ambassador) == [action]
    assert fetch(platform, ambassador)["actions"] == 1


def test_a_withdrawal_reason_over_500_characters_is_422_and_500_are_accepted(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)
    path = f"{path_of(ambassador)}/actions/{action['id']}"

    too_long = platform.http.delete(path, params={"reason": "x" * 501})

    assert_problem(too_long, 422)
    assert [e["field"] for e in too_long.json()["errors"]] == ["reason"]
    assert fetch(platform, ambassador)["actions"] == 1
    assert platform.http.delete(path, params={"reason": "y" * 500}).status_code == 204
    assert last_event(platform, ambassador)["data"]["reason"] == "y" * 500


# --- correcting the ambassador ----------------------------------------------------------------


def test_changing_name_and_email_answers_200_and_records_no_event(platform: Platform) -> None:
    ambassador = platform.ambassador()

    response = platform.http.patch(
        path_of(ambassador), json={"name": "Camille Tremblay-Roy", "email": "ctr@example.org"}
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        **ambassador,
        "name": "Camille Tremblay-Roy",
        "email": "ctr@example.org",
    }
    assert response.headers["etag"] == '"1"'
    assert platform.personal.get(path_of(ambassador)).json()["name"] == "Camille Tremblay-Roy"
    assert [entry["type"] for entry in history(platform, ambassador)] == ["AmbassadorEnrolled"]


def test_an_email_may_be_removed_with_null(platform: Platform) -> None:
    ambassador = platform.ambassador()

    response = platform.http.patch(path_of(ambassador), json={"email": None})

    assert response.status_code == 200, response.text
    assert (response.json()["email"], response.json()["version"]) == (None, 1)


def test_name_and_email_cannot_change_once_erased(platform: Platform) -> None:
    ambassador = platform.ambassador()
    assert platform.http.delete(f"{path_of(ambassador)}/personal-data").status_code == 204

    for body in ({"name": "Nouveau Nom"}, {"email": "nouveau@example.org"}):
        assert_problem(platform.http.patch(path_of(ambassador), json=body), 409)
    after = platform.http.get(path_of(ambassador)).json()
    assert (after["name"], after["email"], after["erased"]) == (None, None, True)


def test_correcting_enrolled_on_records_an_enrollment_correction(platform: Platform) -> None:
    ambassador = platform.ambassador()

    response = platform.http.patch(
        path_of(ambassador),
        json={"enrolled_on": "2023-04-15", "reason": "date du formulaire"},
        headers={"If-Match": '"1"'},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {**ambassador, "enrolled_on": "2023-04-15", "version": 2}
    assert response.headers["etag"] == '"2"'
    entry = last_event(platform, ambassador)
    assert (entry["type"], entry["version"]) == ("AmbassadorEnrollmentCorrected", 2)
    assert entry["data"] == {
        "ambassador_id": ambassador["id"],
        "enrolled_on": "2023-04-15",
        "reason": "date du formulaire",
    }
    early = platform.http.post(
        f"{path_of(ambassador)}/actions", json={"kind": "autre", "performed_on": "2023-04-20"}
    )
    assert early.status_code == 201, early.text


def test_an_unchanged_enrolled_on_records_nothing(platform: Platform) -> None:
    ambassador = platform.ambassador()

    response = platform.http.patch(path_of(ambassador), json={"enrolled_on": "2023-06-01"})

    assert response.status_code == 200, response.text
    assert response.json()["version"] == 1
    assert len(history(platform, ambassador)) == 1


def test_enrolled_on_after_one_of_the_actions_or_on_the_end_is_422(platform: Platform) -> None:
    ambassador = platform.ambassador()
    log_action(platform, ambassador, performed_on="2023-07-01")
    retire(platform, ambassador, "2023-09-01")

    after_action = platform.http.patch(path_of(ambassador), json={"enrolled_on": "2023-07-02"})
    on_end = platform.http.patch(path_of(ambassador), json={"enrolled_on": "2023-09-01"})

    for response in (after_action, on_end):
        assert_problem(response, 422)
        assert [e["field"] for e in response.json()["errors"]] == ["enrolled_on"]
    assert fetch(platform, ambassador)["enrolled_on"] == "2023-06-01"
    same_day = platform.http.patch(path_of(ambassador), json={"enrolled_on": "2023-07-01"})
    assert same_day.status_code == 200, same_day.text


def test_enrolled_on_when_the_cooperative_was_not_a_member_is_422_not_member(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()

    response = platform.http.patch(path_of(ambassador), json={"enrolled_on": "2020-01-14"})

    assert_problem(response, 422, "cooperative-not-member")
    assert fetch(platform, ambassador)["version"] == 1
    on_join = platform.http.patch(path_of(ambassador), json={"enrolled_on": "2020-01-15"})
    assert on_join.status_code == 200, on_join.text


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": None},
        {"enrolled_on": None},
        {"enrolled_on": "2023-13-01"},
        {"email": "not-an-email"},
        {"status": "retired"},
        {"reason": "x" * 501},
    ],
    ids=lambda b: f"{next(iter(b))}={str(next(iter(b.values())))[:12]!r}",
)
def test_an_ambassador_patch_with_a_bad_body_is_422(
    platform: Platform, body: dict[str, Any]
) -> None:
    ambassador = platform.ambassador()

    response = platform.http.patch(path_of(ambassador), json=body)

    assert_problem(response, 422)
    assert fetch(platform, ambassador) == ambassador


def test_an_ambassador_patch_is_404_when_unknown_and_412_when_stale(platform: Platform) -> None:
    ambassador = platform.ambassador()

    assert_problem(platform.http.patch(f"/v1/ambassadors/{uuid4()}", json={"name": "X"}), 404)
    stale = platform.http.patch(
        path_of(ambassador), json={"enrolled_on": "2023-05-01"}, headers={"If-Match": '"5"'}
    )
    assert_problem(stale, 412)
    stale_personal = platform.http.patch(
        path_of(ambassador), json={"name": "Autre"}, headers={"If-Match": '"5"'}
    )
    assert_problem(stale_personal, 412)
    assert fetch(platform, ambassador) == ambassador


def test_the_answer_to_a_patch_is_redacted_without_personal_read(platform: Platform) -> None:
    ambassador = platform.ambassador()
    corrector = platform.ambassadors.client(CORRECTOR)

    response = corrector.patch(
        path_of(ambassador), json={"name": "Nom Corrigé", "email": "corrige@example.org"}
    )
    dated = corrector.patch(path_of(ambassador), json={"enrolled_on": "2023-05-01"})

    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["email"], response.json()["erased"]) == (
        None,
        None,
        False,
    )
    assert dated.status_code == 200, dated.text
    assert (dated.json()["name"], dated.json()["email"]) == (None, None)
    shown = platform.personal.get(path_of(ambassador)).json()
    assert (shown["name"], shown["email"]) == ("Nom Corrigé", "corrige@example.org")


def test_corrections_need_a_token_and_the_write_scope(platform: Platform) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)
    one = path_of(ambassador)
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PATCH", one, {"name": "X"}),
        ("PATCH", f"{one}/actions/{action['id']}", {"people_reached": 1}),
        ("DELETE", f"{one}/actions/{action['id']}", None),
        ("POST", f"{one}/reactivation", {}),
    ]
    for method, path, body in calls:
        assert_problem(platform.anonymous.request(method, path, json=body), 401)
        assert_problem(platform.reader.request(method, path, json=body), 403)
    for path in (f"{one}/actions", f"{one}/history"):
        assert_problem(platform.anonymous.get(path), 401)
        assert_problem(platform.writer.get(path), 403)
    assert fetch(platform, ambassador)["version"] == 2


# --- reactivation -----------------------------------------------------------------------------


def test_reactivating_an_active_ambassador_is_409(platform: Platform) -> None:
    ambassador = platform.ambassador()

    response = platform.http.post(f"{path_of(ambassador)}/reactivation", json={})

    assert_problem(response, 409)
    assert fetch(platform, ambassador)["version"] == 1


def test_reactivating_a_retired_ambassador_makes_it_active_as_if_never_ended(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    retire(platform, ambassador, "2024-01-01")

    response = platform.http.post(
        f"{path_of(ambassador)}/reactivation",
        json={"reason": "retraite annulée"},
        headers={"If-Match": '"2"'},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {**ambassador, "status": "active", "ended_on": None, "version": 3}
    assert response.headers["etag"] == '"3"'
    assert last_event(platform, ambassador)["data"] == {
        "ambassador_id": ambassador["id"],
        "reason": "retraite annulée",
    }
    late = log_action(platform, ambassador, performed_on="2024-06-01")
    assert late["performed_on"] == "2024-06-01"


def test_a_reactivation_without_a_body_is_accepted_and_a_stale_one_is_412(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    retire(platform, ambassador, "2024-01-01")
    path = f"{path_of(ambassador)}/reactivation"

    assert_problem(platform.http.post(path, headers={"If-Match": '"1"'}), 412)
    response = platform.http.post(path)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "active"
    assert_problem(platform.http.post(f"/v1/ambassadors/{uuid4()}/reactivation"), 404)


def test_a_reactivation_repeated_with_its_idempotency_key_is_replayed(platform: Platform) -> None:
    ambassador = platform.ambassador()
    retire(platform, ambassador, "2024-01-01")
    key = {"Idempotency-Key": f"reactivate-{uuid4()}"}
    path = f"{path_of(ambassador)}/reactivation"

    first = platform.http.post(path, json={"reason": "erreur"}, headers=key)
    second = platform.http.post(path, json={"reason": "erreur"}, headers=key)

    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert fetch(platform, ambassador)["version"] == 3


def test_reactivation_is_422_not_member_once_the_cooperative_has_left(
    platform: Platform,
) -> None:
    cooperative_id = platform.join()
    active = platform.ambassador(cooperative_id=cooperative_id)
    retired = platform.ambassador(cooperative_id=cooperative_id)
    retire(platform, retired, "2024-01-01")

    membership(platform, cooperative_id, "departure", {"left_on": "2024-06-01"})
    settled(platform, active, status="deactivated")

    for ambassador in (active, retired):
        response = platform.http.post(f"{path_of(ambassador)}/reactivation", json={})
        assert_problem(response, 422, "cooperative-not-member")
    assert fetch(platform, retired)["status"] == "retired"


# --- history ----------------------------------------------------------------------------------


def test_history_lists_every_event_oldest_first_with_its_integration_data(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    activity = str(uuid4())
    action = log_action(
        platform, ambassador, kind="cine_discussion", activity_id=activity, people_reached=45
    )
    path = f"{path_of(ambassador)}/actions/{action['id']}"
    assert platform.http.patch(path, json={"people_reached": 50, "reason": "recompte"}).is_success
    assert platform.http.delete(path, params={"reason": "doublon"}).status_code == 204
    fixed = platform.http.patch(path_of(ambassador), json={"enrolled_on": "2023-05-01"})
    assert fixed.is_success, fixed.text
    retire(platform, ambassador, "2024-02-01")
    assert platform.http.post(f"{path_of(ambassador)}/reactivation", json={}).is_success

    entries = history(platform, ambassador)

    ambassador_id = ambassador["id"]
    assert [(entry["type"], entry["version"], entry["data"]) for entry in entries] == [
        (
            "AmbassadorEnrolled",
            1,
            {
                "ambassador_id": ambassador_id,
                "cooperative_id": platform.cooperative_id,
                "enrolled_on": "2023-06-01",
            },
        ),
        (
            "AmbassadorActionLogged",
            2,
            {
                "ambassador_id": ambassador_id,
                "action_id": action["id"],
                "kind": "cine_discussion",
                "performed_on": "2023-09-01",
                "activity_id": activity,
                "people_reached": 45,
            },
        ),
        (
            "AmbassadorActionCorrected",
            3,
            {
                "ambassador_id": ambassador_id,
                "action_id": action["id"],
                "kind": "cine_discussion",
                "performed_on": "2023-09-01",
                "activity_id": activity,
                "people_reached": 50,
                "reason": "recompte",
            },
        ),
        (
            "AmbassadorActionWithdrawn",
            4,
            {"ambassador_id": ambassador_id, "action_id": action["id"], "reason": "doublon"},
        ),
        (
            "AmbassadorEnrollmentCorrected",
            5,
            {"ambassador_id": ambassador_id, "enrolled_on": "2023-05-01", "reason": None},
        ),
        ("AmbassadorRetired", 6, {"ambassador_id": ambassador_id, "retired_on": "2024-02-01"}),
        ("AmbassadorReactivated", 7, {"ambassador_id": ambassador_id, "reason": None}),
    ]
    assert all(set(entry) == {"type", "version", "recorded_at", "data"} for entry in entries)
    stamps = [datetime.fromisoformat(entry["recorded_at"]) for entry in entries]
    assert all(stamp.utcoffset() == timedelta(0) for stamp in stamps)
    assert stamps == sorted(stamps)


def test_history_pages_with_limit_and_cursor_and_is_404_for_an_unknown_ambassador(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    for month in (7, 8):
        log_action(platform, ambassador, performed_on=f"2023-0{month}-01")

    first = platform.reader.get(f"{path_of(ambassador)}/history", params={"limit": 2}).json()
    rest = platform.reader.get(
        f"{path_of(ambassador)}/history", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()

    assert [entry["version"] for entry in first["items"]] == [1, 2]
    assert [entry["version"] for entry in rest["items"]] == [3]
    assert rest["next_cursor"] is None
    assert_problem(platform.reader.get(f"/v1/ambassadors/{uuid4()}/history"), 404)
    assert_problem(platform.reader.get(f"/v1/ambassadors/{NOT_A_UUID}/history"), 422)


# --- external references ----------------------------------------------------------------------


def test_an_enrollment_with_a_known_external_ref_answers_200_with_the_existing_ambassador(
    platform: Platform,
) -> None:
    ref = f"crm-{uuid4().hex}"
    created = platform.ambassador(external_ref=ref)
    retire(platform, created, "2024-01-01")
    count = len(
        platform.reader.get(
            "/v1/ambassadors", params={"cooperative_id": platform.cooperative_id, "limit": 1000}
        ).json()["items"]
    )

    again = platform.enroll(external_ref=ref, name="Quelqu'un d'autre", enrolled_on="2023-07-01")

    assert again.status_code == 200, again.text
    assert again.json() == fetch(platform, created)
    assert (again.json()["id"], again.json()["status"]) == (created["id"], "retired")
    assert again.json()["external_ref"] == ref
    assert again.headers["etag"] == '"2"'
    listed = platform.reader.get(
        "/v1/ambassadors", params={"cooperative_id": platform.cooperative_id, "limit": 1000}
    ).json()["items"]
    assert len(listed) == count
    found = platform.reader.get("/v1/ambassadors", params={"external_ref": ref}).json()
    assert [item["id"] for item in found["items"]] == [created["id"]]
    none = platform.reader.get("/v1/ambassadors", params={"external_ref": "nobody-has-this"})
    assert none.json()["items"] == []


def test_an_action_with_a_known_external_ref_answers_200_with_that_action(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    ref = f"action-{uuid4().hex}"
    action = log_action(platform, ambassador, external_ref=ref, people_reached=3)
    assert action["external_ref"] == ref

    again = platform.http.post(
        f"{path_of(ambassador)}/actions",
        json={"kind": "autre", "performed_on": "2023-12-01", "external_ref": ref},
    )

    assert again.status_code == 200, again.text
    assert again.json() == action
    now = fetch(platform, ambassador)
    assert (now["actions"], now["version"]) == (1, 2)


def test_an_action_external_ref_used_under_another_ambassador_is_409_taken(
    platform: Platform,
) -> None:
    owner = platform.ambassador()
    other = platform.ambassador()
    ref = f"action-{uuid4().hex}"
    log_action(platform, owner, external_ref=ref)
    body = {"kind": "autre", "performed_on": "2023-12-01", "external_ref": ref}

    taken = platform.http.post(f"{path_of(other)}/actions", json=body)

    assert_problem(taken, 409, "external-ref-taken")
    assert fetch(platform, other)["actions"] == 0
    assert_problem(platform.http.post(f"/v1/ambassadors/{uuid4()}/actions", json=body), 404)


# --- the membership policy --------------------------------------------------------------------


def expect_last(
    platform: Platform, ambassador: dict[str, Any], count: int, event: str, **data: Any
) -> None:
    """The ambassador's history has `count` entries, the last one this event with this data."""
    entries = history(platform, ambassador)
    assert len(entries) == count, [entry["type"] for entry in entries]
    assert entries[-1]["type"] == event
    assert entries[-1]["data"] == {"ambassador_id": ambassador["id"], **data}


def test_a_cooperative_leaving_deactivates_its_active_ambassadors_only(
    platform: Platform,
) -> None:
    cooperative_id = platform.join()
    active = platform.ambassador(cooperative_id=cooperative_id)
    retired = platform.ambassador(cooperative_id=cooperative_id)
    retire(platform, retired, "2023-12-01")
    late = platform.ambassador(cooperative_id=cooperative_id, enrolled_on="2024-04-01")

    membership(platform, cooperative_id, "departure", {"left_on": "2024-03-01"})

    now = settled(platform, active, status="deactivated")
    assert (now["ended_on"], now["version"]) == ("2024-03-01", 2)
    expect_last(
        platform,
        active,
        2,
        "AmbassadorDeactivated",
        effective_on="2024-03-01",
        reason="cooperative-left",
    )
    # enrolled after the departure date (on a corrected calendar): effective on its enrollment
    assert settled(platform, late, status="deactivated")["ended_on"] == "2024-04-01"
    assert fetch(platform, retired)["status"] == "retired"
    assert len(history(platform, retired)) == 2


def test_the_policy_follows_membership_corrections_voids_and_restorations(
    platform: Platform,
) -> None:
    cooperative_id = platform.join()
    ambassador = platform.ambassador(cooperative_id=cooperative_id)
    retired = platform.ambassador(cooperative_id=cooperative_id)
    retire(platform, retired, "2023-12-01")

    membership(platform, cooperative_id, "departure", {"left_on": "2024-03-01"})
    settled(platform, ambassador, status="deactivated", ended_on="2024-03-01")
    expect_last(
        platform,
        ambassador,
        2,
        "AmbassadorDeactivated",
        effective_on="2024-03-01",
        reason="cooperative-left",
    )

    # the departure moves: the deactivation's effective_on moves with it
    later = [{"start": "2020-01-15", "end": "2024-05-01"}]
    membership(platform, cooperative_id, "membership-correction", {"periods": later})
    settled(platform, ambassador, status="deactivated", ended_on="2024-05-01")
    expect_last(
        platform,
        ambassador,
        3,
        "AmbassadorDeactivated",
        effective_on="2024-05-01",
        reason="membership-corrected",
    )

    # the departure is removed: active again
    open_period = [{"start": "2020-01-15", "end": None}]
    membership(
        platform,
        cooperative_id,
        "membership-correction",
        {"periods": open_period, "reason": "départ saisi par erreur"},
    )
    now = settled(platform, ambassador, status="active")
    assert (now["ended_on"], now["version"]) == (None, 4)
    expect_last(platform, ambassador, 4, "AmbassadorReactivated", reason="membership-corrected")

    # voided: deactivated from its enrollment
    membership(platform, cooperative_id, "void", {"reason": "doublon"})
    settled(platform, ambassador, status="deactivated", ended_on="2023-06-01")
    expect_last(
        platform,
        ambassador,
        5,
        "AmbassadorDeactivated",
        effective_on="2023-06-01",
        reason="cooperative-voided",
    )

    # restored: active again
    membership(platform, cooperative_id, "restoration", {"reason": "pas un doublon"})
    now = settled(platform, ambassador, status="active")
    assert (now["ended_on"], now["version"]) == (None, 6)
    expect_last(platform, ambassador, 6, "AmbassadorReactivated", reason="membership-corrected")

    # a retired ambassador is left alone throughout
    assert fetch(platform, retired)["status"] == "retired"
    assert [entry["type"] for entry in history(platform, retired)] == [
        "AmbassadorEnrolled",
        "AmbassadorRetired",
    ]


def test_a_correction_moving_the_periods_away_from_the_enrollment_deactivates_on_enrolled_on(
    platform: Platform,
) -> None:
    cooperative_id = platform.join()
    ambassador = platform.ambassador(cooperative_id=cooperative_id)

    moved = [{"start": "2024-01-01", "end": None}]
    membership(platform, cooperative_id, "membership-correction", {"periods": moved})

    settled(platform, ambassador, status="deactivated", ended_on="2023-06-01")
    expect_last(
        platform,
        ambassador,
        2,
        "AmbassadorDeactivated",
        effective_on="2023-06-01",
        reason="membership-corrected",
    )
    back = [{"start": "2020-01-15", "end": None}]
    membership(platform, cooperative_id, "membership-correction", {"periods": back})
    settled(platform, ambassador, status="active", ended_on=None)
    expect_last(platform, ambassador, 3, "AmbassadorReactivated", reason="membership-corrected")


def test_a_readmission_alone_reactivates_no_one_but_a_reactivation_then_may(
    platform: Platform,
) -> None:
    cooperative_id = platform.join()
    ambassador = platform.ambassador(cooperative_id=cooperative_id)
    membership(platform, cooperative_id, "departure", {"left_on": "2024-03-01"})
    settled(platform, ambassador, status="deactivated")

    membership(platform, cooperative_id, "readmission", {"rejoined_on": "2024-06-01"})
    # once a new enrollment after the readmission is accepted, the service has seen it
    wait_for(
        lambda: (
            platform.enroll(cooperative_id=cooperative_id, enrolled_on="2024-07-01").status_code
            == 201
        )
    )

    assert fetch(platform, ambassador)["status"] == "deactivated"
    assert len(history(platform, ambassador)) == 2
    response = platform.http.post(f"{path_of(ambassador)}/reactivation", json={"reason": "revenue"})
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["ended_on"]) == ("active", None)
    expect_last(platform, ambassador, 3, "AmbassadorReactivated", reason="revenue")


# --- order of checks, replays, personal data, policy corners -----------------------------------


def test_a_stale_if_match_wins_over_a_correction_that_changes_nothing(platform: Platform) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador, people_reached=7)
    stale = {"If-Match": '"1"'}

    no_op_action = platform.http.patch(
        f"{path_of(ambassador)}/actions/{action['id']}", json={"people_reached": 7}, headers=stale
    )
    no_op_enrollment = platform.http.patch(
        path_of(ambassador), json={"enrolled_on": "2023-06-01"}, headers=stale
    )

    assert_problem(no_op_action, 412)
    assert_problem(no_op_enrollment, 412)


def test_a_correction_with_only_a_reason_answers_200_and_records_nothing(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)

    response = platform.http.patch(
        f"{path_of(ambassador)}/actions/{action['id']}", json={"reason": "rien à changer"}
    )

    assert response.status_code == 200, response.text
    assert response.json() == action
    assert len(history(platform, ambassador)) == 2


def test_an_unknown_action_with_a_stale_if_match_is_404(platform: Platform) -> None:
    ambassador = platform.ambassador()

    response = platform.http.patch(
        f"{path_of(ambassador)}/actions/{uuid4()}",
        json={"people_reached": 1},
        headers={"If-Match": '"9"'},
    )

    assert_problem(response, 404)
    assert_problem(
        platform.http.delete(
            f"{path_of(ambassador)}/actions/{uuid4()}", headers={"If-Match": '"9"'}
        ),
        404,
    )


def test_a_withdrawal_with_a_matching_if_match_is_204_with_the_new_etag(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)

    response = platform.http.delete(
        f"{path_of(ambassador)}/actions/{action['id']}", headers={"If-Match": '"2"'}
    )

    assert response.status_code == 204, response.text
    assert response.headers["etag"] == '"3"'


def test_an_action_of_a_retired_ambassador_may_be_corrected_and_withdrawn(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    action = log_action(platform, ambassador)
    retire(platform, ambassador, "2024-01-01")
    path = f"{path_of(ambassador)}/actions/{action['id']}"

    corrected = platform.http.patch(path, json={"people_reached": 2})
    withdrawn = platform.http.delete(path)

    assert corrected.status_code == 200, corrected.text
    assert withdrawn.status_code == 204, withdrawn.text


def test_a_known_enrollment_ref_is_found_before_the_business_rules(platform: Platform) -> None:
    ref = f"crm-{uuid4().hex}"
    created = platform.ambassador(external_ref=ref)

    stranger = platform.enroll(external_ref=ref, cooperative_id=str(uuid4()))
    too_early = platform.enroll(external_ref=ref, enrolled_on="2019-01-01")
    malformed = platform.enroll(external_ref=ref, name="")

    assert (stranger.status_code, stranger.json()["id"]) == (200, created["id"])
    assert (too_early.status_code, too_early.json()["id"]) == (200, created["id"])
    assert_problem(malformed, 422)


def test_a_known_action_ref_is_found_before_the_409_and_the_business_422(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    ref = f"action-{uuid4().hex}"
    action = log_action(platform, ambassador, external_ref=ref)
    retire(platform, ambassador, "2024-01-01")
    path = f"{path_of(ambassador)}/actions"

    after_end = platform.http.post(
        path, json={"kind": "autre", "performed_on": "2024-05-01", "external_ref": ref}
    )
    before_start = platform.http.post(
        path, json={"kind": "autre", "performed_on": "2020-05-01", "external_ref": ref}
    )
    malformed = platform.http.post(
        path, json={"kind": "podcast", "performed_on": "2023-09-01", "external_ref": ref}
    )

    assert (after_end.status_code, after_end.json()) == (200, action)
    assert (before_start.status_code, before_start.json()) == (200, action)
    assert_problem(malformed, 422)


def test_a_reactivation_answer_is_redacted_without_personal_read(platform: Platform) -> None:
    ambassador = platform.ambassador()
    retire(platform, ambassador, "2024-01-01")

    response = platform.ambassadors.client(CORRECTOR).post(
        f"{path_of(ambassador)}/reactivation", json={}
    )

    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["email"]) == (None, None)


def test_enrolled_on_of_a_deactivated_ambassador_cannot_reach_its_end(platform: Platform) -> None:
    cooperative_id = platform.join()
    ambassador = platform.ambassador(cooperative_id=cooperative_id)
    membership(platform, cooperative_id, "departure", {"left_on": "2024-03-01"})
    settled(platform, ambassador, status="deactivated")

    on_end = platform.http.patch(path_of(ambassador), json={"enrolled_on": "2024-03-01"})
    before = platform.http.patch(path_of(ambassador), json={"enrolled_on": "2024-02-29"})

    assert_problem(on_end, 422)
    assert before.status_code == 200, before.text


def test_a_voided_cooperative_is_a_member_on_no_date(platform: Platform) -> None:
    cooperative_id = platform.join()
    ambassador = platform.ambassador(cooperative_id=cooperative_id)
    membership(platform, cooperative_id, "void", {"reason": "doublon"})
    settled(platform, ambassador, status="deactivated")

    enrollment = platform.enroll(cooperative_id=cooperative_id)
    reactivation = platform.http.post(f"{path_of(ambassador)}/reactivation", json={})
    corrected = platform.http.patch(path_of(ambassador), json={"enrolled_on": "2023-05-01"})

    assert_problem(enrollment, 422, "cooperative-not-member")
    assert_problem(reactivation, 422, "cooperative-not-member")
    assert_problem(corrected, 422, "cooperative-not-member")


def test_a_correction_that_leaves_an_ambassador_as_it_was_records_nothing_for_it(
    platform: Platform,
) -> None:
    cooperative_id = platform.join()
    deactivated = platform.ambassador(cooperative_id=cooperative_id)
    membership(platform, cooperative_id, "departure", {"left_on": "2024-03-01"})
    settled(platform, deactivated, status="deactivated", ended_on="2024-03-01")

    # the start moves earlier, the end stays: nothing changes for the ambassador
    earlier = [{"start": "2019-01-01", "end": "2024-03-01"}]
    membership(platform, cooperative_id, "membership-correction", {"periods": earlier})
    wait_for(
        lambda: (
            platform.enroll(cooperative_id=cooperative_id, enrolled_on="2019-06-01").status_code
            == 201
        )
    )

    assert fetch(platform, deactivated)["ended_on"] == "2024-03-01"
    assert len(history(platform, deactivated)) == 2


def test_the_policy_takes_the_earliest_end_on_or_after_the_enrollment(
    platform: Platform,
) -> None:
    cooperative_id = platform.join()
    early = platform.ambassador(cooperative_id=cooperative_id, enrolled_on="2020-06-01")
    later = platform.ambassador(cooperative_id=cooperative_id, enrolled_on="2023-06-01")

    periods = [{"start": "2020-01-15", "end": "2021-01-01"}, {"start": "2022-01-01", "end": None}]
    membership(platform, cooperative_id, "membership-correction", {"periods": periods})

    settled(platform, early, status="deactivated", ended_on="2021-01-01")
    expect_last(
        platform,
        early,
        2,
        "AmbassadorDeactivated",
        effective_on="2021-01-01",
        reason="membership-corrected",
    )
    assert fetch(platform, later)["status"] == "active"
    assert len(history(platform, later)) == 1


def test_a_restoration_brings_back_a_departure_not_an_activation(platform: Platform) -> None:
    cooperative_id = platform.join()
    ambassador = platform.ambassador(cooperative_id=cooperative_id)
    membership(platform, cooperative_id, "departure", {"left_on": "2024-03-01"})
    settled(platform, ambassador, status="deactivated", ended_on="2024-03-01")

    membership(platform, cooperative_id, "void", {"reason": "doublon"})
    settled(platform, ambassador, status="deactivated", ended_on="2023-06-01")
    membership(platform, cooperative_id, "restoration", {})

    settled(platform, ambassador, status="deactivated", ended_on="2024-03-01")
    entries = history(platform, ambassador)
    assert [entry["type"] for entry in entries] == [
        "AmbassadorEnrolled",
        "AmbassadorDeactivated",
        "AmbassadorDeactivated",
        "AmbassadorDeactivated",
    ]
    assert entries[-1]["data"]["effective_on"] == "2024-03-01"


def test_an_end_on_the_enrollment_day_deactivates_even_when_a_period_starts_that_day(
    platform: Platform,
) -> None:
    cooperative_id = platform.join()
    ambassador = platform.ambassador(cooperative_id=cooperative_id)

    periods = [{"start": "2020-01-15", "end": "2023-06-01"}, {"start": "2023-06-01", "end": None}]
    membership(platform, cooperative_id, "membership-correction", {"periods": periods})

    settled(platform, ambassador, status="deactivated", ended_on="2023-06-01")


def test_a_patch_refused_for_its_enrolled_on_changes_neither_name_nor_email(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()

    refused = platform.http.patch(
        path_of(ambassador),
        json={"name": "Nom Refusé", "email": "refuse@example.org", "enrolled_on": "2019-01-01"},
    )
    both = platform.http.patch(
        path_of(ambassador), json={"name": "Nom Accepté", "enrolled_on": "2023-05-01"}
    )

    assert_problem(refused, 422, "cooperative-not-member")
    assert both.status_code == 200, both.text
    assert (both.json()["name"], both.json()["email"]) == ("Nom Accepté", "camille@example.org")
    assert (both.json()["enrolled_on"], both.json()["version"]) == ("2023-05-01", 2)


def test_an_erased_ambassadors_enrollment_may_still_be_corrected(platform: Platform) -> None:
    ambassador = platform.ambassador()
    assert platform.http.delete(f"{path_of(ambassador)}/personal-data").status_code == 204

    mixed = platform.http.patch(
        path_of(ambassador), json={"name": "Retour", "enrolled_on": "2023-05-01"}
    )
    dated = platform.http.patch(path_of(ambassador), json={"enrolled_on": "2023-05-01"})

    assert_problem(mixed, 409)
    assert dated.status_code == 200, dated.text
    assert (dated.json()["name"], dated.json()["erased"], dated.json()["version"]) == (
        None,
        True,
        2,
    )


def test_a_changed_name_and_email_reach_no_log_and_no_stream(platform: Platform) -> None:
    ambassador = platform.ambassador()
    secret = uuid4().hex[:12]
    name, email = f"Nom {secret}", f"{secret}@example.org"

    response = platform.http.patch(
        path_of(ambassador), json={"name": name, "email": email, "enrolled_on": "2023-05-02"}
    )
    assert response.status_code == 200, response.text

    nats_url = platform.ambassadors.env["COOP_NATS_URL"]

    def published() -> list[dict[str, Any]] | None:
        messages = asyncio.run(stream_messages(nats_url, "COOP_AMBASSADORS"))
        mine = [
            m
            for m in messages
            if m["body"]["event_type"] == "AmbassadorEnrollmentCorrected"
            and m["body"]["data"]["ambassador_id"] == ambassador["id"]
        ]
        return messages if mine else None

    messages = wait_for(published)
    assert secret not in json.dumps(messages)
    assert secret not in platform.ambassadors.log_path.read_text()
    exported = platform.http.get(f"{path_of(ambassador)}/personal-data").json()
    assert (exported["name"], exported["email"]) == (name, email)


def test_an_idempotent_replay_of_an_action_answers_the_action_as_corrected(
    platform: Platform,
) -> None:
    ambassador = platform.ambassador()
    key = {"Idempotency-Key": f"action-{uuid4()}"}
    body = {"kind": "mentorat", "performed_on": "2023-08-01", "people_reached": 1}
    first = platform.http.post(f"{path_of(ambassador)}/actions", json=body, headers=key)
    assert first.status_code == 201, first.text
    fixed = platform.http.patch(
        f"{path_of(ambassador)}/actions/{first.json()['id']}", json={"people_reached": 11}
    )
    assert fixed.status_code == 200, fixed.text

    replay = platform.http.post(f"{path_of(ambassador)}/actions", json=body, headers=key)

    assert replay.status_code == 201, replay.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == {**first.json(), "people_reached": 11}
    assert fetch(platform, ambassador)["actions"] == 1


def test_an_idempotent_replay_of_an_enrollment_shows_the_name_as_changed(
    platform: Platform,
) -> None:
    key = {"Idempotency-Key": f"enroll-{uuid4()}"}
    body = {"cooperative_id": platform.cooperative_id, "name": "Avant", "enrolled_on": "2023-06-01"}
    first = platform.http.post("/v1/ambassadors", json=body, headers=key)
    assert first.status_code == 201, first.text
    renamed = platform.http.patch(path_of(first.json()["id"]), json={"name": "Après"})
    assert renamed.status_code == 200, renamed.text

    replay = platform.http.post("/v1/ambassadors", json=body, headers=key)

    assert replay.status_code == 201, replay.text
    assert replay.json() == {**first.json(), "name": "Après"}


@pytest.mark.parametrize(
    "body",
    [{"reason": "x" * 501}, {"reason": 5}, {"retired_on": "2024-01-01"}],
    ids=["reason-too-long", "reason-not-text", "unknown-field"],
)
def test_a_reactivation_with_a_bad_body_is_422(platform: Platform, body: dict[str, Any]) -> None:
    ambassador = platform.ambassador()
    retire(platform, ambassador, "2024-01-01")

    response = platform.http.post(f"{path_of(ambassador)}/reactivation", json=body)

    assert_problem(response, 422)
    assert fetch(platform, ambassador)["status"] == "retired"


def test_malformed_corrections_are_422_before_the_unknown_ambassadors_404(
    platform: Platform,
) -> None:
    unknown = f"/v1/ambassadors/{uuid4()}"

    assert_problem(platform.http.patch(unknown, json={"enrolled_on": "yesterday"}), 422)
    assert_problem(platform.http.delete(f"{unknown}/actions/{uuid4()}?reason={'x' * 501}"), 422)
    assert_problem(platform.http.post(f"{unknown}/reactivation", json={"x": 1}), 422)
    assert_problem(platform.http.post(f"{unknown}/reactivation", json={}), 404)


# --- last, since it restarts the service -----------------------------------------------------


def test_the_policy_is_applied_once_across_a_restart_of_the_service(platform: Platform) -> None:
    cooperative_id = platform.join()
    ambassador = platform.ambassador(cooperative_id=cooperative_id)
    membership(platform, cooperative_id, "departure", {"left_on": "2024-03-01"})
    settled(platform, ambassador, status="deactivated")
    moved = [{"start": "2020-01-15", "end": "2024-04-01"}]
    membership(platform, cooperative_id, "membership-correction", {"periods": moved})
    settled(platform, ambassador, ended_on="2024-04-01")

    assert platform.ambassadors.stop() == 0
    platform.ambassadors.start()
    platform.join()  # a sync point: the restarted service has caught up with membership

    assert fetch(platform, ambassador)["ended_on"] == "2024-04-01"
    assert [entry["data"]["reason"] for entry in history(platform, ambassador)[1:]] == [
        "cooperative-left",
        "membership-corrected",
    ]
