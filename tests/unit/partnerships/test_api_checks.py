"""The partnerships API's status codes and the order of its checks (contract §1 last row, §12,
§16), in process on SQLite with every cooperative a member."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from services.partnerships import views
from services.partnerships.api import install_errors, routes
from services.partnerships.application import Partnerships
from shared import membership_view
from shared.http import Edge, FailedAuthLimiter, create_api
from shared.metrics import ServiceMetrics
from shared.persistence import Database
from shared.settings import TokenTable, digest

WRITER = {"Authorization": "Bearer writer", "Accept-Language": "en"}
TOKENS = TokenTable({digest("writer"): frozenset({"read", "partnerships:write"})})


class Everyone:
    def is_member_on(self, cooperative_id: str, day: date) -> bool:
        return True


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    database = Database(f"sqlite:///{tmp_path / 'partnerships.sqlite3'}", app_name="partnerships")
    database.create_tables(views.metadata, membership_view.metadata)
    app = Partnerships(database, Everyone(), views.SectorList(database))
    edge = Edge(TOKENS, database, ServiceMetrics("partnerships-test"), FailedAuthLimiter())

    async def ready() -> bool:
        return True

    api = create_api(title="partnerships", edge=edge, readiness=ready)
    api.include_router(routes(app, views.Directory(app)))
    install_errors(api)
    with TestClient(api, headers=WRITER) as http:
        yield http
    app.close()
    database.dispose()


def problem(answer: Any, status: int, suffix: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    if suffix is not None:
        assert body["type"].endswith(suffix), body
    return body


def created(http: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(path, json=body)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def partner(http: TestClient, name: str, kind: str = "autre", **extra: Any) -> str:
    return str(created(http, "/v1/partners", {"name": name, "kind": kind, **extra})["id"])


def table(http: TestClient) -> str:
    body = {"name": "Table", "sector": "microbrasserie", "formed_on": "2022-11-01"}
    return str(created(http, "/v1/sector-tables", body)["id"])


def test_a_null_field_in_a_patch_is_malformed_before_an_unknown_id_or_a_stale_version(
    client: TestClient,
) -> None:
    unknown = uuid4()
    for path, field in ((f"/v1/partners/{unknown}", "name"),
                        (f"/v1/research-projects/{unknown}", "title")):  # fmt: skip
        refused = problem(client.patch(path, json={field: None}), 422)
        assert refused["errors"][0]["field"] == field
    known = partner(client, "Pôle")
    stale = client.patch(f"/v1/partners/{known}", json={"kind": None}, headers={"If-Match": '"9"'})
    assert problem(stale, 422)["errors"][0]["field"] == "kind"


def test_a_partner_name_of_white_space_alone_is_refused(client: TestClient) -> None:
    refused = problem(client.post("/v1/partners", json={"name": " \u00a0 ", "kind": "autre"}), 422)
    assert refused["errors"][0]["field"] == "name"
    known = partner(client, "Pôle")
    assert problem(client.patch(f"/v1/partners/{known}", json={"name": "\t"}), 422)
    assert client.post("/v1/partners", json={"name": "\t", "kind": "autre"}).status_code == 422


def test_two_long_names_that_differ_only_at_their_end_are_two_partners(
    client: TestClient,
) -> None:
    stem = "Coopérative de solidarité " * 12
    first = partner(client, stem + "du Bas-Saint-Laurent")
    second = partner(client, stem + "de la Gaspésie")
    assert first != second
    taken = client.post("/v1/partners", json={"name": f"  {stem.upper()}de la gaspésie",
                                             "kind": "autre"})  # fmt: skip
    assert problem(taken, 409, "/partner-name-taken")["existing_id"] == second


def test_a_known_external_ref_answers_its_partner_even_when_the_name_is_taken(
    client: TestClient,
) -> None:
    held = partner(client, "Pôle", external_ref="crm-1")
    other = partner(client, "Autre")
    again = client.post("/v1/partners", json={"name": "autre", "kind": "autre",
                                              "external_ref": "crm-1"})  # fmt: skip
    assert again.status_code == 200, again.text
    assert again.json()["id"] == held != other


def test_removing_a_table_member_is_404_for_a_non_member_before_412_and_needs_left_on(
    client: TestClient,
) -> None:
    table_id = table(client)
    outsider = uuid4()
    path = f"/v1/sector-tables/{table_id}/members/{outsider}"
    assert problem(client.delete(path), 422)["errors"][0]["field"] == "left_on"
    stale = {"If-Match": '"9"'}
    assert client.delete(path, params={"left_on": "2024-01-01"}, headers=stale).status_code == 404
    member = created(client, f"/v1/sector-tables/{table_id}/members",
                     {"cooperative_id": str(outsider), "joined_on": "2023-01-01"})  # fmt: skip
    assert member["cooperative_id"] == str(outsider)
    assert client.delete(path, params={"left_on": "2024-01-01"}, headers=stale).status_code == 412
    early = client.delete(path, params={"left_on": "2023-01-01"})
    assert problem(early, 422, "/table-date")["errors"][0]["field"] == "left_on"
    assert client.delete(path, params={"left_on": "2024-01-01"}).status_code == 204


def test_a_retailer_with_an_open_placement_is_409_before_it_is_checked_as_a_retailer(
    client: TestClient,
) -> None:
    table_id = table(client)
    shop = partner(client, "Épicerie", "detaillant")
    placements = f"/v1/sector-tables/{table_id}/retail-placements"
    placed = created(client, placements, {"retailer_id": shop, "started_on": "2023-09-01"})
    assert client.patch(f"/v1/partners/{shop}", json={"kind": "autre"}).status_code == 200
    again = client.post(placements, json={"retailer_id": shop, "started_on": "2023-10-01"})
    problem(again, 409, "/placement-open")
    other = partner(client, "Fonds")
    refused = client.post(placements, json={"retailer_id": other, "started_on": "2023-10-01"})
    assert problem(refused, 422, "/not-a-retailer")["errors"][0]["field"] == "retailer_id"
    early = client.post(f"{placements}/{placed['id']}/end", json={"ended_on": "2023-08-01"})
    assert problem(early, 422, "/table-date")["errors"][0]["field"] == "ended_on"
    assert client.post(f"{placements}/{placed['id']}/end", json={"ended_on": "2024-01-01"})
    early = client.post(f"/v1/sector-tables/{table_id}/dissolution",
                        json={"dissolved_on": "2020-01-01"})  # fmt: skip
    assert problem(early, 422, "/table-date")["errors"][0]["field"] == "dissolved_on"


def test_a_project_date_out_of_order_names_the_field_refused(client: TestClient) -> None:
    researcher = partner(client, "Université", "recherche")
    project = created(
        client,
        "/v1/research-projects",
        {"title": "Étude", "partner_ids": [researcher], "started_on": "2023-01-01"},
    )
    path = f"/v1/research-projects/{project['id']}"  # fmt: skip
    early = client.post(f"{path}/completion", json={"ended_on": "2022-01-01"})
    assert problem(early, 422, "/project-date")["errors"][0]["field"] == "ended_on"
    assert client.post(f"{path}/completion", json={"ended_on": "2024-01-01"}).status_code == 200
    late = client.patch(path, json={"started_on": "2024-06-01"})
    assert problem(late, 422, "/project-date")["errors"][0]["field"] == "started_on"
    assert UUID(project["id"])


def test_an_invalid_sector_filter_is_422_and_an_unknown_one_lists_nothing(
    client: TestClient,
) -> None:
    table(client)
    refused = client.get("/v1/sector-tables", params={"sector": "Pas un slug!"})
    assert problem(refused, 422)["errors"][0]["field"] == "sector"
    assert client.get("/v1/sector-tables", params={"sector": "cirque"}).json()["items"] == []
    assert len(client.get("/v1/sector-tables", params={"sector": ""}).json()["items"]) == 1


def test_a_sub_record_answer_carries_the_tables_new_etag_and_replays_alike(
    client: TestClient,
) -> None:
    table_id = table(client)
    shop = partner(client, "Épicerie", "detaillant")
    path = f"/v1/sector-tables/{table_id}/retail-placements"
    key = {"Idempotency-Key": "placement-1"}
    body = {"retailer_id": shop, "started_on": "2023-09-01", "external_ref": "pos-1"}
    first = client.post(path, json=body, headers=key)
    assert first.status_code == 201
    assert (
        first.headers["ETag"]
        == '"2"'
        == client.get(f"/v1/sector-tables/{table_id}").headers["ETag"]
    )
    replay = client.post(path, json=body, headers=key)
    assert (replay.status_code, replay.json(), replay.headers["ETag"]) == (201, first.json(), '"2"')
    known = client.post(path, json={**body, "note": "autre"})
    assert (known.status_code, known.json(), known.headers["ETag"]) == (200, first.json(), '"2"')
    member = {"cooperative_id": str(uuid4()), "joined_on": "2023-01-01"}
    joined = client.post(f"/v1/sector-tables/{table_id}/members", json=member)
    assert (joined.status_code, joined.headers["ETag"]) == (201, '"3"')
    again = client.post(f"/v1/sector-tables/{table_id}/members", json=member)
    assert (again.status_code, again.json(), again.headers["ETag"]) == (200, joined.json(), '"3"')


def test_a_repeated_withdrawal_is_404_already_withdrawn_and_an_unknown_one_404_not_found(
    client: TestClient,
) -> None:
    table_id, cooperative = table(client), str(uuid4())
    members = f"/v1/sector-tables/{table_id}/members"
    created(client, members, {"cooperative_id": cooperative, "joined_on": "2023-01-01"})
    left = {"left_on": "2024-01-01"}
    assert client.delete(f"{members}/{cooperative}", params=left).status_code == 204
    problem(client.delete(f"{members}/{cooperative}", params=left), 404, "/already-withdrawn")
    problem(client.delete(f"{members}/{uuid4()}", params=left), 404, "/not-found")
    actions = f"/v1/sector-tables/{table_id}/actions"
    logged = created(client, actions, {"kind": "autre", "title": "Salon",
                                       "performed_on": "2023-05-01"})  # fmt: skip
    assert client.delete(f"{actions}/{logged['id']}").status_code == 204
    problem(client.delete(f"{actions}/{logged['id']}"), 404, "/already-withdrawn")
    problem(client.delete(f"{actions}/{uuid4()}"), 404, "/not-found")


def test_a_cooperative_that_rejoins_a_table_keeps_its_earlier_period(client: TestClient) -> None:
    table_id, cooperative = table(client), str(uuid4())
    members = f"/v1/sector-tables/{table_id}/members"
    created(client, members, {"cooperative_id": cooperative, "joined_on": "2023-01-01"})
    assert client.delete(f"{members}/{cooperative}",
                         params={"left_on": "2023-06-01"}).status_code == 204  # fmt: skip
    again = created(client, members, {"cooperative_id": cooperative, "joined_on": "2024-01-01"})
    assert again == {"cooperative_id": cooperative, "joined_on": "2024-01-01", "left_on": None}
    repeated = client.post(members, json={"cooperative_id": cooperative, "joined_on": "2024-02-01"})
    assert repeated.status_code == 200 and repeated.json() == again
    assert client.get(f"/v1/sector-tables/{table_id}").json()["members"] == [
        {"cooperative_id": cooperative, "joined_on": "2023-01-01", "left_on": "2023-06-01"},
        {"cooperative_id": cooperative, "joined_on": "2024-01-01", "left_on": None},
    ]
    assert client.delete(f"{members}/{cooperative}",
                         params={"left_on": "2024-03-01"}).status_code == 204  # fmt: skip
    periods = client.get(f"/v1/sector-tables/{table_id}").json()["members"]
    assert [p["left_on"] for p in periods] == ["2023-06-01", "2024-03-01"]


def test_a_placement_with_an_id_that_names_no_partner_is_unknown_partner(
    client: TestClient,
) -> None:
    path = f"/v1/sector-tables/{table(client)}/retail-placements"
    refused = client.post(path, json={"retailer_id": str(uuid4()), "started_on": "2023-10-01"})
    assert problem(refused, 422, "/unknown-partner")["errors"][0]["field"] == "retailer_id"


def test_a_record_withdrawn_or_ended_between_two_pages_makes_the_next_skip_nothing(
    client: TestClient,
) -> None:
    table_id = table(client)
    actions = f"/v1/sector-tables/{table_id}/actions"
    action = {"kind": "autre", "title": "Action", "performed_on": "2023-05-01"}
    logged = [created(client, actions, action)["id"] for _ in range(3)]
    first = client.get(actions, params={"limit": 1}).json()
    assert [a["id"] for a in first["items"]] == logged[:1]
    assert client.delete(f"{actions}/{logged[0]}").status_code == 204
    second = client.get(actions, params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [a["id"] for a in second["items"]] == logged[1:2]
    placements = f"/v1/sector-tables/{table_id}/retail-placements"
    shops = [partner(client, f"Épicerie {n}", "detaillant") for n in range(3)]
    secured = [
        created(client, placements, {"retailer_id": shop, "started_on": "2023-09-01"})["id"]
        for shop in shops
    ]
    first = client.get(placements, params={"limit": 1, "open": "true"}).json()
    assert [p["id"] for p in first["items"]] == secured[:1]
    ended = client.post(f"{placements}/{secured[0]}/end", json={"ended_on": "2024-01-01"})
    assert ended.status_code == 200
    after = {"limit": 1, "open": "true", "cursor": first["next_cursor"]}
    second = client.get(placements, params=after).json()
    assert [p["id"] for p in second["items"]] == secured[1:2]
