"""Durable consumers on a real nats-server outlive their process: a restart keeps them (same
`created`, same delivered position), a changed configuration is updated in place, and they are
moved back to the tracking row's position only when they stand elsewhere. Their NATS names
carry `COOP_NATS_CONSUMER_PREFIX`; their tracking rows do not."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy

from shared import membership_view
from shared.consumer import INACTIVE_THRESHOLD, StreamConsumer
from shared.contracts.membership import MEMBERSHIP
from shared.integration import event_id_for
from shared.membership_view import MembershipView
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.persistence import Database, load_position, save_position
from tests.support import TOKEN, NatsServer, ServiceProcess, wait_for

DURABLE = "test-durable"
TRACKING = f"{MEMBERSHIP.stream}:{DURABLE}"


class World:
    """A membership stream, a publisher, and the database of a membership view's consumer."""

    def __init__(self, nats_url: str, database: Database) -> None:
        self.nats_url = nats_url
        self.database = database
        self.view = MembershipView(database)
        self.metrics = ServiceMetrics("test")
        self.connections: list[Messaging] = []
        self.js: JetStreamContext | None = None

    async def messaging(self, prefix: str = "") -> Messaging:
        messaging = Messaging(self.nats_url, name="test-durable", consumer_prefix=prefix)
        await messaging.connect()
        self.connections.append(messaging)
        return messaging

    async def consumer(self, prefix: str = "", **options: Any) -> StreamConsumer:
        return StreamConsumer(
            self.database,
            await self.messaging(prefix),
            MEMBERSHIP,
            self.view,
            self.metrics,
            durable=DURABLE,
            **options,
        )

    async def publish_joins(self, count: int) -> int:
        """Publish `count` cooperatives joining; the last stream sequence."""
        assert self.js is not None
        sequence = 0
        for _ in range(count):
            cooperative_id = str(uuid4())
            body = {
                "event_id": event_id_for(cooperative_id, 1),
                "event_type": "CoopJoined",
                "schema_version": 1,
                "aggregate_id": cooperative_id,
                "aggregate_version": 1,
                "occurred_at": "2024-01-05T10:00:00Z",
                "correlation_id": str(uuid4()),
                "causation_id": None,
                "data": {
                    "cooperative_id": cooperative_id,
                    "name": "Coop",
                    "region": "06",
                    "sector": "design",
                    "worker_members": 3,
                    "joined_on": "2020-01-01",
                    "neq": None,
                },
            }
            ack = await self.js.publish(
                MEMBERSHIP.subject("CoopJoined"),
                json.dumps(body).encode(),
                headers={"Nats-Msg-Id": body["event_id"]},
            )
            sequence = int(ack.seq)
        return sequence

    async def info(self, name: str = DURABLE) -> ConsumerInfo:
        assert self.js is not None
        return await self.js.consumer_info(MEMBERSHIP.stream, name)

    async def names(self) -> set[str]:
        assert self.js is not None
        return {c.name for c in await self.js.consumers_info(MEMBERSHIP.stream)}

    def applied(self) -> float:
        sample = self.metrics.registry.get_sample_value(
            "coop_consumer_applied_messages_total", {"consumer": DURABLE}
        )
        return sample or 0.0

    def position(self) -> int:
        with self.database.reading() as conn:
            return load_position(conn, TRACKING)


