"""Poison messages on the streams: parked, counted, and the rest keeps flowing."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import nats
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from tests.faults.harness import (
    Platform,
    assert_figures_match,
    assert_streams_exact,
    parked,
    settle,
    wait_until,
)
from tests.faults.workload import Loader, plan_load
from tests.support import NatsServer


def envelope(event_type: str, data: dict[str, Any], **fields: Any) -> bytes:
    """A message body shaped like the services' own, with these fields."""
    event_id = str(uuid.uuid4())
    body = {
        "event_id": event_id,
        "event_type": event_type,
        "schema_version": 1,
        "aggregate_id": str(uuid.uuid4()),
        "aggregate_version": 1,
        "occurred_at": "2024-01-05T10:00:00Z",
        "correlation_id": event_id,
        "causation_id": None,
        "data": data,
        **fields,
    }
    return json.dumps(body).encode()


def poison_messages(cooperative_id: str) -> list[tuple[str, bytes]]:
    """One undecodable message, and messages that would change a figure if they were applied."""
    return [
        ("coop.membership.CoopJoined", b"\x00{not json"),
        (
            "coop.membership.CoopLeft",  # a member's departure on a date that does not exist
            envelope(
                "CoopLeft",
                {"cooperative_id": cooperative_id, "left_on": "2024-13-45"},
                aggregate_id=cooperative_id,
                aggregate_version=1000,
            ),
        ),
        (
            "coop.events.PublicAttendanceRecorded",
            envelope(
                "PublicAttendanceRecorded",
                {"activity_id": str(uuid.uuid4()), "count": "a thousand", "region": "01"},
            ),
        ),
        (
            "coop.ambassadors.AmbassadorActionLogged",
            envelope("AmbassadorActionLogged", {"kind": "autre"}, aggregate_version="first"),
        ),
    ]


PARKED_BY_STREAM = {
    "COOP_MEMBERSHIP": 2,
    "COOP_EVENTS": 1,
    "COOP_AMBASSADORS": 1,
    "COOP_PARTNERSHIPS": 0,
}


async def publish_poison(nats_url: str, cooperative_id: str) -> None:
    """Publish every poison message, as a foreign publisher would."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for subject, body in poison_messages(cooperative_id):
            await js.publish(subject, body, headers={"Nats-Msg-Id": str(uuid.uuid4())})
    finally:
        await nc.close()


def parked_metrics(url: str) -> dict[str, float]:
    """`coop_consumer_parked_messages` of a service, by consumer."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        sample.labels["consumer"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "coop_consumer_parked_messages"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def test_poison_messages_are_parked_and_counted_while_every_other_event_is_counted_once(
    platform: Platform, nats_server: NatsServer, seed: int
) -> None:
    steps = plan_load(seed)
    loader = Loader(platform.urls, steps).start()
    loader.wait_until_accepted(len(steps) // 3)
    member = next(i for name, i in loader.ids.items() if name.startswith("coop-"))
    asyncio.run(publish_poison(nats_server.url, member))  # in the middle of the load
    loader.join(timeout=120)
    loader.assert_all_accepted()

    settle(platform, nats_server.url, loader.ledger)
    assert parked(platform) == PARKED_BY_STREAM
    assert_figures_match(platform, loader.ledger)
    assert_streams_exact(nats_server.url, loader.ledger)

    def assert_counted_in_metrics() -> None:
        reporting = parked_metrics(platform.reporting.url)
        assert sum(reporting.values()) == sum(PARKED_BY_STREAM.values()), reporting
        assert reporting[next(c for c in reporting if "membership" in c)] == 2
        # The events and ambassadors services park the membership poison in their own views.
        assert parked_metrics(platform.urls["events"]) == {"events-membership": 2}
        assert parked_metrics(platform.urls["ambassadors"]) == {"ambassadors-membership": 2}

    assert_counted_in_metrics()
    for name in ("reporting", "events", "ambassadors"):
        platform.crash(name)  # a restart still counts what is parked
    wait_until(lambda: parked(platform) == PARKED_BY_STREAM, 30, "parked after a restart")
    wait_until(lambda: not failed(assert_counted_in_metrics), 30, "parked in /metrics")
    assert_figures_match(platform, loader.ledger)


def failed(check: Any) -> bool:
    """True when the check raises AssertionError."""
    try:
        check()
    except AssertionError:
        return True
    return False
