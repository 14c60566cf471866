"""Ambassadors API rules (contract §1, §4, §6, §10) in-process, fed membership by `sync()`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from tests.inprocess.platform import (
    PERSONAL,
    READER,
    WRITER,
    InProcessPlatform,
    InProcessService,
    fields_of,
    join,
    problem,
    running,
)

pytestmark = pytest.mark.inprocess


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessPlatform]:
    with running(tmp_path_factory.mktemp("ambassadors"), "membership", "ambassadors") as built:
        yield built


@pytest.fixture
def service(platform: InProcessPlatform) -> InProcessService:
    return platform.services["ambassadors"]


@pytest.fixture
def api(service: InProcessService) -> TestClient:
    return service.client()


@pytest.fixture(scope="module")
def cooperative(platform: InProcessPlatform) -> str:
    return join(platform)


def enrollment(cooperative_id: str, /, **overrides: Any) -> dict[str, Any]:
    return {
        "cooperative_id": cooperative_id,
        "name": "Camille Tremblay",
        "email": "camille@example.org",
        "enrolled_on": "2023-06-01",
        **overrides,
    }


def enroll(api: TestClient, cooperative_id: str, /, **overrides: Any) -> dict[str, Any]:
    response = api.post("/v1/ambassadors", json=enrollment(cooperative_id, **overrides))
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def test_enrollment_answers_201_with_location_etag_and_reads_back(
    api: TestClient, cooperative: str
) -> None:
    response = api.post("/v1/ambassadors", json=enrollment(cooperative))

    assert response.status_code == 201, response.text
    ambassador = response.json()
    assert response.headers["Location"].endswith(f"/v1/ambassadors/{ambassador['id']}")
    assert response.headers["ETag"] == '"1"'
    assert (ambassador["status"], ambassador["actions"], ambassador["erased"]) == (
        "active",
        0,
        False,
    )
    assert api.get(f"/v1/ambassadors/{ambassador['id']}").json() == ambassador


def test_enrollment_for_a_cooperative_the_view_does_not_know_is_422_not_member(
    platform: InProcessPlatform, api: TestClient
) -> None:
    cooperative_id = join(platform, sync=False)

    before_sync = api.post("/v1/ambassadors", json=enrollment(cooperative_id))
    platform.sync()
    after_sync = api.post("/v1/ambassadors", json=enrollment(cooperative_id))

    assert problem(before_sync, 422)["type"].endswith("not-member")
    assert after_sync.status_code == 201, after_sync.text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"enrolled_on": "2023-13-01"}, "enrolled_on"),
        ({"name": ""}, "name"),
        ({"cooperative_id": "nope"}, "cooperative_id"),
    ],
)
def test_a_bad_enrollment_is_422_naming_the_field(
    api: TestClient, cooperative: str, overrides: dict[str, Any], field: str
) -> None:
    response = api.post("/v1/ambassadors", json=enrollment(cooperative, **overrides))

    assert field in fields_of(problem(response, 422))


def test_name_and_email_are_redacted_without_personal_read_and_erased_still_tells(
    service: InProcessService, api: TestClient, cooperative: str
) -> None:
    ambassador = enroll(api, cooperative)
    path = f"/v1/ambassadors/{ambassador['id']}"

    reader = service.client(READER)
    single = reader.get(path).json()
    listed = reader.get("/v1/ambassadors", params={"limit": 1000}).json()["items"]
    mine = next(item for item in listed if item["id"] == ambassador["id"])

    assert (single["name"], single["email"], single["erased"]) == (None, None, False)
    assert (mine["name"], mine["email"]) == (None, None)
    for client in (service.client(PERSONAL), api):
        document = client.get(path).json()
        assert (document["name"], document["email"]) == ("Camille Tremblay", "camille@example.org")


def test_the_answer_to_a_writer_without_personal_read_is_redacted(
    service: InProcessService, cooperative: str
) -> None:
    writer = service.client(WRITER)

    created = writer.post("/v1/ambassadors", json=enrollment(cooperative))
    retired = writer.post(
        f"/v1/ambassadors/{created.json()['id']}/retirement", json={"retired_on": "2024-01-01"}
    )

    assert created.status_code == 201, created.text
    assert (created.json()["name"], created.json()["email"]) == (None, None)
    assert (retired.status_code, retired.json()["name"]) == (200, None)
    problem(writer.get("/v1/ambassadors"), 403)


def test_the_email_filter_is_for_a_privacy_admin_only(
    service: InProcessService, api: TestClient, cooperative: str
) -> None:
    email = f"lookup-{uuid4().hex[:8]}@example.org"
    wanted = enroll(api, cooperative, email=email)

    found = api.get("/v1/ambassadors", params={"email": email.upper()}).json()
    refused = service.client(PERSONAL).get("/v1/ambassadors", params={"email": email})

    assert [item["id"] for item in found["items"]] == [wanted["id"]]
    problem(refused, 403)


def test_personal_data_is_exported_then_erased_for_good(api: TestClient, cooperative: str) -> None:
    ambassador = enroll(api, cooperative, name="Maëlle Fortin", email="maelle@exemple.qc")
    path = f"/v1/ambassadors/{ambassador['id']}/personal-data"

    exported = api.get(path).json()
    assert (exported["name"], exported["email"]) == ("Maëlle Fortin", "maelle@exemple.qc")
    assert exported["cooperative"]["id"] == cooperative
    assert (api.delete(path).status_code, api.delete(path).status_code) == (204, 204)

    after = api.get(path).json()
    assert (after["name"], after["email"], after["erased"]) == (None, None, True)
    now = api.get(f"/v1/ambassadors/{ambassador['id']}").json()
    assert (now["name"], now["erased"], now["version"]) == (None, True, 1)
    problem(api.get(f"/v1/ambassadors/{uuid4()}/personal-data"), 404)


def test_an_action_answers_201_and_its_date_rules_are_422_then_409(
    api: TestClient, cooperative: str
) -> None:
    ambassador = enroll(api, cooperative)
    path = f"/v1/ambassadors/{ambassador['id']}"

    logged = api.post(f"{path}/actions", json={"kind": "kiosque", "performed_on": "2023-10-12"})
    early = api.post(f"{path}/actions", json={"kind": "autre", "performed_on": "2023-05-31"})
    assert api.post(f"{path}/retirement", json={"retired_on": "2024-01-01"}).status_code == 200
    late = api.post(f"{path}/actions", json={"kind": "autre", "performed_on": "2024-01-01"})

    assert logged.status_code == 201, logged.text
    assert (logged.json()["people_reached"], logged.json()["activity_id"]) == (None, None)
    assert fields_of(problem(early, 422)) == {"performed_on"}
    problem(late, 409)
    problem(api.post(f"{path}/retirement", json={"retired_on": "2024-02-01"}), 409)


def test_checks_come_in_the_contract_order_422_404_412(api: TestClient, cooperative: str) -> None:
    unknown = f"/v1/ambassadors/{uuid4()}"
    ambassador = enroll(api, cooperative)
    path = f"/v1/ambassadors/{ambassador['id']}"

    problem(api.post(f"{unknown}/actions", json={"kind": "nope"}), 422)
    problem(api.post(f"{unknown}/actions", json={"kind": "autre", "performed_on": "2023-07-01"}),
            404)  # fmt: skip
    stale = api.post(
        f"{path}/retirement", json={"retired_on": "2024-01-01"}, headers={"If-Match": '"9"'}
    )
    problem(stale, 412)
    assert api.get(path).json()["status"] == "active"


def test_an_action_is_corrected_then_withdrawn_and_counts_no_more(
    api: TestClient, cooperative: str
) -> None:
    ambassador = enroll(api, cooperative)
    path = f"/v1/ambassadors/{ambassador['id']}"
    action = api.post(
        f"{path}/actions", json={"kind": "kiosque", "performed_on": "2023-07-01"}
    ).json()
    one = f"{path}/actions/{action['id']}"

    problem(api.patch(one, json={"people_reached": 40}, headers={"If-Match": '"1"'}), 412)
    corrected = api.patch(one, json={"people_reached": 40}, headers={"If-Match": '"2"'})
    withdrawn = api.delete(one, params={"reason": "doublon"})

    assert (corrected.status_code, corrected.json()["people_reached"]) == (200, 40)
    assert corrected.headers["ETag"] == '"3"'
    assert withdrawn.status_code == 204
    assert problem(api.delete(one), 404)["type"].endswith("already-withdrawn")
    now = api.get(path).json()
    assert (now["actions"], now["version"]) == (0, 4)


def test_an_enrollment_replays_under_its_idempotency_key_and_a_known_external_ref_is_200(
    api: TestClient, cooperative: str
) -> None:
    key = {"Idempotency-Key": uuid4().hex}
    ref = f"crm-{uuid4().hex}"
    body = enrollment(cooperative, external_ref=ref)

    first = api.post("/v1/ambassadors", json=body, headers=key)
    replay = api.post("/v1/ambassadors", json=body, headers=key)
    known = api.post("/v1/ambassadors", json={**body, "name": "Quelqu'un d'autre"})

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert (known.status_code, known.json()) == (200, first.json())


def test_a_cooperative_leaving_deactivates_its_active_ambassadors_once_synced(
    platform: InProcessPlatform, api: TestClient
) -> None:
    cooperative_id = join(platform)
    active = enroll(api, cooperative_id)
    retired = enroll(api, cooperative_id)
    assert (
        api.post(
            f"/v1/ambassadors/{retired['id']}/retirement", json={"retired_on": "2023-12-01"}
        ).status_code
        == 200
    )

    left = (
        platform.services["membership"]
        .client()
        .post(f"/v1/cooperatives/{cooperative_id}/departure", json={"left_on": "2024-03-01"})
    )
    assert left.status_code == 200, left.text
    platform.sync()

    now = api.get(f"/v1/ambassadors/{active['id']}").json()
    assert (now["status"], now["ended_on"], now["version"]) == ("deactivated", "2024-03-01", 2)
    assert api.get(f"/v1/ambassadors/{retired['id']}").json()["status"] == "retired"
    refused = api.post("/v1/ambassadors", json=enrollment(cooperative_id, enrolled_on="2024-04-01"))
    assert problem(refused, 422)["type"].endswith("not-member")
