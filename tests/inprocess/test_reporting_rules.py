"""Reporting API rules (contract §5, §11) in-process: the four streams projected by `sync()`.

Each test records its facts in a fiscal year of its own, so that the figures of one test are
not another's. Closing a year waits for the projector's consumers to catch up with NATS, so
its success path stays with the e2e tier; its refusals are checked here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.inprocess.platform import READER, InProcessPlatform, fields_of, join, problem, running

pytestmark = pytest.mark.inprocess
SERVICES = ("membership", "events", "ambassadors", "partnerships", "reporting")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessPlatform]:
    with running(tmp_path_factory.mktemp("reporting"), *SERVICES) as built:
        yield built


@pytest.fixture
def api(platform: InProcessPlatform) -> TestClient:
    return platform.services["reporting"].client()


def indicators(api: TestClient, year: str, **params: str) -> dict[str, Any]:
    response = api.get(f"/v1/indicators/{year}", params=params)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def test_every_publishers_records_reach_the_years_figures_once_synced(
    platform: InProcessPlatform, api: TestClient
) -> None:
    year = "2011-2012"
    cooperative = join(platform, "2011-10-01")
    events = platform.services["events"].client()
    activity = events.post(
        "/v1/activities",
        json={"type": "formation", "title": "T", "date": "2011-11-15", "format": "remote"},
    ).json()
    attended = events.post(
        f"/v1/activities/{activity['id']}/attendances",
        json={"cooperative_id": cooperative, "participants": 3},
    )
    ambassadors = platform.services["ambassadors"].client()
    ambassador = ambassadors.post(
        "/v1/ambassadors",
        json={"cooperative_id": cooperative, "name": "Camille", "enrolled_on": "2011-10-15"},
    ).json()
    acted = ambassadors.post(
        f"/v1/ambassadors/{ambassador['id']}/actions",
        json={"kind": "kiosque", "performed_on": "2011-12-01", "people_reached": 7},
    )
    partnerships = platform.services["partnerships"].client()
    partner = partnerships.post("/v1/partners", json={"name": "CERSE", "kind": "recherche"})
    project = partnerships.post(
        "/v1/research-projects",
        json={"title": "R", "partner_ids": [partner.json()["id"]], "started_on": "2011-11-01"},
    )
    assert (attended.status_code, acted.status_code, project.status_code) == (201, 201, 201)

    before = indicators(api, year)["indicators"]
    platform.sync()
    after = indicators(api, year)["indicators"]

    counted = (
        "members.joined",
        "activities.total",
        "attendance.member_attendances",
        "ambassadors.actions",
        "research.projects",
    )
    assert [before[name] for name in counted] == [1, 0, 0, 0, 0]
    assert [after[name] for name in counted] == [1, 1, 1, 1, 1]
    assert (after["attendance.participants"], after["ambassadors.people_reached"]) == (3, 7)
    assert after["participation.rate"] == 1.0


def test_a_cut_off_date_leaves_out_what_happened_after_it(
    platform: InProcessPlatform, api: TestClient
) -> None:
    year = "2012-2013"
    join(platform, "2012-10-01")
    join(platform, "2013-03-01")

    whole = indicators(api, year)
    cut = indicators(api, year, as_of="2012-12-31")

    assert (whole["as_of"], whole["indicators"]["members.joined"]) == ("2013-08-31", 2)
    assert (cut["as_of"], cut["indicators"]["members.joined"]) == ("2012-12-31", 1)


def test_a_voided_cooperative_leaves_the_figures_but_not_those_as_recorded_before(
    platform: InProcessPlatform, api: TestClient
) -> None:
    year = "2013-2014"
    cooperative = join(platform, "2013-10-01")
    recorded = indicators(api, year)["freshness"]["membership"]["last_event_at"]

    voided = (
        platform.services["membership"]
        .client()
        .post(f"/v1/cooperatives/{cooperative}/void", json={"reason": "doublon"})
    )
    assert voided.status_code == 200, voided.text
    platform.sync()

    assert indicators(api, year)["indicators"]["members.joined"] == 0
    then = indicators(api, year, as_recorded=recorded)
    assert (then["as_recorded"], then["indicators"]["members.joined"]) == (recorded, 1)


def test_targets_are_replaced_read_back_and_show_progress(
    platform: InProcessPlatform, api: TestClient
) -> None:
    year = "2014-2015"
    join(platform, "2014-10-01")
    targets = {"members.joined": 4, "participation.rate": 0.5}

    put = api.put(f"/v1/targets/{year}", json=targets)

    assert put.status_code == 200, put.text
    assert put.json() == {"fiscal_year": year, "targets": targets}
    assert api.get(f"/v1/targets/{year}").json() == put.json()
    shown = indicators(api, year)["targets"]
    assert shown["members.joined"] == {"target": 4, "progress": 0.25}
    assert api.put(f"/v1/targets/{year}", json={}).json()["targets"] == {}


def test_targets_name_known_indicators_and_need_the_admin_scope(
    platform: InProcessPlatform, api: TestClient
) -> None:
    reader = platform.services["reporting"].client(READER)

    unknown = api.put("/v1/targets/2015-2016", json={"members.nobody": 3})

    assert "members.nobody" in fields_of(problem(unknown, 422))
    problem(reader.put("/v1/targets/2015-2016", json={"members.joined": 3}), 403)
    anonymous = platform.services["reporting"].client(None)
    problem(anonymous.put("/v1/targets/2015-2016", json={"members.joined": 3}), 401)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/indicators/2023-2025", {}, "fiscal_year"),
        ("/v1/indicators/2023-2024", {"as_of": "2024-13-01"}, "as_of"),
        ("/v1/indicators/2023-2024", {"as_recorded": "hier"}, "as_recorded"),
        ("/v1/indicators/2023-2024", {"view": "autre"}, "view"),
        ("/v1/indicators", {"from": "2024-2025", "to": "2022-2023"}, "from"),
    ],
)
def test_a_malformed_query_is_422_naming_the_parameter(
    api: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    assert field in fields_of(problem(api.get(path, params=params), 422))


def test_a_year_that_has_not_ended_cannot_be_closed_and_closing_needs_the_admin_scope(
    platform: InProcessPlatform, api: TestClient
) -> None:
    reporting = platform.services["reporting"]
    current = api.get("/v1/fiscal-years").json()["items"][-1]["fiscal_year"]

    refused = api.post(f"/v1/fiscal-years/{current}/closure")
    malformed = api.post("/v1/fiscal-years/2023-2025/closure")

    assert problem(refused, 422)["type"].endswith("/year-not-ended")
    assert fields_of(problem(malformed, 422)) == {"fiscal_year"}
    problem(reporting.client(None).post("/v1/fiscal-years/2023-2024/closure"), 401)
    problem(reporting.client(READER).post("/v1/fiscal-years/2023-2024/closure"), 403)


def test_the_csv_of_a_year_holds_a_line_per_scalar_and_per_key(
    platform: InProcessPlatform, api: TestClient
) -> None:
    year = "2016-2017"
    join(platform, "2016-10-01")

    lines = api.get(f"/v1/indicators/{year}.csv").text.splitlines()

    assert lines[0] == "indicator,key,value"
    assert "members.joined,,1" in lines
    assert "members.joined_by_month,2016-10,1" in lines


def test_a_far_year_is_listed_while_it_has_targets_and_no_longer_once_they_are_cleared(
    api: TestClient,
) -> None:
    def listed() -> list[str]:
        return [item["fiscal_year"] for item in api.get("/v1/fiscal-years").json()["items"]]

    assert api.put("/v1/targets/2040-2041", json={"members.total": 200}).status_code == 200
    assert listed()[-1] == "2040-2041"

    assert api.put("/v1/targets/2040-2041", json={}).status_code == 200
    assert "2040-2041" not in listed()
