"""A lost or restored NATS store (issue "Hardening", item 6): the relays publish again from where
each stream ends, the consumers read the streams again, and nothing is lost or counted twice."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.nats_server import NatsServer
from tests.support import AUTH, ServiceProcess, stream_messages, wait_for

pytestmark = pytest.mark.e2e

SERVICES = ("membership", "events", "reporting")


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[NatsServer, dict[str, ServiceProcess]]]:
    nats = NatsServer(tmp_path / "nats").start()
    services = {name: ServiceProcess(name, tmp_path / name, nats.url) for name in SERVICES}
    try:
        for service in services.values():
            service.start()
        yield nats, services
    finally:
        for service in services.values():
            service.stop()
        nats.stop()


def join(membership: ServiceProcess, index: int) -> str:
    answer = httpx.post(
        f"{membership.url}/v1/cooperatives",
        headers=AUTH,
        json={"name": f"Coop restaurée {index}", "region": "06", "sector": "design",
              "worker_members": 2, "joined_on": "2023-09-05"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def figures(reporting: ServiceProcess) -> dict[str, Any]:
    answer = httpx.get(f"{reporting.url}/v1/indicators/2023-2024", timeout=5).json()
    indicators: dict[str, Any] = answer["indicators"]
    return indicators


def test_a_lost_nats_store_is_filled_again_and_nothing_counts_twice(
    platform: tuple[NatsServer, dict[str, ServiceProcess]],
) -> None:
    nats, services = platform
    first = [join(services["membership"], n) for n in range(3)]
    wait_for(lambda: figures(services["reporting"])["members.total"] == 3, timeout=30)

    nats.stop()
    shutil.rmtree(nats.store_dir / "jetstream", ignore_errors=True)
    for leftover in nats.store_dir.glob("*"):
        if leftover.is_dir():
            shutil.rmtree(leftover)
    nats.start()

    def republished() -> bool:
        try:
            messages = asyncio.run(stream_messages(nats.url, "COOP_MEMBERSHIP"))
        except Exception:  # the stream is not there again yet
            return False
        joined = {m["body"]["aggregate_id"] for m in messages if m["subject"].endswith("Joined")}
        return set(first) <= joined

    wait_for(republished, timeout=60, interval=0.5)
    later = [join(services["membership"], n) for n in range(3, 5)]
    wait_for(lambda: figures(services["reporting"])["members.total"] == 5, timeout=60)

    messages = asyncio.run(stream_messages(nats.url, "COOP_MEMBERSHIP"))
    ids = [m["body"]["event_id"] for m in messages]
    assert len(ids) == len(set(ids)), "an event is twice on the stream"
    assert {m["body"]["aggregate_id"] for m in messages} >= set(first + later)
    counted = figures(services["reporting"])
    assert counted["members.joined"] == 5

    # the events service's view of membership follows the new stream too
    events = services["events"]
    activity = httpx.post(
        f"{events.url}/v1/activities",
        headers=AUTH,
        json={"type": "formation", "title": "Après la perte", "date": "2023-10-01",
              "format": "remote"},
    ).json()  # fmt: skip
    wait_for(
        lambda: (
            httpx.post(
                f"{events.url}/v1/activities/{activity['id']}/attendances",
                headers=AUTH,
                json={"cooperative_id": later[-1]},
            ).status_code
            == 201
        ),
        timeout=30,
    )
