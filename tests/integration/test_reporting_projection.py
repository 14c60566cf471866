"""The reporting projection against the real publishing services on a real nats-server.

The reference for every figure is a direct computation: the streams' messages read back from
JetStream and projected once, in order, into a fresh fact model. Partnerships events (§12) and
v2 corrections are published on their streams as their services would publish them.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest
import sqlalchemy as sa

from services.demo import DemoClient, plan_history, record, wait_for_projection
from services.reporting import facts
from services.reporting.fiscal_year import parse_fiscal_year
from services.reporting.indicators import compute_indicators
from services.reporting.projection import apply_event
from tests.support import TOKEN, NatsServer, ServiceProcess, stream_messages

SERVICES = ("membership", "events", "ambassadors", "reporting")
STREAMS = ("COOP_MEMBERSHIP", "COOP_EVENTS", "COOP_AMBASSADORS", "COOP_PARTNERSHIPS")
YEAR = "2023-2024"


@pytest.fixture
def platform(tmp_path: Path, nats_server: NatsServer) -> Iterator[dict[str, ServiceProcess]]:
    """The four services as real processes, each with its own data dir."""
    processes = {name: ServiceProcess(name, tmp_path / name, nats_server.url) for name in SERVICES}
    try:
        for process in processes.values():
            process.start()
        yield processes
    finally:
        for process in processes.values():
            process.stop()


def indicators(reporting: ServiceProcess) -> dict[str, Any]:
    """The reporting service's answer for 2023-2024, once it has caught up."""
    wait_for_projection(reporting.url)
    answer: dict[str, Any] = httpx.get(f"{reporting.url}/v1/indicators/{YEAR}", timeout=30).json()
    return answer["indicators"]


def _envelope(event_type: str, aggregate_id: str, version: int, data: dict[str, Any]) -> bytes:
    body = {
        "event_id": str(uuid4()),
        "event_type": event_type,
        "schema_version": 1,
        "aggregate_id": aggregate_id,
        "aggregate_version": version,
        "occurred_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "correlation_id": str(uuid4()),
        "causation_id": None,
        "data": data,
    }
    return json.dumps(body).encode()


