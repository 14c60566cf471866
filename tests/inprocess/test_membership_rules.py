"""Membership API rules (contract §1, §2, §10) through the composition root, in-process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from tests.inprocess.platform import READER, InProcessService, fields_of, problem, running

pytestmark = pytest.mark.inprocess


@pytest.fixture(scope="module")
def membership(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessService]:
    with running(tmp_path_factory.mktemp("membership"), "membership") as platform:
        yield platform.services["membership"]


@pytest.fixture
def api(membership: InProcessService) -> TestClient:
    return membership.client()


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Coop de travail Exemple",
        "region": "06",
        "sector": "microbrasserie",
        "worker_members": 12,
        "joined_on": "2023-05-14",
        **overrides,
    }


def create(api: TestClient, **overrides: Any) -> dict[str, Any]:
    response = api.post("/v1/cooperatives", json=body(**overrides))
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def a_neq() -> str:
    return f"9{uuid4().int % 10**9:09d}"


def history_types(api: TestClient, cooperative_id: str) -> list[str]:
    response = api.get(f"/v1/cooperatives/{cooperative_id}/history")
    assert response.status_code == 200, response.text
    return [item["type"] for item in response.json()["items"]]


def test_a_created_cooperative_answers_201_and_reads_back_with_its_etag(api: TestClient) -> None:
    response = api.post("/v1/cooperatives", json=body())

    assert response.status_code == 201
    created = response.json()
    assert UUID(created["id"])
    assert response.headers["Location"].endswith(f"/v1/cooperatives/{created['id']}")
    assert response.headers["ETag"] == '"1"'
    assert created["periods"] == [{"start": "2023-05-14", "end": None}]
    assert (created["status"], created["version"], created["external_ref"]) == ("active", 1, None)
    read = api.get(f"/v1/cooperatives/{created['id']}")
    assert read.json() == created
    assert read.headers["ETag"] == '"1"'


def test_the_list_filters_by_status_and_region_and_pages_in_creation_order(
    api: TestClient,
) -> None:
    sector = f"secteur-{uuid4().hex[:10]}"
    label = {"fr": f"Secteur {sector}", "en": f"Sector {sector}"}
    assert api.put(f"/v1/sectors/{sector}", json={"label": label}).status_code == 200
    first, second, third = (create(api, sector=sector, region=r) for r in ("01", "06", "06"))
    departure = {"left_on": "2024-01-01"}
    assert api.post(f"/v1/cooperatives/{third['id']}/departure", json=departure).status_code == 200

    def ids(**params: Any) -> list[str]:
        response = api.get("/v1/cooperatives", params={"sector": sector, **params})
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert ids(region="06", status="active") == [second["id"]]
    assert ids(status="left") == [third["id"]]
    page = api.get("/v1/cooperatives", params={"sector": sector, "limit": 2}).json()
    assert [c["id"] for c in page["items"]] == [first["id"], second["id"]]
    rest = api.get("/v1/cooperatives", params={"sector": sector, "cursor": page["next_cursor"]})
    assert [c["id"] for c in rest.json()["items"]] == [third["id"]]


@pytest.mark.parametrize(("name", "value"), [("status", "gone"), ("region", "18"), ("limit", "0")])
def test_an_invalid_list_parameter_is_422_naming_it(api: TestClient, name: str, value: str) -> None:
    response = api.get("/v1/cooperatives", params={name: value})

    assert name in fields_of(problem(response, 422))


def test_a_profile_change_records_only_what_changed(api: TestClient) -> None:
    created = create(api)
    path = f"/v1/cooperatives/{created['id']}"

    changed = api.patch(path, json={"name": "Nouveau nom", "region": "06"})
    unchanged = api.patch(path, json={"name": "Nouveau nom"})

    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["version"]) == ("Nouveau nom", 2)
    assert changed.headers["ETag"] == '"2"'
    assert unchanged.json()["version"] == 2
    assert history_types(api, created["id"]) == ["CoopJoined", "CoopProfileUpdated"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"region": "18"}, "region"),
        ({"name": ""}, "name"),
        ({"worker_members": -1}, "worker_members"),
        ({"sector": "hors-liste"}, "sector"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_an_invalid_profile_change_is_422_naming_the_field(
    api: TestClient, payload: dict[str, Any], field: str
) -> None:
    created = create(api)

    response = api.patch(f"/v1/cooperatives/{created['id']}", json=payload)

    assert field in fields_of(problem(response, 422))
    assert api.get(f"/v1/cooperatives/{created['id']}").json()["version"] == 1


def test_a_missing_field_on_create_is_422_naming_it(api: TestClient) -> None:
    incomplete = body()
    del incomplete["joined_on"]

    assert fields_of(problem(api.post("/v1/cooperatives", json=incomplete), 422)) == {"joined_on"}


def test_departure_is_200_then_409_once_left_and_readmission_follows_its_rules(
    api: TestClient,
) -> None:
    path = f"/v1/cooperatives/{create(api, joined_on='2020-01-01')['id']}"

    problem(api.post(f"{path}/readmission", json={"rejoined_on": "2024-06-01"}), 409)
    left = api.post(f"{path}/departure", json={"left_on": "2023-01-01"})
    problem(api.post(f"{path}/departure", json={"left_on": "2023-02-01"}), 409)
    problem(api.post(f"{path}/readmission", json={"rejoined_on": "2022-01-01"}), 422)
    back = api.post(f"{path}/readmission", json={"rejoined_on": "2024-06-01"})

    assert (left.status_code, left.json()["status"]) == (200, "left")
    assert (back.status_code, back.json()["status"]) == (200, "active")


def test_checks_come_in_the_contract_order_404_412_409(api: TestClient) -> None:
    neq = a_neq()
    create(api, neq=neq)
    other = f"/v1/cooperatives/{create(api)['id']}"
    stale, current = {"If-Match": '"9"'}, {"If-Match": '"1"'}

    problem(api.patch(f"/v1/cooperatives/{uuid4()}", json={"neq": neq}, headers=stale), 404)
    problem(api.patch(other, json={"neq": neq}, headers=stale), 412)
    problem(api.patch(other, json={"neq": neq}, headers=current), 409)
    problem(api.patch(f"/v1/cooperatives/{uuid4()}", json={"region": "18"}), 422)


def test_no_token_is_401_and_a_token_without_the_write_scope_403_both_before_422(
    membership: InProcessService,
) -> None:
    reader = membership.client(READER)
    anonymous = membership.client(None)

    problem(anonymous.post("/v1/cooperatives", content=b"{bad json"), 401)
    problem(reader.post("/v1/cooperatives", content=b"{bad json"), 403)
    assert reader.get("/v1/cooperatives").status_code == 200


def test_the_same_idempotency_key_and_body_replays_the_answer_and_records_nothing(
    api: TestClient,
) -> None:
    key = {"Idempotency-Key": f"create-{uuid4()}"}
    payload = body(name=f"Coop {uuid4().hex[:8]}")

    first = api.post("/v1/cooperatives", json=payload, headers=key)
    again = api.post("/v1/cooperatives", json=payload, headers=key)
    other = api.post("/v1/cooperatives", json={**payload, "name": "Autre"}, headers=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert "Idempotency-Key" in fields_of(problem(other, 422))
    assert history_types(api, first.json()["id"]) == ["CoopJoined"]


def test_a_known_external_ref_answers_200_with_the_existing_cooperative_before_409(
    api: TestClient,
) -> None:
    neq, ref = a_neq(), f"crm-{uuid4()}"
    first = create(api, neq=neq, external_ref=ref)

    again = api.post("/v1/cooperatives", json=body(neq=neq, external_ref=ref, name="Autre"))
    malformed = api.post("/v1/cooperatives", json=body(external_ref=ref, region="18"))

    assert again.status_code == 200, again.text
    assert again.json() == first
    assert fields_of(problem(malformed, 422)) == {"region"}


def test_a_membership_correction_replaces_the_periods_and_a_stale_if_match_is_412(
    api: TestClient,
) -> None:
    created = create(api, joined_on="2023-05-14")
    path = f"/v1/cooperatives/{created['id']}/membership-correction"
    periods = [
        {"start": "2021-02-01", "end": "2022-03-01"},
        {"start": "2022-03-01", "end": "2024-01-15"},
    ]

    problem(api.post(path, json={"periods": []}, headers={"If-Match": '"7"'}), 412)
    response = api.post(path, json={"periods": periods, "reason": "dates saisies"})

    assert response.status_code == 200, response.text
    document = response.json()
    assert (document["periods"], document["status"], document["version"]) == (periods, "left", 2)
    assert (document["joined_on"], document["left_on"]) == ("2021-02-01", "2024-01-15")
    assert history_types(api, created["id"])[-1] == "CoopMembershipCorrected"


@pytest.mark.parametrize(
    ("periods", "field"),
    [
        ([], "periods"),
        ([{"start": "2022-01-01", "end": "2021-01-01"}], "periods[0].end"),
        (
            [{"start": "2020-01-01", "end": "2021-06-01"}, {"start": "2021-01-01"}],
            "periods[1].start",
        ),
    ],
)
def test_a_correction_that_breaks_a_rule_is_422_naming_the_offending_period(
    api: TestClient, periods: list[dict[str, Any]], field: str
) -> None:
    created = create(api)

    response = api.post(
        f"/v1/cooperatives/{created['id']}/membership-correction", json={"periods": periods}
    )

    assert field in fields_of(problem(response, 422))


def test_voiding_leaves_the_lists_and_twice_is_409_and_restoration_brings_it_back(
    api: TestClient,
) -> None:
    created = create(api, external_ref=f"crm-{uuid4()}")
    path = f"/v1/cooperatives/{created['id']}"

    voided = api.post(f"{path}/void", json={"reason": "doublon"})
    listed = api.get("/v1/cooperatives", params={"external_ref": created["external_ref"]})
    active = api.get(
        "/v1/cooperatives", params={"external_ref": created["external_ref"], "status": "active"}
    )

    assert (voided.status_code, voided.json()["status"]) == (200, "voided")
    assert [c["id"] for c in listed.json()["items"]] == [created["id"]]
    assert active.json()["items"] == []
    problem(api.post(f"{path}/void", json={"reason": "encore"}), 409)
    problem(api.patch(path, json={"name": "x"}), 409)
    restored = api.post(f"{path}/restoration", json={"reason": "erreur"})
    assert (restored.status_code, restored.json()["status"]) == (200, "active")


def test_problem_titles_are_french_by_default_and_english_on_request(api: TestClient) -> None:
    unknown = f"/v1/cooperatives/{uuid4()}"

    assert problem(api.get(unknown), 404)["title"] == "Ressource introuvable"
    english = api.get(unknown, headers={"Accept-Language": "en-CA,en;q=0.9"})
    assert problem(english, 404)["title"] == "Not found"
    problem(api.delete(unknown), 405)
