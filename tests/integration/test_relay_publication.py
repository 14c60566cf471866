"""The outbox relay on a real nats-server: each committed event on the stream, once, in order."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import nats
import pytest
from nats.js.errors import BadRequestError

from services.membership import views
from services.membership.application import Membership
from services.membership.contracts import MEMBERSHIP, to_integration
from shared import membership_view
from shared.batch_publish import BatchRefused
from shared.consumer import StreamConsumer
from shared.integration import event_id_for
from shared.membership_view import MembershipView
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.outbox import NOTIFICATION_HEADER, OutboxRelay
from shared.persistence import CommandContext, Database, load_position
from tests.support import NatsServer, stream_messages

ENVELOPE_KEYS = {
    "event_id",
    "event_type",
    "schema_version",
    "aggregate_id",
    "aggregate_version",
    "occurred_at",
    "correlation_id",
    "causation_id",
    "data",
}
DATA_KEYS = {
    "CoopJoined": {
        "cooperative_id",
        "name",
        "region",
        "sector",
        "worker_members",
        "joined_on",
        "neq",
    },
    "CoopProfileUpdated": {"cooperative_id", "changes"},
    "CoopLeft": {"cooperative_id", "left_on", "reason"},
    "CoopRejoined": {"cooperative_id", "rejoined_on"},
}
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@dataclass
class World:
    """The membership application, its relay's NATS connection and metrics."""

    app: Membership
    messaging: Messaging
    metrics: ServiceMetrics
    nats_url: str

    def relay(self, *, batch_size: int = 1000) -> OutboxRelay:
        relay = OutboxRelay(
            self.app,
            self.messaging,
            MEMBERSHIP,
            to_integration,
            self.metrics,
            batch_size=batch_size,
        )
        self.app.on_saved(relay.poke)
        return relay

    def expected_event_ids(self) -> list[str]:
        """The event ids of the notification log, in commit order."""
        notifications = self.app.recorder.select_notifications(1, 100_000)
        return [event_id_for(n.originator_id, n.originator_version) for n in notifications]

    async def on_stream(self) -> list[dict[str, Any]]:
        """The messages on COOP_MEMBERSHIP (none while the stream is empty)."""
        try:
            return await stream_messages(self.nats_url, MEMBERSHIP.stream)
        except BadRequestError:  # an empty stream: there is no message 0 to read
            return []

    async def wait_for_stream(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            messages = await self.on_stream()
            if len(messages) >= count:
                return messages
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(messages)} of {count} messages after {timeout} s")
            await asyncio.sleep(0.05)