async def _publish(nats_url: str, service: str, events: list[tuple[str, str, dict[str, Any]]]):
    """Publish events on a service's stream as that service would: each aggregate's next
    version after those already on the stream (consumers apply a version once)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        stream = f"COOP_{service.upper()}"
        stored = 0
        for _ in range(100):
            try:
                stored = (await js.stream_info(stream)).state.messages
                break
            except Exception:
                await asyncio.sleep(0.1)
        versions: dict[str, int] = {}
        for message in await stream_messages(nats_url, stream) if stored else []:
            aggregate_id = message["body"]["aggregate_id"]
            versions[aggregate_id] = max(
                versions.get(aggregate_id, 0), message["body"]["aggregate_version"]
            )
        for event_type, aggregate_id, data in events:
            versions[aggregate_id] = versions.get(aggregate_id, 0) + 1
            body = _envelope(event_type, aggregate_id, versions[aggregate_id], data)
            headers = {"Nats-Msg-Id": json.loads(body)["event_id"]}
            await js.publish(f"coop.{service}.{event_type}", body, headers=headers)
    finally:
        await nc.close()


def partnerships_history() -> list[tuple[str, str, dict[str, Any]]]:
    """Two research projects, a sector table with an action and a retail placement."""
    uqam, cerse, retailer, table = (str(uuid4()) for _ in range(4))
    events: list[tuple[str, str, dict[str, Any]]] = []
    for partner, name, kind in (
        (uqam, "UQAM", "recherche"),
        (cerse, "CERSE", "recherche"),
        (retailer, "Dépanneur (exemple)", "detaillant"),
    ):
        data = {"partner_id": partner, "name": name, "kind": kind, "region": None}
        events.append(("PartnerRegistered", partner, {**data, "aliases": [], "website": None}))
    for partner in (uqam, cerse):
        project = str(uuid4())
        data = {"project_id": project, "title": "Recherche", "theme": None}
        events.append(
            (
                "ResearchProjectStarted",
                project,
                {**data, "partner_ids": [partner], "started_on": "2023-10-01"},
            )
        )
    formed = {"name": "Microbrasseries", "sector": "microbrasserie", "formed_on": "2023-09-15"}
    events.append(("SectorTableFormed", table, {"table_id": table, **formed}))
    action = {"action_id": str(uuid4()), "kind": "visibilite", "title": "Salon"}
    events.append(
        (
            "SectorTableActionLogged",
            table,
            {"table_id": table, **action, "performed_on": "2023-11-01", "partner_ids": []},
        )
    )
    placement = {"placement_id": str(uuid4()), "retailer_id": retailer, "note": None}
    events.append(
        (
            "RetailPlacementSecured",
            table,
            {"table_id": table, **placement, "started_on": "2024-01-10"},
        )
    )
    return events


def publish_partnerships(nats_url: str) -> None:
    asyncio.run(_publish(nats_url, "partnerships", partnerships_history()))


def direct_computation(nats_url: str, as_recorded: datetime | None = None) -> dict[str, Any]:
    """Every stream's messages projected once, in order, into a fresh in-memory model (only
    those recorded at or before ``as_recorded``, when given)."""
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        facts.create_schema(conn)
        for stream in STREAMS:
            seen: set[str] = set()
            for message in asyncio.run(stream_messages(nats_url, stream)):
                body = message["body"]
                if body["event_id"] in seen:
                    continue
                seen.add(body["event_id"])
                recorded_at = datetime.fromisoformat(body["occurred_at"])
                if as_recorded is not None and recorded_at > as_recorded:
                    continue
                apply_event(conn, facts.INITIAL_GENERATION, body)
        year = parse_fiscal_year(YEAR)
        return compute_indicators(conn, facts.INITIAL_GENERATION, year, year.end)


def test_figures_equal_a_direct_computation_after_the_reporting_service_is_killed_mid_stream(
    platform: dict[str, ServiceProcess], nats_server: NatsServer
) -> None:
    reporting = platform["reporting"]
    client = DemoClient({n: p.url for n, p in platform.items()}, TOKEN)
    recording = threading.Thread(target=record, args=(client, plan_history()))
    recording.start()
    for _ in range(3):
        threading.Event().wait(1.0)
        reporting.kill()
        reporting.start()
    recording.join(120)
    assert not recording.is_alive()
    publish_partnerships(nats_server.url)

    figures = indicators(reporting)
    assert figures == direct_computation(nats_server.url)
    assert figures["members.total"] == 125
    assert figures["ambassadors.mobilized"] == 29
    assert figures["research.projects"] == 2
    assert figures["sector_tables.retailers"] == 1
    status = httpx.get(f"{reporting.url}/v1/projections/status", timeout=10).json()
    assert set(status["streams"]) == set(STREAMS)
    assert all(s["parked"] == 0 for s in status["streams"].values())


async def _republish_everything(nats_url: str) -> int:
    """Publish every message of every stream again, under new message ids."""
    copies = 0
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for stream in STREAMS:
            for message in await stream_messages(nats_url, stream):
                await js.publish(
                    message["subject"],
                    httpx.Response(200, json=message["body"]).content,
                    headers={"Nats-Msg-Id": str(uuid4())},
                )
                copies += 1
    finally:
        await nc.close()
    return copies


def test_events_delivered_twice_and_a_rebuild_change_no_figure(
    platform: dict[str, ServiceProcess], nats_server: NatsServer
) -> None:
    reporting = platform["reporting"]
    record(DemoClient({n: p.url for n, p in platform.items()}, TOKEN), plan_history())
    publish_partnerships(nats_server.url)
    before = indicators(reporting)

    assert asyncio.run(_republish_everything(nats_server.url)) > 0
    assert indicators(reporting) == before

    admin = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(f"{reporting.url}/v1/projections/rebuild", headers=admin).status_code == 202
    deadline = threading.Event()
    for _ in range(300):
        status = httpx.get(f"{reporting.url}/v1/projections/status", timeout=10).json()
        if not status["rebuilding"]:
            break
        deadline.wait(0.2)
    assert not status["rebuilding"]
    assert indicators(reporting) == before


def test_corrections_count_as_corrected_and_figures_as_recorded_equal_what_was_known_then(
    platform: dict[str, ServiceProcess], nats_server: NatsServer, tmp_path: Path
) -> None:
    reporting = platform["reporting"]
    record(DemoClient({n: p.url for n, p in platform.items()}, TOKEN), plan_history())
    publish_partnerships(nats_server.url)
    before = indicators(reporting)
    time.sleep(0.01)
    noted = datetime.now(UTC)
    time.sleep(0.01)
    members = asyncio.run(stream_messages(nats_server.url, "COOP_MEMBERSHIP"))
    joined = [m["body"]["aggregate_id"] for m in members if m["body"]["event_type"] == "CoopJoined"]
    voided, corrected = joined[0], joined[1]
    asyncio.run(
        _publish(
            nats_server.url,
            "membership",
            [
                ("CoopVoided", voided, {"cooperative_id": voided, "reason": "Doublon"}),
                (
                    "CoopMembershipCorrected",
                    corrected,
                    {
                        "cooperative_id": corrected,
                        "periods": [{"start": "2023-09-01", "end": "2023-10-01"}],
                        "reason": None,
                    },
                ),
            ],
        )
    )

    after = indicators(reporting)
    assert after == direct_computation(nats_server.url)
    assert after["members.total"] < before["members.total"]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'reporting' / 'reporting.sqlite3'}")
    try:
        with engine.connect() as conn:
            year = parse_fiscal_year(YEAR)
            generation = facts.active_generation(conn)
            then = compute_indicators(conn, generation, year, year.end, as_recorded=noted)
    finally:
        engine.dispose()
    assert then == before == direct_computation(nats_server.url, as_recorded=noted)
    status = httpx.get(f"{reporting.url}/v1/projections/status", timeout=10).json()
    freshness = httpx.get(f"{reporting.url}/v1/indicators/{YEAR}", timeout=10).json()["freshness"]
    assert status["streams"]["COOP_PARTNERSHIPS"]["last_applied"] == len(partnerships_history())
    assert freshness["partnerships"]["last_sequence"] == len(partnerships_history())
