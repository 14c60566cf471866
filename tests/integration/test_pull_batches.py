"""Batches of a durable pull consumer (shared.pull) on a real nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import nats
import nats.errors
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from shared.pull import PullBatches, stream_sequence
from tests.support import NatsServer

STREAM, SUBJECT, DURABLE = "PULLTEST", "pulltest.event", "pulltest-reader"


@dataclass
class Stream:
    nc: Client
    js: JetStreamContext

    async def publish(self, count: int) -> None:
        for number in range(count):
            await self.js.publish(SUBJECT, str(number).encode())

    async def reader(self, max_ack_pending: int = 10_000) -> PullBatches:
        config = ConsumerConfig(
            durable_name=DURABLE, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=max_ack_pending
        )
        await self.js.add_consumer(STREAM, config)
        batches = PullBatches(self.nc, STREAM, DURABLE)
        await batches.start()
        return batches


@pytest.fixture
async def stream(nats_server: NatsServer) -> AsyncIterator[Stream]:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=[SUBJECT]))
    try:
        yield Stream(nc, js)
    finally:
        await nc.close()


def sequences(messages: list[Msg]) -> list[int]:
    return [m.metadata.sequence.stream for m in messages]


async def test_a_backlog_comes_in_full_batches_in_stream_order(stream: Stream) -> None:
    await stream.publish(2_500)
    batches = await stream.reader()
    fetched = [await batches.fetch(1_000, timeout=2) for _ in range(3)]
    assert [len(batch) for batch in fetched] == [1_000, 1_000, 500]
    assert [s for batch in fetched for s in sequences(batch)] == list(range(1, 2_501))
    assert {m.subject for batch in fetched for m in batch} == {SUBJECT}
    assert [stream_sequence(m) for m in fetched[2]] == sequences(fetched[2])


async def test_a_fetch_with_nothing_to_read_times_out(stream: Stream) -> None:
    batches = await stream.reader()
    with pytest.raises(nats.errors.TimeoutError):
        await batches.fetch(100, timeout=0.3)


async def test_a_waiting_fetch_returns_as_soon_as_a_message_is_published(stream: Stream) -> None:
    batches = await stream.reader()

    async def publish_later() -> None:
        await asyncio.sleep(0.3)
        await stream.publish(5)

    publishing = asyncio.create_task(publish_later())
    loop = asyncio.get_running_loop()
    started = loop.time()
    first = await batches.fetch(1_000, timeout=5)
    waited = loop.time() - started
    await publishing
    assert sequences(first)[0] == 1
    assert waited < 4  # answered by the publication, not by the end of the wait
    # The rest of the burst, delivered to the request still waiting, comes next, in order.
    rest: list[int] = []
    while len(sequences(first)) + len(rest) < 5:
        rest += sequences(await batches.fetch(1_000, timeout=2))
    assert sequences(first) + rest == [1, 2, 3, 4, 5]


async def test_unacknowledged_messages_beyond_max_ack_pending_wait_for_acks(
    stream: Stream,
) -> None:
    await stream.publish(30)
    batches = await stream.reader(max_ack_pending=10)
    first = await batches.fetch(25, timeout=2)
    assert sequences(first) == list(range(1, 11))
    with pytest.raises(nats.errors.TimeoutError):
        await batches.fetch(25, timeout=0.5)
    for message in first:
        await message.ack()
    second = await batches.fetch(25, timeout=2)
    assert sequences(second)[0] == 11
