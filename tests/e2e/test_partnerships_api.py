"""The partnerships service's HTTP API (contract §12), against real `coop serve` processes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support import NatsServer, ServiceProcess, stream_messages, wait_for

pytestmark = pytest.mark.e2e

ADMIN = "partnerships-admin"
READER = "partnerships-reader"
TOKENS = {ADMIN: ["read", "membership:write", "partnerships:write"], READER: ["read"]}


class Platform:
    """Membership and partnerships on one nats-server."""

    def __init__(self, nats: NatsServer, membership: ServiceProcess, partnerships: ServiceProcess):
        self.nats = nats
        self.members = membership.client(ADMIN)
        self.http = partnerships.client(ADMIN)
        self.reader = partnerships.client(READER)

    def partner(self, name: str, kind: str = "autre", **extra: Any) -> dict[str, Any]:
        answer = self.http.post("/v1/partners", json={"name": name, "kind": kind, **extra})
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def table(self, sector: str = "microbrasserie") -> dict[str, Any]:
        answer = self.http.post(
            "/v1/sector-tables",
            json={"name": f"Table {uuid4().hex[:6]}", "sector": sector, "formed_on": "2022-11-01"},
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def member(self) -> str:
        """A cooperative active since 2020, known to the partnerships service."""
        joined = self.members.post(
            "/v1/cooperatives",
            json={"name": f"Brasserie {uuid4().hex[:6]}", "region": "01",
                  "sector": "microbrasserie", "worker_members": 4, "joined_on": "2020-01-01"},
        )  # fmt: skip
        assert joined.status_code == 201, joined.text
        cooperative_id = str(joined.json()["id"])
        probe = self.table()["id"]
        wait_for(
            lambda: (
                self.http.post(
                    f"/v1/sector-tables/{probe}/members",
                    json={"cooperative_id": cooperative_id, "joined_on": "2023-01-01"},
                ).status_code
                == 201
            )
        )
        return cooperative_id


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root: Path = tmp_path_factory.mktemp("partnerships-e2e")
    nats = NatsServer(root / "nats").start()
    env = {"COOP_API_TOKENS": json.dumps(TOKENS)}
    membership = ServiceProcess("membership", root / "membership", nats.url, **env)
    partnerships = ServiceProcess("partnerships", root / "partnerships", nats.url, **env)
    try:
        membership.start()
        partnerships.start()
        yield Platform(nats, membership, partnerships)
    finally:
        partnerships.stop()
        membership.stop()
        nats.stop()


def assert_problem(answer: httpx.Response, status: int, suffix: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    if suffix:
        assert answer.json()["type"].endswith(suffix), answer.json()
    if status == 422:
        assert all(e["field"] for e in answer.json()["errors"])


def test_a_partner_is_registered_listed_and_found_by_a_normalized_name(platform: Platform) -> None:
    created = platform.partner(
        "Pôle d’économie sociale du Bas-Saint-Laurent", "economie_sociale", region="01",
        aliases=["PÉS du BSL", "pôle d'économie sociale du bas-saint-laurent"],
    )  # fmt: skip
    assert created["aliases"] == ["PÉS du BSL"]
    assert created["status"] == "active" and created["external_ref"] is None
    found = platform.reader.get("/v1/partners", params={"q": "ÉCONOMIE  SOCIALE du bas"})
    assert [p["id"] for p in found.json()["items"]] == [created["id"]]
    assert platform.reader.get(f"/v1/partners/{created['id']}").headers["etag"] == '"1"'


def test_two_partners_never_share_a_name_or_alias_compared_normalized(platform: Platform) -> None:
    first = platform.partner("Conseil québécois de la coopération", "reseau_cooperatif",
                             aliases=["CQCM"])  # fmt: skip
    taken = platform.http.post("/v1/partners", json={"name": " cqcm ", "kind": "autre"})
    assert_problem(taken, 409, "/partner-name-taken")
    assert taken.json()["existing_id"] == first["id"]
    other = platform.partner("Autre réseau (exemple)")
    renamed = platform.http.patch(f"/v1/partners/{other['id']}", json={"aliases": ["Cqcm"]})
    assert_problem(renamed, 409, "/partner-name-taken")


def test_a_known_external_ref_answers_the_existing_partner_and_records_nothing(
    platform: Platform,
) -> None:
    body = {"name": "UQAM (réf.)", "kind": "recherche", "external_ref": "crm-42"}
    first = platform.http.post("/v1/partners", json=body)
    again = platform.http.post("/v1/partners", json={**body, "name": "Autre nom"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    listed = platform.reader.get("/v1/partners", params={"external_ref": "crm-42"}).json()
    assert len(listed["items"]) == 1


def test_a_partner_change_honours_if_match_and_deactivation_happens_once(
    platform: Platform,
) -> None:
    partner = platform.partner("Fonds régional (exemple)", "institution")
    stale = platform.http.patch(
        f"/v1/partners/{partner['id']}", json={"region": "03"}, headers={"If-Match": '"7"'}
    )
    assert_problem(stale, 412)
    changed = platform.http.patch(
        f"/v1/partners/{partner['id']}", json={"region": "03"}, headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert platform.http.post(f"/v1/partners/{partner['id']}/deactivation").status_code == 200
    assert_problem(platform.http.post(f"/v1/partners/{partner['id']}/deactivation"), 409)
    history = platform.reader.get(f"/v1/partners/{partner['id']}/history").json()["items"]
    assert [h["type"] for h in history] == [
        "PartnerRegistered", "PartnerUpdated", "PartnerDeactivated",
    ]  # fmt: skip
    assert history[1]["data"] == {"partner_id": partner["id"], "changes": {"region": "03"}}


def test_a_research_project_needs_known_partners_and_completes_once(platform: Platform) -> None:
    unknown = platform.http.post(
        "/v1/research-projects",
        json={"title": "X", "partner_ids": [str(uuid4())], "started_on": "2023-01-01"},
    )
    assert_problem(unknown, 422, "/unknown-partner")
    cerse = platform.partner("CERSE (essai)", "recherche")
    project = platform.http.post(
        "/v1/research-projects",
        json={"title": "Reprises collectives", "partner_ids": [cerse["id"]],
              "started_on": "2023-02-01"},
    )  # fmt: skip
    assert project.status_code == 201
    project_id = project.json()["id"]
    early = platform.http.post(
        f"/v1/research-projects/{project_id}/completion", json={"ended_on": "2022-01-01"}
    )
    assert_problem(early, 422)
    done = platform.http.post(
        f"/v1/research-projects/{project_id}/completion", json={"ended_on": "2024-06-30"}
    )
    assert done.json()["status"] == "completed"
    assert_problem(
        platform.http.post(
            f"/v1/research-projects/{project_id}/completion", json={"ended_on": "2024-07-01"}
        ),
        409,
    )
    by_partner = platform.reader.get("/v1/research-projects", params={"partner_id": cerse["id"]})
    assert [p["id"] for p in by_partner.json()["items"]] == [project_id]


def test_table_members_must_be_member_cooperatives_and_count_once(platform: Platform) -> None:
    table = platform.table()
    stranger = platform.http.post(
        f"/v1/sector-tables/{table['id']}/members",
        json={"cooperative_id": str(uuid4()), "joined_on": "2023-09-01"},
    )
    assert_problem(stranger, 422, "/cooperative-not-member")
    cooperative = platform.member()
    path = f"/v1/sector-tables/{table['id']}/members"
    body = {"cooperative_id": cooperative, "joined_on": "2023-09-01"}
    assert platform.http.post(path, json=body).status_code == 201
    assert platform.http.post(path, json=body).status_code == 200
    assert_problem(platform.http.delete(f"{path}/{cooperative}"), 422)
    assert (
        platform.http.delete(f"{path}/{cooperative}", params={"left_on": "2024-03-01"}).status_code
        == 204
    )
    assert_problem(platform.http.delete(f"{path}/{uuid4()}", params={"left_on": "2024-03-01"}), 404)
    members = platform.reader.get(f"/v1/sector-tables/{table['id']}").json()["members"]
    assert members == [
        {"cooperative_id": cooperative, "joined_on": "2023-09-01", "left_on": "2024-03-01"}
    ]


def test_actions_are_logged_withdrawn_once_and_refs_stay_with_their_table(
    platform: Platform,
) -> None:
    table, other = platform.table(), platform.table()
    body = {"kind": "visibilite", "title": "Présentoir", "performed_on": "2023-10-05",
            "external_ref": "action-7"}  # fmt: skip
    logged = platform.http.post(f"/v1/sector-tables/{table['id']}/actions", json=body)
    assert logged.status_code == 201
    assert (
        platform.http.post(f"/v1/sector-tables/{table['id']}/actions", json=body).status_code == 200
    )
    elsewhere = platform.http.post(f"/v1/sector-tables/{other['id']}/actions", json=body)
    assert_problem(elsewhere, 409, "/external-ref-taken")
    action = f"/v1/sector-tables/{table['id']}/actions/{logged.json()['id']}"
    assert platform.http.delete(action, params={"reason": "doublon"}).status_code == 204
    assert_problem(platform.http.delete(action), 404, "/already-withdrawn")
    listed = platform.reader.get(f"/v1/sector-tables/{table['id']}/actions").json()
    assert listed["items"] == []


def test_placements_are_with_retailers_one_open_at_a_time_and_block_dissolution(
    platform: Platform,
) -> None:
    table = platform.table()
    retailer = platform.partner(f"Bières et cie (exemple) {uuid4().hex[:4]}", "detaillant")
    university = platform.partner(f"Université (exemple) {uuid4().hex[:4]}", "recherche")
    path = f"/v1/sector-tables/{table['id']}/retail-placements"
    not_a_retailer = {"retailer_id": university["id"], "started_on": "2023-10-01"}
    assert_problem(platform.http.post(path, json=not_a_retailer), 422, "/not-a-retailer")
    placed = platform.http.post(
        path, json={"retailer_id": retailer["id"], "started_on": "2023-10-01"}
    )
    assert placed.status_code == 201
    assert_problem(
        platform.http.post(path, json={"retailer_id": retailer["id"], "started_on": "2023-11-01"}),
        409,
    )
    assert len(platform.reader.get(path, params={"open": "true"}).json()["items"]) == 1
    dissolution = f"/v1/sector-tables/{table['id']}/dissolution"
    assert_problem(platform.http.post(dissolution, json={"dissolved_on": "2024-06-01"}), 409)
    ended = platform.http.post(f"{path}/{placed.json()['id']}/end", json={"ended_on": "2024-05-01"})
    assert ended.json()["ended_on"] == "2024-05-01"
    assert platform.reader.get(path, params={"open": "true"}).json()["items"] == []
    assert platform.http.post(dissolution, json={"dissolved_on": "2024-06-01"}).status_code == 200
    assert_problem(
        platform.http.post(f"/v1/sector-tables/{table['id']}/actions",
                           json={"kind": "autre", "title": "x", "performed_on": "2024-07-01"}),
        409, "/table-dissolved",
    )  # fmt: skip


def test_writes_need_the_partnerships_scope_and_a_sector_on_the_list(platform: Platform) -> None:
    refused = platform.reader.post("/v1/partners", json={"name": "x", "kind": "autre"})
    assert_problem(refused, 403)
    unknown = platform.http.post(
        "/v1/sector-tables", json={"name": "T", "sector": "licornes", "formed_on": "2023-01-01"}
    )
    assert_problem(unknown, 422)


def test_every_record_reaches_the_stream_with_its_documented_data(platform: Platform) -> None:
    partner = platform.partner("Publié (exemple)", "autre")

    def published() -> list[dict[str, Any]]:
        messages = asyncio.run(stream_messages(platform.nats.url, "COOP_PARTNERSHIPS"))
        return [m for m in messages if m["body"]["aggregate_id"] == partner["id"]]

    [message] = wait_for(published)
    assert message["subject"] == "coop.partnerships.PartnerRegistered"
    assert message["body"]["data"] == {
        "partner_id": partner["id"], "name": "Publié (exemple)", "kind": "autre",
        "region": None, "aliases": [], "website": None,
    }  # fmt: skip
