"""Closed years, series and targets (contract §11) against real processes over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import NatsServer, ServiceProcess, stream_messages, wait_for

YEAR = "2023-2024"


@pytest.fixture
def platform(tmp_path: Path, nats_server: NatsServer) -> Iterator[dict[str, ServiceProcess]]:
    """Membership and reporting as real processes."""
    processes = {
        name: ServiceProcess(name, tmp_path / name, nats_server.url)
        for name in ("membership", "reporting")
    }
    try:
        for process in processes.values():
            process.start()
        yield processes
    finally:
        for process in processes.values():
            process.stop()


def join(membership: ServiceProcess, name: str, joined_on: str) -> None:
    with membership.client() as http:
        answer = http.post(
            "/v1/cooperatives",
            json={
                "name": name,
                "region": "06",
                "sector": "microbrasserie",
                "worker_members": 5,
                "joined_on": joined_on,
            },
        )
        assert answer.status_code == 201, answer.text


def wait_for_projection(url: str, stream: str = "COOP_MEMBERSHIP") -> None:
    """Wait until the projection has applied every message of the membership stream."""

    def caught_up() -> bool:
        streams = httpx.get(url + "/v1/projections/status", timeout=5).json()["streams"]
        return bool(streams[stream]["stream_last_sequence"] > 0 and streams[stream]["lag"] == 0)

    wait_for(caught_up, 30)


def total(answer: dict[str, Any]) -> Any:
    return answer["indicators"]["members.total"]


def test_a_closed_year_keeps_its_figures_through_late_records_restarts_and_rebuilds(
    platform: dict[str, ServiceProcess], nats_server: NatsServer
) -> None:
    membership, reporting = platform["membership"], platform["reporting"]
    join(membership, "Coop A", "2023-10-01")
    join(membership, "Coop B", "2024-01-15")
    wait_for_projection(reporting.url)
    with reporting.client() as http:
        closed = http.post(f"/v1/fiscal-years/{YEAR}/closure", json={"note": "AGM 2024"})
        assert closed.status_code == 201, closed.text
        assert closed.headers["location"] == f"/v1/fiscal-years/{YEAR}/closure"
        body = closed.json()
        assert set(body) == {"fiscal_year", "closed_at", "note", "indicators"}
        assert body["note"] == "AGM 2024" and total(body) == 2
        assert http.post(f"/v1/fiscal-years/{YEAR}/closure", json={}).status_code == 409

    join(membership, "Coop C (late)", "2024-03-01")
    live_url = f"{reporting.url}/v1/indicators/{YEAR}?view=live"
    wait_for(lambda: total(httpx.get(live_url).json()) == 3)
    stored = httpx.get(f"{reporting.url}/v1/indicators/{YEAR}").json()
    assert stored["view"] == "stored" and total(stored) == 2
    assert stored["closure"] == {"closed_at": body["closed_at"], "note": "AGM 2024"}
    assert stored["as_recorded"] is None and stored["targets"] == {}
    as_of = httpx.get(f"{reporting.url}/v1/indicators/{YEAR}?as_of=2024-08-31").json()
    assert as_of["view"] == "live" and total(as_of) == 3
    changes = httpx.get(f"{reporting.url}/v1/fiscal-years/{YEAR}/closure").json()
    assert {"indicator": "members.total", "key": None, "closed": 2, "live": 3} in changes[
        "changes_since_closure"
    ]
    assert {"indicator": "members.by_region", "key": "06", "closed": 2, "live": 3} in changes[
        "changes_since_closure"
    ]

    reporting.stop()
    reporting.start()
    assert total(httpx.get(f"{reporting.url}/v1/indicators/{YEAR}").json()) == 2
    with reporting.client() as http:
        assert http.post("/v1/projections/rebuild").status_code == 202
        wait_for(lambda: not http.get("/v1/projections/status").json()["rebuilding"], 30)
        again = http.get(f"/v1/indicators/{YEAR}").json()
        assert again["view"] == "stored" and total(again) == 2

        assert http.delete(f"/v1/fiscal-years/{YEAR}/closure").status_code == 204
        assert http.delete(f"/v1/fiscal-years/{YEAR}/closure").status_code == 404
        assert http.get(f"/v1/fiscal-years/{YEAR}/closure").status_code == 404
        reopened = http.get(f"/v1/indicators/{YEAR}").json()
        assert reopened["view"] == "live" and reopened["closure"] is None
        assert total(reopened) == 3
        closed_again = http.post(f"/v1/fiscal-years/{YEAR}/closure")
        assert closed_again.status_code == 201 and total(closed_again.json()) == 3

    messages = asyncio.run(stream_messages(nats_server.url, "COOP_REPORTING"))
    bodies = [m["body"] for m in messages]
    assert [b["event_type"] for b in bodies] == [
        "FiscalYearClosed",
        "FiscalYearReopened",
        "FiscalYearClosed",
    ]
    assert messages[0]["subject"] == "coop.reporting.FiscalYearClosed"
    assert {b["data"]["fiscal_year"] for b in bodies} == {YEAR}
    assert len({b["aggregate_id"] for b in bodies}) == 1


def test_closing_needs_the_admin_scope_and_an_ended_year(
    platform: dict[str, ServiceProcess],
) -> None:
    reporting = platform["reporting"]
    with reporting.client(token=None) as anonymous:
        assert anonymous.post(f"/v1/fiscal-years/{YEAR}/closure").status_code == 401
    with reporting.client() as http:
        current = http.get("/v1/fiscal-years").json()["items"][-1]["fiscal_year"]
        refused = http.post(f"/v1/fiscal-years/{current}/closure")
        assert refused.status_code == 422
        assert refused.json()["type"].endswith("/year-not-ended")
        bad = http.post("/v1/fiscal-years/2023-2025/closure")
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "fiscal_year"


def test_an_idempotent_replay_of_a_closure_answers_the_closure_as_stored(
    platform: dict[str, ServiceProcess],
) -> None:
    reporting = platform["reporting"]
    with reporting.client() as http:
        headers = {"Idempotency-Key": "close-2023"}
        first = http.post(f"/v1/fiscal-years/{YEAR}/closure", json={}, headers=headers)
        assert first.status_code == 201
        again = http.post(f"/v1/fiscal-years/{YEAR}/closure", json={}, headers=headers)
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()


def test_series_equal_each_years_own_answer_and_targets_show_progress(
    platform: dict[str, ServiceProcess],
) -> None:
    membership, reporting = platform["membership"], platform["reporting"]
    join(membership, "Coop A", "2022-10-01")
    join(membership, "Coop B", "2023-10-01")
    join(membership, "Coop C", "2024-02-01")
    wait_for_projection(reporting.url)
    with reporting.client() as http:
        assert http.post("/v1/fiscal-years/2022-2023/closure").status_code == 201
        put = http.put(f"/v1/targets/{YEAR}", json={"members.total": 4, "participation.rate": 0.5})
        assert put.status_code == 200
        assert put.json() == {
            "fiscal_year": YEAR,
            "targets": {"members.total": 4, "participation.rate": 0.5},
        }
        assert http.get(f"/v1/targets/{YEAR}").json() == put.json()
        answer = http.get(f"/v1/indicators/{YEAR}").json()
        assert answer["targets"]["members.total"] == {"target": 4, "progress": 0.75}
        assert answer["targets"]["participation.rate"] == {"target": 0.5, "progress": 0.0}

        series = http.get("/v1/indicators", params={"from": "2021-2022", "to": YEAR}).json()
        labels = [y["fiscal_year"] for y in series["years"]]
        assert labels == ["2021-2022", "2022-2023", YEAR]
        for year in series["years"]:
            own = http.get(f"/v1/indicators/{year['fiscal_year']}").json()
            assert year["closure"] == own["closure"]
            assert year["indicators"] == {
                k: v for k, v in own["indicators"].items() if not isinstance(v, dict)
            }
        assert series["years"][1]["closure"] is not None
        csv_lines = http.get(
            "/v1/indicators.csv", params={"from": "2022-2023", "to": YEAR}
        ).text.splitlines()
        assert csv_lines[0] == "fiscal_year,indicator,value"
        assert f"{YEAR},members.total,3" in csv_lines

        items = http.get("/v1/fiscal-years").json()["items"]
        assert items[0]["fiscal_year"] == "2022-2023"
        assert items[0]["closure"] is not None and items[1]["closure"] is None
        assert [i["fiscal_year"] for i in items] == sorted(i["fiscal_year"] for i in items)

        assert http.put(f"/v1/targets/{YEAR}", json={}).json()["targets"] == {}
        assert http.get(f"/v1/indicators/{YEAR}").json()["targets"] == {}


def test_the_dashboard_opens_on_the_latest_year_with_data_and_is_served_compressed(
    platform: dict[str, ServiceProcess],
) -> None:
    membership, reporting = platform["membership"], platform["reporting"]
    join(membership, "Coop A", "2022-10-01")
    join(membership, "Coop B", "2023-10-01")
    wait_for_projection(reporting.url)
    with reporting.client(token=None) as http:
        page = http.get("/?lang=en", headers={"Accept-Encoding": "gzip"})
        assert page.status_code == 200
        assert page.headers["content-encoding"] == "gzip"
        assert '<option value="2023-2024" selected>' in page.text
        assert '<option value="2022-2023">' in page.text
        assert "Microbreweries" in page.text and "<script" not in page.text
        older = http.get("/?year=2022-2023&lang=en").text
        assert '<option value="2022-2023" selected>' in older
        assert http.get("/?year=2023").status_code == 422
        favicon = http.get("/favicon.svg")
        assert favicon.headers["content-type"].startswith("image/svg+xml")
    with reporting.client() as http:
        assert http.post(f"/v1/fiscal-years/{YEAR}/closure").status_code == 201
        report = http.get(f"/v1/reports/{YEAR}?lang=en").text
        assert "Figures of the fiscal year as closed on" in report
        markdown = http.get(f"/v1/reports/{YEAR}", headers={"Accept": "text/markdown"}).text
        assert "<svg" not in markdown and "clos le" in markdown


def test_a_closure_taken_while_the_projection_catches_up_holds_every_record_on_the_streams(
    platform: dict[str, ServiceProcess],
) -> None:
    membership, reporting = platform["membership"], platform["reporting"]
    reporting.stop()
    for number in range(150):
        join(membership, f"Coop {number}", "2023-10-01")
    reporting.start()
    with reporting.client() as http:
        closed = http.post(f"/v1/fiscal-years/{YEAR}/closure", timeout=30)
        assert closed.status_code in (201, 503), closed.text
        if closed.status_code == 503:  # nothing stored: a retry closes it
            assert closed.headers["retry-after"].isdigit()
            assert http.get(f"/v1/fiscal-years/{YEAR}/closure").status_code == 404
            closed = http.post(f"/v1/fiscal-years/{YEAR}/closure", timeout=30)
        assert closed.status_code == 201
        assert total(closed.json()) == 150
