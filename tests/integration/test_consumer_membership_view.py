"""The consumer base on a real nats-server, feeding the shared membership view."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from nats.js import JetStreamContext

from shared import membership_view
from shared.consumer import StreamConsumer
from shared.contracts.membership import MEMBERSHIP
from shared.integration import event_id_for
from shared.membership_view import MembershipView
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.persistence import Database, parked_table, save_position, tracking_table
from tests.support import NatsServer

DURABLE = "test-membership-view"


@dataclass
class World:
    """A stream with a publisher, and a consumer's database with the membership view."""

    messaging: Messaging
    js: JetStreamContext
    database: Database
    view: MembershipView
    metrics: ServiceMetrics

    def consumer(self) -> StreamConsumer:
        return StreamConsumer(
            self.database, self.messaging, MEMBERSHIP, self.view, self.metrics, durable=DURABLE
        )

    async def publish(self, body: dict[str, Any] | bytes, subject: str | None = None) -> int:
        """Publish one message as the relay would; its stream sequence.

        The `Nats-Msg-Id` is the event id, unless `_msg_id` gives another one (an event
        republished after the duplicate window has passed).
        """
        if isinstance(body, bytes):
            ack = await self.js.publish(subject or "coop.membership.CoopJoined", body)
        else:
            envelope = {k: v for k, v in body.items() if k != "_msg_id"}
            ack = await self.js.publish(
                subject or MEMBERSHIP.subject(body["event_type"]),
                json.dumps(envelope).encode(),
                headers={"Nats-Msg-Id": str(body.get("_msg_id") or body["event_id"])},
            )
        return int(ack.seq)

    def metric(self, name: str) -> float:
        return self.metrics.registry.get_sample_value(name, {"consumer": DURABLE}) or 0.0

    def parked(self) -> list[tuple[int, str]]:
        with self.database.reading() as conn:
            rows = conn.execute(
                sa.select(parked_table.c.stream_sequence, parked_table.c.subject).order_by(
                    parked_table.c.stream_sequence
                )
            ).all()
        return [(int(r[0]), str(r[1])) for r in rows]