@pytest.fixture
async def world(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[World]:
    database = Database(f"sqlite:///{tmp_path / 'membership.sqlite3'}", app_name="membership")
    database.create_tables(views.metadata)
    app = Membership(database)
    directory = views.CooperativeDirectory(app)
    app.directory = directory
    app.on_saved(directory.catch_up)
    messaging = Messaging(nats_server.url, name="test-relay")
    await messaging.connect()
    await messaging.ensure_stream(MEMBERSHIP)
    try:
        yield World(app, messaging, ServiceMetrics("membership"), nats_server.url)
    finally:
        await messaging.close()
        app.close()
        database.dispose()


@contextlib.asynccontextmanager
async def running(
    work: Callable[[], Coroutine[Any, Any, None]], stop: Callable[[], None]
) -> AsyncIterator[None]:
    task = asyncio.create_task(work())
    try:
        yield
    finally:
        stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def context() -> CommandContext:
    return CommandContext(correlation_id=str(uuid4()), causation_id=str(uuid4()))


def life_of_a_cooperative(app: Membership, contexts: dict[tuple[str, int], CommandContext]) -> None:
    """Join, change, leave and come back, each command with its own context."""
    cooperative_id = uuid4()
    steps: list[Callable[[CommandContext], Any]] = [
        lambda c: app.join(
            cooperative_id,
            name="Coop",
            region="06",
            sector="microbrasserie",
            worker_members=5,
            joined_on=date(2023, 5, 14),
            neq=None,
            context=c,
        ),
        lambda c: app.update_profile(
            cooperative_id, {"name": "Coop renommée", "region": "06"}, context=c
        ),
        lambda c: app.leave(cooperative_id, left_on=date(2024, 1, 31), reason="fusion", context=c),
        lambda c: app.rejoin(cooperative_id, rejoined_on=date(2024, 3, 1), context=c),
    ]
    for version, step in enumerate(steps, start=1):
        contexts[(str(cooperative_id), version)] = command = context()
        step(command)


def commands_from_threads(
    app: Membership, cooperatives: int, threads: int
) -> dict[tuple[str, int], CommandContext]:
    contexts: dict[tuple[str, int], CommandContext] = {}

    def worker(count: int) -> None:
        for _ in range(count):
            life_of_a_cooperative(app, contexts)

    workers = [
        threading.Thread(target=worker, args=(cooperatives // threads,)) for _ in range(threads)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return contexts


async def test_every_committed_event_is_on_the_stream_once_in_commit_order(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay = world.relay(batch_size=7)
    recorded: list[tuple[int, int]] = []  # (position saved, messages on the stream then)
    save = relay._save_position

    def save_after_checking(position: int) -> None:
        headers = [m["headers"] for m in asyncio.run(world.on_stream())]
        recorded.append((position, max((int(h[NOTIFICATION_HEADER]) for h in headers), default=0)))
        save(position)

    monkeypatch.setattr(relay, "_save_position", save_after_checking)
    async with running(relay.run, relay.stop):
        contexts = await asyncio.to_thread(commands_from_threads, world.app, 12, 4)
        expected = world.expected_event_ids()
        messages = await world.wait_for_stream(len(expected))
        await asyncio.sleep(0.3)  # room for a duplicate to show up, if the relay made one
        messages = await world.on_stream()

    assert len(expected) == 48
    assert [m["body"]["event_id"] for m in messages] == expected
    positions = [position for position, _ in recorded]
    assert positions == sorted(set(positions)) and positions[-1] == 48
    assert all(position <= landed for position, landed in recorded)  # recorded after the ack
    assert world.metrics.registry.get_sample_value("coop_relay_published_events_total") == 48
    for message in messages:
        body = message["body"]
        assert set(body) == ENVELOPE_KEYS
        assert message["subject"] == f"coop.membership.{body['event_type']}"
        assert message["headers"]["Nats-Msg-Id"] == body["event_id"]
        assert body["schema_version"] == 1
        assert body["event_id"] == event_id_for(body["aggregate_id"], body["aggregate_version"])
        assert RFC3339_UTC.match(body["occurred_at"]), body["occurred_at"]
        command = contexts[(body["aggregate_id"], body["aggregate_version"])]
        assert body["correlation_id"] == command.correlation_id
        assert body["causation_id"] == command.causation_id
        assert set(body["data"]) == DATA_KEYS[body["event_type"]]
        assert body["data"]["cooperative_id"] == body["aggregate_id"]


async def test_envelopes_carry_the_data_of_the_contract(world: World) -> None:
    relay = world.relay()
    cooperative_id = uuid4()
    async with running(relay.run, relay.stop):
        app = world.app
        await asyncio.to_thread(
            lambda: (
                app.join(
                    cooperative_id,
                    name="Coop de travail Exemple",
                    region="06",
                    sector="microbrasserie",
                    worker_members=12,
                    joined_on=date(2023, 5, 14),
                    neq="1170000000",
                ),
                app.update_profile(
                    cooperative_id, {"worker_members": 14, "sector": "microbrasserie"}
                ),
                app.leave(cooperative_id, left_on=date(2024, 1, 31), reason=None),
                app.rejoin(cooperative_id, rejoined_on=date(2024, 2, 1)),
            )
        )
        messages = await world.wait_for_stream(4)

    bodies = [m["body"] for m in messages]
    coop = str(cooperative_id)
    assert [(b["event_type"], b["aggregate_version"]) for b in bodies] == [
        ("CoopJoined", 1),
        ("CoopProfileUpdated", 2),
        ("CoopLeft", 3),
        ("CoopRejoined", 4),
    ]
    assert [b["data"] for b in bodies] == [
        {
            "cooperative_id": coop,
            "name": "Coop de travail Exemple",
            "region": "06",
            "sector": "microbrasserie",
            "worker_members": 12,
            "joined_on": "2023-05-14",
            "neq": "1170000000",
        },
        {"cooperative_id": coop, "changes": {"worker_members": 14}},
        {"cooperative_id": coop, "left_on": "2024-01-31", "reason": None},
        {"cooperative_id": coop, "rejoined_on": "2024-02-01"},
    ]
    assert all(b["causation_id"] is None for b in bodies)
    assert all(UUID(b["correlation_id"]) for b in bodies)


async def test_the_stream_is_file_backed_without_age_limit_with_a_duplicate_window_and_atomic(
    world: World,
) -> None:
    nc = await nats.connect(world.nats_url)
    try:
        info = await nc.jetstream().stream_info(MEMBERSHIP.stream)
    finally:
        await nc.close()

    assert info.config.subjects == ["coop.membership.>"]
    assert str(info.config.storage).lower().endswith("file")
    assert not info.config.max_age
    assert (info.config.duplicate_window or 0) >= 120
    assert info.config.allow_atomic  # the relay publishes atomic batches


async def test_a_relay_killed_between_publish_and_position_record_duplicates_nothing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(2):
        await asyncio.to_thread(life_of_a_cooperative, world.app, {})

    killed = world.relay(batch_size=5)

    def die_before_recording(_position: int) -> None:
        raise RuntimeError("killed before recording the position")

    monkeypatch.setattr(killed, "_save_position", die_before_recording)
    with pytest.raises(RuntimeError):
        await killed.publish_once()
    assert len(await world.on_stream()) == 5
    with world.app.database.reading() as conn:
        assert load_position(conn, "relay:COOP_MEMBERSHIP") == 0

    # The worst case: a fresh relay that knows nothing republishes from the start. Its batch
    # repeats event ids within JetStream's duplicate window: refused whole, nothing doubled.
    blind = world.relay(batch_size=5)
    with pytest.raises(BatchRefused, match="duplicate message id"):
        await blind.publish_once()
    assert [m["body"]["event_id"] for m in await world.on_stream()] == (
        world.expected_event_ids()[:5]
    )

    # A fresh relay as a restarted service runs it: carries on after what is on the stream.
    await asyncio.to_thread(life_of_a_cooperative, world.app, {})
    restarted = world.relay(batch_size=5)
    async with running(restarted.run, restarted.stop):
        messages = await world.wait_for_stream(12)
        await asyncio.sleep(0.3)
        messages = await world.on_stream()

    assert [m["body"]["event_id"] for m in messages] == world.expected_event_ids()
    assert len({m["body"]["event_id"] for m in messages}) == 12

    # And a consumer downstream sees each cooperative's history exactly once.
    database = Database(f"sqlite:///{tmp_path / 'consumer.sqlite3'}", app_name="test")
    database.create_tables(membership_view.metadata)
    view = MembershipView(database)
    consumer = StreamConsumer(
        database, world.messaging, MEMBERSHIP, view, world.metrics, durable="relay-test"
    )
    async with running(consumer.run, consumer.stop):
        deadline = asyncio.get_running_loop().time() + 10
        while await asyncio.to_thread(consumer.last_applied) < 12:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
    applied = world.metrics.registry.get_sample_value(
        "coop_consumer_applied_messages_total", {"consumer": "relay-test"}
    )
    assert applied == 12
    for cooperative_id in {m["body"]["aggregate_id"] for m in messages}:
        assert view.periods(cooperative_id) == [
            (date(2023, 5, 14), date(2024, 1, 31)),
            (date(2024, 3, 1), None),
        ]
    database.dispose()


async def test_a_message_another_publisher_put_on_the_stream_is_followed_and_nothing_is_doubled(
    world: World,
) -> None:
    relay = world.relay(batch_size=3)
    async with running(relay.run, relay.stop):
        await asyncio.to_thread(life_of_a_cooperative, world.app, {})
        await world.wait_for_stream(4)
        js = (await world.messaging.client()).jetstream()
        await js.publish("coop.membership.Other", b"{}", headers={"Nats-Msg-Id": "other"})
        await asyncio.to_thread(life_of_a_cooperative, world.app, {})
        await world.wait_for_stream(9)
        await asyncio.sleep(0.3)  # room for a duplicate to show up, if the relay made one
        messages = await world.on_stream()

    expected = world.expected_event_ids()
    ids = [m["headers"]["Nats-Msg-Id"] for m in messages]
    assert ids == [*expected[:4], "other", *expected[4:]]


async def test_a_relay_publishes_nothing_where_the_stream_does_not_allow_atomic_batches(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ensure_stream = world.messaging.ensure_stream

    async def as_an_older_server_answers(contract: Any) -> Any:
        info = await ensure_stream(contract)
        info.config.allow_atomic = None  # a server before 2.12 does not know the setting
        return info

    monkeypatch.setattr(world.messaging, "ensure_stream", as_an_older_server_answers)
    await asyncio.to_thread(life_of_a_cooperative, world.app, {})
    relay = world.relay()
    async with running(relay.run, relay.stop):
        await asyncio.sleep(0.5)

    assert await world.on_stream() == []
    assert "does not allow atomic batch publishing" in caplog.text


def lose_once(nc: Any, monkeypatch: pytest.MonkeyPatch, lost: str) -> None:
    """The client loses, once, the message of this event on its way to the server."""
    publish = nc.publish

    async def losing(subject: str, payload: bytes = b"", reply: str = "", headers: Any = None):
        if (headers or {}).get("Nats-Msg-Id") == lost and not lost_already:
            lost_already.append(lost)
            return
        await publish(subject, payload, reply, headers)

    lost_already: list[str] = []
    monkeypatch.setattr(nc, "publish", losing)


@pytest.mark.parametrize(
    ("batch_size", "lost_at"),
    [(1000, 2), (3, 4)],  # in the only batch; in the second of three batches in flight
)
async def test_an_event_lost_in_a_batch_is_still_published_before_the_later_ones(
    world: World, monkeypatch: pytest.MonkeyPatch, batch_size: int, lost_at: int
) -> None:
    for _ in range(2):
        await asyncio.to_thread(life_of_a_cooperative, world.app, {})
    expected = world.expected_event_ids()
    lose_once(await world.messaging.client(), monkeypatch, expected[lost_at])
    relay = world.relay(batch_size=batch_size)
    async with running(relay.run, relay.stop):
        messages = await world.wait_for_stream(len(expected))
        await asyncio.sleep(0.3)
        messages = await world.on_stream()

    published = [m["body"]["event_id"] for m in messages]
    assert sorted(published) == sorted(expected)
    assert published == expected  # the later events could not land before it: commit order
