"""The partnerships API's refusals read specifically in French and in English (contract §1, §16.13).

Each refusal is asked for twice, with no Accept-Language (French) and with `en`: both name the
rule and its values, and `type`, `status` and every `field` are the same in both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

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

WRITER = {"Authorization": "Bearer writer"}
TOKENS = TokenTable({digest("writer"): frozenset({"read", "partnerships:write"})})
MEMBER = uuid4()
GENERIC = {
    "La requête ne respecte pas une règle.",
    "Cette valeur est refusée.",
    "La demande contredit l'état actuel.",
    "La requête a été refusée.",
}


class OneMember:
    """Only MEMBER is a member of the network."""

    def is_member_on(self, cooperative_id: str, day: date) -> bool:
        return cooperative_id == str(MEMBER)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    database = Database(f"sqlite:///{tmp_path / 'partnerships.sqlite3'}", app_name="partnerships")
    database.create_tables(views.metadata, membership_view.metadata)
    app = Partnerships(database, OneMember(), views.SectorList(database))
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


def created(http: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(path, json=body)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def both(ask: Callable[[dict[str, str]], Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same refusal in French (no Accept-Language) and in English."""
    french, english = ask({}), ask({"Accept-Language": "en"})
    assert french.status_code == english.status_code >= 400, french.text
    assert french.headers["Content-Language"] == "fr"
    assert english.headers["Content-Language"] == "en"
    fr, en = french.json(), english.json()
    assert (fr["type"], fr["status"]) == (en["type"], en["status"])
    assert [e["field"] for e in fr.get("errors", [])] == [e["field"] for e in en.get("errors", [])]
    texts = [fr["detail"], *(e["message"] for e in fr.get("errors", []))]
    assert not GENERIC & set(texts), fr
    assert fr["detail"] != en["detail"]
    return fr, en


def test_the_directorys_refusals_are_specific_in_both_languages(client: TestClient) -> None:
    shop = created(client, "/v1/partners", {"name": "Épicerie", "kind": "detaillant"})["id"]

    fr, en = both(
        lambda h: client.post("/v1/partners", json={"name": "épicerie", "kind": "autre"}, headers=h)
    )
    assert fr["type"].endswith("/partner-name-taken") and fr["status"] == 409
    assert fr["title"] == "Nom de partenaire déjà utilisé"
    assert fr["detail"] == "Un·e autre partenaire porte déjà le nom 'épicerie'."
    assert en["detail"] == "Another partner already goes by the name 'épicerie'."

    site = {"name": "Site", "kind": "autre", "website": "ftp://example.org"}
    fr, en = both(lambda h: client.post("/v1/partners", json=site, headers=h))
    assert fr["errors"] == [{"field": "website", "message": "doit être une URL http(s)"}]
    assert en["errors"] == [{"field": "website", "message": "must be an http(s) URL"}]

    fr, en = both(lambda h: client.patch(f"/v1/partners/{shop}", json={"name": None}, headers=h))
    assert fr["errors"] == [{"field": "name", "message": "name ne peut pas être nul"}]

    assert client.post(f"/v1/partners/{shop}/reactivation").status_code == 409
    fr, en = both(lambda h: client.post(f"/v1/partners/{shop}/reactivation", headers=h))
    assert fr["type"].endswith("/partner-status")
    assert fr["detail"] == "Le ou la partenaire est déjà actif·ve."
    assert en["detail"] == "The partner is already active."


def test_the_tables_and_projects_refusals_are_specific_in_both_languages(
    client: TestClient,
) -> None:
    body = {"name": "Table", "sector": "inconnu", "formed_on": "2022-11-01"}
    fr, en = both(lambda h: client.post("/v1/sector-tables", json=body, headers=h))
    assert fr["type"].endswith("/unknown-sector")
    assert fr["errors"] == [
        {"field": "sector", "message": "'inconnu' n'est pas dans la liste des secteurs."}
    ]
    assert en["errors"][0]["message"] == "'inconnu' is not on the sector list."

    body["sector"] = "microbrasserie"
    table = created(client, "/v1/sector-tables", body)["id"]
    members = f"/v1/sector-tables/{table}/members"
    outsider = uuid4()
    joining = {"cooperative_id": str(outsider), "joined_on": "2022-03-05"}
    fr, en = both(lambda h: client.post(members, json=joining, headers=h))
    assert fr["type"].endswith("/cooperative-not-member")
    assert fr["detail"] == (
        f"La coopérative {outsider} n'est pas membre le 2022-03-05 (selon les partenariats)."
    )
    assert "as far as the partnerships service knows" in en["detail"]

    fr, en = both(lambda h: client.delete(f"{members}/{outsider}", headers=h))
    assert fr["errors"] == [{"field": "left_on", "message": "champ obligatoire"}]
    assert en["errors"] == [{"field": "left_on", "message": "field required"}]

    created(client, members, {"cooperative_id": str(MEMBER), "joined_on": "2023-01-01"})
    early = {"left_on": "2022-12-01"}
    fr, en = both(lambda h: client.delete(f"{members}/{MEMBER}", params=early, headers=h))
    assert fr["type"].endswith("/table-date")
    assert fr["errors"] == [
        {"field": "left_on", "message": "left_on doit suivre le joined_on du membre."}
    ]

    other = created(client, "/v1/partners", {"name": "Fonds", "kind": "autre"})["id"]
    placements = f"/v1/sector-tables/{table}/retail-placements"
    placing = {"retailer_id": other, "started_on": "2023-10-01"}
    fr, en = both(lambda h: client.post(placements, json=placing, headers=h))
    assert fr["type"].endswith("/not-a-retailer")
    assert fr["detail"] == "Le ou la partenaire 'Fonds' n'est pas un détaillant."

    fr, en = both(
        lambda h: client.post(
            "/v1/research-projects",
            json={"title": "Étude", "partner_ids": [str(uuid4())], "started_on": "2023-01-01"},
            headers=h,
        )
    )
    assert fr["type"].endswith("/unknown-partner")
    assert fr["detail"].endswith("n'est pas un·e partenaire du répertoire.")

    project = created(
        client,
        "/v1/research-projects",
        {"title": "Étude", "partner_ids": [other], "started_on": "2023-01-01"},
    )["id"]
    completion = f"/v1/research-projects/{project}/completion"
    fr, en = both(lambda h: client.post(completion, json={"ended_on": "2022-01-01"}, headers=h))
    assert fr["type"].endswith("/project-date")
    assert fr["errors"] == [
        {"field": "ended_on", "message": "ended_on ne peut précéder started_on."}
    ]
    assert client.post(completion, json={"ended_on": "2024-01-01"}).status_code == 200
    fr, en = both(lambda h: client.post(completion, json={"ended_on": "2024-02-01"}, headers=h))
    assert fr["type"].endswith("/already-completed")
    assert (fr["title"], fr["detail"]) == ("Projet déjà terminé", "Le projet est déjà terminé.")
    assert (en["title"], en["detail"]) == (
        "Project already completed",
        "The project is already completed.",
    )
