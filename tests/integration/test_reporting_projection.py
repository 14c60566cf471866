"""The reporting projection against the three real publishing services on a real nats-server.

The reference for every figure is a direct computation: the streams' messages read back from
JetStream and projected once, in order, into a fresh fact model.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
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
STREAMS = ("COOP_MEMBERSHIP", "COOP_EVENTS", "COOP_AMBASSADORS")
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


def direct_computation(nats_url: str) -> dict[str, Any]:
    """Every stream's messages projected once, in order, into a fresh in-memory model."""
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

    figures = indicators(reporting)
    assert figures == direct_computation(nats_server.url)
    assert figures["members.total"] == 125
    assert figures["ambassadors.mobilized"] == 29
    status = httpx.get(f"{reporting.url}/v1/projections/status", timeout=10).json()
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
