"""Partnerships API rules (contract §1, §12) in-process, fed membership by `sync()`."""

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
    with running(tmp_path_factory.mktemp("partnerships"), "membership", "partnerships") as built:
        yield built


@pytest.fixture
def api(platform: InProcessPlatform) -> TestClient:
    return platform.services["partnerships"].client()


def partner(api: TestClient, name: str, kind: str = "autre", **extra: Any) -> dict[str, Any]:
    response = api.post("/v1/partners", json={"name": name, "kind": kind, **extra})
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def table(api: TestClient, sector: str = "microbrasserie") -> dict[str, Any]:
    response = api.post(
        "/v1/sector-tables",
        json={"name": f"Table {uuid4().hex[:6]}", "sector": sector, "formed_on": "2022-11-01"},
    )
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def test_a_partner_is_registered_and_found_by_a_normalized_name(api: TestClient) -> None:
    created = partner(
        api,
        "Pôle d’économie sociale du Bas-Saint-Laurent",
        "economie_sociale",
        region="01",
        aliases=["PÉS du BSL", "pôle d'économie sociale du bas-saint-laurent"],
    )

    found = api.get("/v1/partners", params={"q": "ÉCONOMIE  SOCIALE du bas"})

    assert created["aliases"] == ["PÉS du BSL"]
    assert (created["status"], created["external_ref"]) == ("active", None)
    assert [p["id"] for p in found.json()["items"]] == [created["id"]]
    assert api.get(f"/v1/partners/{created['id']}").headers["ETag"] == '"1"'


def test_two_partners_never_share_a_name_or_alias_compared_normalized(api: TestClient) -> None:
    first = partner(api, "Conseil québécois de la coopération", "reseau_cooperatif",
                    aliases=["CQCM"])  # fmt: skip
    other = partner(api, "Autre réseau (exemple)")

    taken = api.post("/v1/partners", json={"name": " cqcm ", "kind": "autre"})
    renamed = api.patch(f"/v1/partners/{other['id']}", json={"aliases": ["Cqcm"]})

    assert problem(taken, 409)["existing_id"] == first["id"]
    assert problem(renamed, 409)["type"].endswith("/partner-name-taken")