@pytest.fixture
async def world(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[World]:
    database = Database(f"sqlite:///{tmp_path / 'view.sqlite3'}", app_name="test")
    database.create_tables(membership_view.metadata)
    world = World(nats_server.url, database)
    publisher = await world.messaging()
    await publisher.ensure_stream(MEMBERSHIP)
    world.js = await publisher.jetstream()
    try:
        yield world
    finally:
        for messaging in world.connections:
            await messaging.close()
        database.dispose()


async def run_until_applied(consumer: StreamConsumer, sequence: int, timeout: float = 10) -> None:
    """Run the consumer until it has applied `sequence` and caught up, then stop it."""
    task = asyncio.create_task(consumer.run())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await asyncio.to_thread(consumer.last_applied) < sequence or not (
            consumer.caught_up.is_set()
        ):
            assert loop.time() < deadline, f"consumer did not reach {sequence}"
            await asyncio.sleep(0.05)
    finally:
        consumer.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_restart_keeps_the_consumer_its_creation_and_its_delivered_position(
    world: World,
) -> None:
    last = await world.publish_joins(5)
    await run_until_applied(await world.consumer(), last)
    before = await world.info()
    assert before.delivered.stream_seq == last
    assert before.config.inactive_threshold == INACTIVE_THRESHOLD.total_seconds()
    assert before.config.ack_policy == AckPolicy.EXPLICIT

    await run_until_applied(await world.consumer(), last)
    kept = await world.info()
    assert kept.created == before.created
    assert kept.delivered.stream_seq == last
    assert world.applied() == 5  # nothing delivered again

    later = await world.publish_joins(2)
    await run_until_applied(await world.consumer(), later)
    assert (await world.info()).created == before.created
    assert world.applied() == 7
    assert world.position() == later


async def test_a_changed_configuration_is_updated_in_place(world: World) -> None:
    last = await world.publish_joins(3)
    await run_until_applied(await world.consumer(batch_size=500), last)
    before = await world.info()
    assert before.config.max_ack_pending == 2000

    changed = await world.consumer(batch_size=50, inactive_threshold=timedelta(hours=1))
    later = await world.publish_joins(2)
    await run_until_applied(changed, later)

    after = await world.info()
    assert after.created == before.created
    assert after.config.max_ack_pending == 200
    assert after.config.inactive_threshold == 3600
    assert after.config.opt_start_seq == before.config.opt_start_seq
    assert world.applied() == 5


async def test_a_configuration_nats_cannot_update_makes_a_new_consumer_at_the_tracking_row(
    world: World,
) -> None:
    last = await world.publish_joins(4)
    assert world.js is not None
    old = await world.js.add_consumer(
        MEMBERSHIP.stream,
        ConsumerConfig(
            durable_name=DURABLE,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.ALL,  # not updatable to explicit
            filter_subject=MEMBERSHIP.subjects[0],
        ),
    )
    with world.database.writing() as conn:
        save_position(conn, TRACKING, 2)

    await run_until_applied(await world.consumer(), last)

    new = await world.info()
    assert new.created != old.created
    assert new.config.ack_policy == AckPolicy.EXPLICIT
    assert new.config.opt_start_seq == 3
    assert world.applied() == 2  # sequences 3 and 4, from the tracking row


async def test_a_consumer_past_its_tracking_row_is_moved_back_there_in_place(
    world: World,
) -> None:
    """A database restored from an older backup: the consumer delivered (and had acknowledged)
    more than the tracking row holds; it delivers again what follows the row."""
    last = await world.publish_joins(6)
    await run_until_applied(await world.consumer(), last)
    before = await world.info()
    with world.database.writing() as conn:
        save_position(conn, TRACKING, 2)

    await run_until_applied(await world.consumer(), last)

    after = await world.info()
    assert after.created == before.created  # reset, not deleted
    assert after.delivered.stream_seq == last
    assert world.applied() == 6 + 4
    assert world.position() == last


async def test_a_consumer_deleted_meanwhile_is_created_again_from_the_tracking_row(
    world: World,
) -> None:
    last = await world.publish_joins(3)
    await run_until_applied(await world.consumer(), last)
    assert world.js is not None
    await world.js.delete_consumer(MEMBERSHIP.stream, DURABLE)
    later = await world.publish_joins(2)

    await run_until_applied(await world.consumer(), later)

    again = await world.info()
    assert again.config.opt_start_seq == last + 1
    assert world.applied() == 5


async def test_consumer_names_on_nats_carry_the_prefix_and_tracking_rows_do_not(
    world: World,
) -> None:
    last = await world.publish_joins(3)
    consumer = await world.consumer(prefix="blue-")
    assert consumer.name == f"blue-{DURABLE}"
    await run_until_applied(consumer, last)

    assert await world.names() == {f"blue-{DURABLE}"}
    assert world.position() == last

    # A new prefix keeps the position: the consumer of that name starts after the row.
    later = await world.publish_joins(1)
    await run_until_applied(await world.consumer(prefix="green-"), later)
    assert await world.names() == {f"blue-{DURABLE}", f"green-{DURABLE}"}
    assert (await world.info(f"green-{DURABLE}")).config.opt_start_seq == last + 1
    assert world.applied() == 4


def test_reporting_keeps_its_consumers_across_restarts_and_a_rebuild_replaces_them(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    """The reporting service as a process, under a prefix: its generation's consumers survive a
    restart; a rebuild leaves only the new generation's, which start from the first message."""

    async def publish(count: int) -> int:
        world = World(nats_server.url, Database("sqlite://", app_name="unused"))
        messaging = await world.messaging()
        try:
            await messaging.ensure_stream(MEMBERSHIP)
            world.js = await messaging.jetstream()
            return await world.publish_joins(count)
        finally:
            await messaging.close()

    async def consumers() -> dict[str, ConsumerInfo]:
        messaging = Messaging(nats_server.url, name="test-durable")
        await messaging.connect()
        try:
            js = await messaging.jetstream()
            return {c.name: c for c in await js.consumers_info(MEMBERSHIP.stream)}
        finally:
            await messaging.close()

    def applied(reporting: ServiceProcess) -> int:
        status = httpx.get(f"{reporting.url}/v1/projections/status", timeout=5).json()
        return int(status["streams"][MEMBERSHIP.stream]["last_applied"])

    last = asyncio.run(publish(3))
    reporting = ServiceProcess(
        "reporting", tmp_path / "reporting", nats_server.url, COOP_NATS_CONSUMER_PREFIX="blue-"
    )
    reporting.start()
    try:
        wait_for(lambda: applied(reporting) == last, timeout=30)
        first = asyncio.run(consumers())
        assert set(first) == {"blue-reporting-membership-g1"}

        reporting.stop()
        reporting.start()
        later = asyncio.run(publish(1))
        wait_for(lambda: applied(reporting) == later, timeout=30)
        kept = asyncio.run(consumers())["blue-reporting-membership-g1"]
        assert kept.created == first["blue-reporting-membership-g1"].created

        admin = {"Authorization": f"Bearer {TOKEN}"}
        answer = httpx.post(f"{reporting.url}/v1/projections/rebuild", headers=admin)
        assert answer.status_code == 202
        wait_for(
            lambda: not httpx.get(f"{reporting.url}/v1/projections/status").json()["rebuilding"],
            timeout=30,
        )
        rebuilt = asyncio.run(consumers())
        assert set(rebuilt) == {"blue-reporting-membership-g2"}
        assert rebuilt["blue-reporting-membership-g2"].config.opt_start_seq == 1
        assert applied(reporting) == later
    finally:
        reporting.stop()


async def test_without_an_in_place_reset_a_consumer_past_its_row_is_recreated_there(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A nats-server before 2.14 has no CONSUMER.RESET: the consumer is created again."""

    async def no_reset(*_: Any) -> bool:
        return False

    last = await world.publish_joins(5)
    await run_until_applied(await world.consumer(), last)
    before = await world.info()
    with world.database.writing() as conn:
        save_position(conn, TRACKING, 3)
    monkeypatch.setattr(StreamConsumer, "_reset", no_reset)

    await run_until_applied(await world.consumer(), last)

    after = await world.info()
    assert after.created != before.created
    assert after.config.opt_start_seq == 4
    assert world.applied() == 5 + 2