@pytest.fixture
async def world(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[World]:
    messaging = Messaging(nats_server.url, name="test-consumer")
    await messaging.connect()
    await messaging.ensure_stream(MEMBERSHIP)
    database = Database(f"sqlite:///{tmp_path / 'view.sqlite3'}", app_name="test")
    database.create_tables(membership_view.metadata)
    try:
        yield World(
            messaging,
            await messaging.jetstream(),
            database,
            MembershipView(database),
            ServiceMetrics("test"),
        )
    finally:
        await messaging.close()
        database.dispose()


def envelope(cooperative_id: str, version: int, event_type: str, **data: Any) -> dict[str, Any]:
    return {
        "event_id": event_id_for(cooperative_id, version),
        "event_type": event_type,
        "schema_version": 1,
        "aggregate_id": cooperative_id,
        "aggregate_version": version,
        "occurred_at": "2024-01-05T10:00:00Z",
        "correlation_id": str(uuid4()),
        "causation_id": None,
        "data": {"cooperative_id": cooperative_id, **data},
    }


def history(cooperative_id: str) -> list[dict[str, Any]]:
    profile = {"name": "Coop", "region": "06", "sector": "microbrasserie", "worker_members": 5}
    return [
        envelope(cooperative_id, 1, "CoopJoined", joined_on="2020-01-01", neq=None, **profile),
        envelope(cooperative_id, 2, "CoopProfileUpdated", changes={"worker_members": 7}),
        envelope(cooperative_id, 3, "CoopLeft", left_on="2021-01-01", reason=None),
        envelope(cooperative_id, 4, "CoopRejoined", rejoined_on="2022-01-01"),
    ]


PERIODS = [(date(2020, 1, 1), date(2021, 1, 1)), (date(2022, 1, 1), None)]


@contextlib.asynccontextmanager
async def consuming(consumer: StreamConsumer) -> AsyncIterator[StreamConsumer]:
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        consumer.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def applied_up_to(consumer: StreamConsumer, sequence: int, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await asyncio.to_thread(consumer.last_applied) < sequence:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"consumer did not reach sequence {sequence}")
        await asyncio.sleep(0.05)


async def test_redelivered_messages_apply_nothing_twice(world: World) -> None:
    coops = [str(uuid4()), str(uuid4())]
    for body in [*history(coops[0]), *history(coops[1])]:
        last = await world.publish(body)

    async with consuming(world.consumer()) as first:
        await applied_up_to(first, last)
    assert [world.view.periods(c) for c in coops] == [PERIODS, PERIODS]
    assert world.metric("coop_consumer_applied_messages_total") == 8

    # Restarted on the same durable: resumes after what it applied.
    async with consuming(world.consumer()) as restarted:
        await asyncio.wait_for(restarted.caught_up.wait(), 10)
    assert world.metric("coop_consumer_applied_messages_total") == 8

    # Its tracking lost: JetStream delivers the whole stream again.
    with world.database.writing() as conn:
        save_position(conn, f"{MEMBERSHIP.stream}:{DURABLE}", 0)
    async with consuming(world.consumer()) as replaying:
        await applied_up_to(replaying, last)
    assert world.metric("coop_consumer_applied_messages_total") == 16

    # The same events republished at new sequences (after the duplicate window).
    for body in history(coops[0])[2:]:
        last = await world.publish({**body, "_msg_id": str(uuid4())})
    async with consuming(world.consumer()) as again:
        await applied_up_to(again, last)

    assert [world.view.periods(c) for c in coops] == [PERIODS, PERIODS]
    assert world.parked() == []


async def test_new_events_still_apply_after_a_redelivery(world: World) -> None:
    cooperative_id = str(uuid4())
    events = history(cooperative_id)
    for body in events[:3]:
        await world.publish(body)
    for body in events[:3]:
        await world.publish({**body, "_msg_id": str(uuid4())})
    last = await world.publish(events[3])

    async with consuming(world.consumer()) as consumer:
        await applied_up_to(consumer, last)

    assert world.view.periods(cooperative_id) == PERIODS
    assert world.view.is_member_on(cooperative_id, date(2022, 6, 1))


async def test_a_poison_message_is_parked_counted_and_later_messages_still_apply(
    world: World,
) -> None:
    cooperative_id = str(uuid4())
    joined, _, left, rejoined = history(cooperative_id)
    await world.publish(joined)
    garbage = await world.publish(b"{not json at all", "coop.membership.CoopLeft")
    incomplete = envelope(cooperative_id, 3, "CoopLeft", reason=None)  # no left_on
    invalid = await world.publish({**incomplete, "_msg_id": str(uuid4())})
    await world.publish(left)
    last = await world.publish(rejoined)

    consumer = world.consumer()
    async with consuming(consumer):
        await applied_up_to(consumer, last)
        status = await consumer.status()

    assert world.view.periods(cooperative_id) == PERIODS
    assert world.parked() == [
        (garbage, "coop.membership.CoopLeft"),
        (invalid, "coop.membership.CoopLeft"),
    ]
    assert world.metric("coop_consumer_parked_messages_total") == 2
    assert (status.parked, status.last_applied, status.lag) == (2, last, 0)


async def test_a_consumer_starts_from_its_tracking_row(world: World) -> None:
    cooperative_id, other = str(uuid4()), str(uuid4())
    for body in history(cooperative_id):
        await world.publish(body)
    first_of_other = await world.publish(history(other)[0])
    with world.database.writing() as conn:
        save_position(conn, f"{MEMBERSHIP.stream}:{DURABLE}", first_of_other - 1)

    consumer = world.consumer()
    async with consuming(consumer):
        await applied_up_to(consumer, first_of_other)

    assert world.view.periods(cooperative_id) == []
    assert world.view.periods(other) == [(date(2020, 1, 1), None)]
    with world.database.reading() as conn:
        rows = conn.execute(sa.select(tracking_table)).all()
    assert [(r.name, r.position) for r in rows] == [
        (f"{MEMBERSHIP.stream}:{DURABLE}", first_of_other)
    ]


async def test_a_poison_message_in_a_large_batch_is_found_by_halving_not_one_by_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    cooperatives = [str(uuid4()) for _ in range(400)]
    for cooperative_id in cooperatives[:200]:
        await world.publish(history(cooperative_id)[0])
    poison = await world.publish(
        {**envelope(cooperatives[0], 7, "CoopLeft", reason=None), "_msg_id": str(uuid4())}
    )  # no left_on: it cannot be applied
    for cooperative_id in cooperatives[200:]:
        last = await world.publish(history(cooperative_id)[0])

    alone: list[int] = []
    consumer = world.consumer()
    applied_alone = consumer._apply_with_retries

    def counted(conn: Any, envelope: Any, message: Any) -> str | None:
        alone.append(envelope.aggregate_version)
        return applied_alone(conn, envelope, message)

    monkeypatch.setattr(consumer, "_apply_with_retries", counted)
    async with consuming(consumer):
        await applied_up_to(consumer, last)

    assert world.parked() == [(poison, "coop.membership.CoopLeft")]
    assert all(world.view.is_member_on(c, date(2024, 1, 10)) for c in cooperatives[1:])
    # Only the poison message was ever applied on its own (one by one: all 401 would be).
    assert alone == [7]