def test_a_known_external_ref_answers_200_with_the_existing_partner(api: TestClient) -> None:
    body = {"name": f"UQAM {uuid4().hex[:6]}", "kind": "recherche", "external_ref": "crm-42"}

    first = api.post("/v1/partners", json=body)
    again = api.post("/v1/partners", json={**body, "name": "Autre nom"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(api.get("/v1/partners", params={"external_ref": "crm-42"}).json()["items"]) == 1


def test_a_partner_change_honours_if_match_and_deactivation_happens_once(api: TestClient) -> None:
    path = f"/v1/partners/{partner(api, 'Fonds régional (exemple)', 'institution')['id']}"

    stale = api.patch(path, json={"region": "03"}, headers={"If-Match": '"7"'})
    changed = api.patch(path, json={"region": "03"}, headers={"If-Match": '"1"'})

    problem(stale, 412)
    assert (changed.status_code, changed.json()["version"]) == (200, 2)
    assert api.post(f"{path}/deactivation").status_code == 200
    problem(api.post(f"{path}/deactivation"), 409)
    problem(api.patch(f"/v1/partners/{uuid4()}", json={"region": "03"}), 404)
    assert fields_of(problem(api.patch(path, json={"region": "18"}), 422)) == {"region"}


def test_a_research_project_needs_known_partners_and_completes_once(api: TestClient) -> None:
    unknown = api.post(
        "/v1/research-projects",
        json={"title": "X", "partner_ids": [str(uuid4())], "started_on": "2023-01-01"},
    )
    assert problem(unknown, 422)["type"].endswith("/unknown-partner")
    cerse = partner(api, "CERSE (essai)", "recherche")
    project = api.post(
        "/v1/research-projects",
        json={"title": "Reprises collectives", "partner_ids": [cerse["id"]],
              "started_on": "2023-02-01"},
    )  # fmt: skip
    completion = f"/v1/research-projects/{project.json()['id']}/completion"

    problem(api.post(completion, json={"ended_on": "2022-01-01"}), 422)
    done = api.post(completion, json={"ended_on": "2024-06-30"})
    problem(api.post(completion, json={"ended_on": "2024-07-01"}), 409)

    assert done.json()["status"] == "completed"


def test_table_members_are_member_cooperatives_as_the_view_learned_them(
    platform: InProcessPlatform, api: TestClient
) -> None:
    path = f"/v1/sector-tables/{table(api)['id']}/members"
    cooperative = join(platform, sync=False)
    body = {"cooperative_id": cooperative, "joined_on": "2023-09-01"}

    unknown_yet = api.post(path, json=body)
    platform.sync()
    first, again = api.post(path, json=body), api.post(path, json=body)

    assert problem(unknown_yet, 422)["type"].endswith("/cooperative-not-member")
    assert (first.status_code, again.status_code) == (201, 200)
    problem(api.delete(f"{path}/{cooperative}"), 422)
    assert api.delete(f"{path}/{cooperative}", params={"left_on": "2024-03-01"}).status_code == 204
    problem(api.delete(f"{path}/{uuid4()}", params={"left_on": "2024-03-01"}), 404)


def test_an_action_is_logged_withdrawn_once_and_its_ref_stays_with_its_table(
    api: TestClient,
) -> None:
    one, other = table(api), table(api)
    body = {"kind": "visibilite", "title": "Présentoir", "performed_on": "2023-10-05",
            "external_ref": f"action-{uuid4().hex[:6]}"}  # fmt: skip

    logged = api.post(f"/v1/sector-tables/{one['id']}/actions", json=body)
    again = api.post(f"/v1/sector-tables/{one['id']}/actions", json=body)
    elsewhere = api.post(f"/v1/sector-tables/{other['id']}/actions", json=body)

    assert (logged.status_code, again.status_code) == (201, 200)
    assert problem(elsewhere, 409)["type"].endswith("/external-ref-taken")
    action = f"/v1/sector-tables/{one['id']}/actions/{logged.json()['id']}"
    assert api.delete(action, params={"reason": "doublon"}).status_code == 204
    assert problem(api.delete(action), 404)["type"].endswith("/already-withdrawn")
    assert api.get(f"/v1/sector-tables/{one['id']}/actions").json()["items"] == []


def test_one_open_placement_with_a_retailer_blocks_dissolution_until_it_ends(
    api: TestClient,
) -> None:
    sector_table = table(api)
    retailer = partner(api, f"Bières et cie {uuid4().hex[:4]}", "detaillant")
    university = partner(api, f"Université {uuid4().hex[:4]}", "recherche")
    path = f"/v1/sector-tables/{sector_table['id']}/retail-placements"
    dissolution = f"/v1/sector-tables/{sector_table['id']}/dissolution"
    placement = {"retailer_id": retailer["id"], "started_on": "2023-10-01"}

    not_a_retailer = api.post(path, json={**placement, "retailer_id": university["id"]})
    placed = api.post(path, json=placement)
    second = api.post(path, json={**placement, "started_on": "2023-11-01"})
    blocked = api.post(dissolution, json={"dissolved_on": "2024-06-01"})
    api.post(f"{path}/{placed.json()['id']}/end", json={"ended_on": "2024-05-01"})
    dissolved = api.post(dissolution, json={"dissolved_on": "2024-06-01"})

    assert problem(not_a_retailer, 422)["type"].endswith("/not-a-retailer")
    assert placed.status_code == 201
    problem(second, 409)
    problem(blocked, 409)
    assert dissolved.status_code == 200


def test_a_sector_defined_in_membership_is_accepted_once_synced(
    platform: InProcessPlatform, api: TestClient
) -> None:
    sector = f"secteur-{uuid4().hex[:8]}"
    defined = (
        platform.services["membership"]
        .client()
        .put(f"/v1/sectors/{sector}", json={"label": {"fr": "Secteur", "en": "Sector"}})
    )
    assert defined.status_code == 200, defined.text
    body = {"name": "Table", "sector": sector, "formed_on": "2023-01-01"}

    before = api.post("/v1/sector-tables", json=body)
    platform.sync()
    after = api.post("/v1/sector-tables", json=body)

    assert "sector" in fields_of(problem(before, 422))
    assert after.status_code == 201, after.text


def test_writes_need_the_partnerships_scope(platform: InProcessPlatform) -> None:
    reader = platform.services["partnerships"].client(READER)

    problem(reader.post("/v1/partners", json={"name": "x", "kind": "autre"}), 403)
    assert reader.get("/v1/partners").status_code == 200
