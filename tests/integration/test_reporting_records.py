"""Closures and targets in the reporting service's own event store on PostgreSQL (§11).

The projection's fact model shares the database but is dropped and rebuilt on demand; the
records of closures and targets are not, and reach `COOP_REPORTING` through the outbox relay.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support import NatsServer, ServiceProcess, stream_messages, wait_for

YEAR = "2023-2024"


def test_closures_and_targets_survive_restarts_and_rebuilds_on_postgresql(
    tmp_path: Path, nats_server: NatsServer, postgres_database_url: str
) -> None:
    reporting = ServiceProcess(
        "reporting",
        tmp_path / "reporting",
        nats_server.url,
        COOP_REPORTING_DATABASE_URL=postgres_database_url,
    )
    reporting.start()
    try:
        with reporting.client() as http:
            assert http.put(f"/v1/targets/{YEAR}", json={"members.total": 10}).status_code == 200
            closed = http.post(f"/v1/fiscal-years/{YEAR}/closure", json={"note": "AGA"})
            assert closed.status_code == 201, closed.text
        reporting.stop()
        reporting.start()
        with reporting.client() as http:
            assert http.post("/v1/projections/rebuild").status_code == 202
            wait_for(lambda: not http.get("/v1/projections/status").json()["rebuilding"], 30)
            answer = http.get(f"/v1/indicators/{YEAR}").json()
            assert answer["view"] == "stored"
            assert answer["closure"] == {"closed_at": closed.json()["closed_at"], "note": "AGA"}
            assert answer["targets"] == {"members.total": {"target": 10, "progress": 0.0}}
            assert http.get(f"/v1/targets/{YEAR}").json()["targets"] == {"members.total": 10}
    finally:
        reporting.stop()

    def published() -> list[str]:
        messages = asyncio.run(stream_messages(nats_server.url, "COOP_REPORTING"))
        return [m["body"]["event_type"] for m in messages]

    assert wait_for(lambda: published() == ["TargetsSet", "FiscalYearClosed"])
