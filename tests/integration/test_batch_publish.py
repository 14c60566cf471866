"""Atomic batches (shared.batch_publish) on a real nats-server: a batch lands whole
or not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from shared.batch_publish import MAX_MESSAGES, BatchPublisher, BatchRefused
from tests.support import NatsServer

STREAM, SUBJECT = "ATOMICTEST", "atomictest.event"


@dataclass
class Stream:
    nc: Client
    js: JetStreamContext
    batches: BatchPublisher

    async def ids(self) -> list[str]:
        """The Nats-Msg-Id of every message on the stream, in stream order."""
        last = (await self.js.stream_info(STREAM)).state.last_seq
        messages = [await self.js.get_msg(STREAM, seq=seq) for seq in range(1, last + 1)]
        return [(message.headers or {}).get("Nats-Msg-Id", "") for message in messages]


def batch(*ids: str) -> list[tuple[str, bytes, dict[str, str]]]:
    return [(SUBJECT, f'{{"id":"{i}"}}'.encode(), {"Nats-Msg-Id": i}) for i in ids]


@pytest.fixture
async def stream(nats_server: NatsServer) -> AsyncIterator[Stream]:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await js.add_stream(
        StreamConfig(name=STREAM, subjects=[SUBJECT], allow_atomic=True, duplicate_window=120)
    )
    batches = BatchPublisher(nc)
    try:
        yield Stream(nc, js, batches)
    finally:
        await batches.close()
        await nc.close()


async def test_a_batch_lands_whole_and_its_ack_is_the_sequence_of_its_last_message(
    stream: Stream,
) -> None:
    first = await stream.batches.send(batch("a", "b", "c"), after=0)
    second = await stream.batches.send(batch("d", "e"), after=3)  # pipelined behind the first

    assert (await first, await second) == (3, 5)
    assert await stream.ids() == ["a", "b", "c", "d", "e"]


async def test_a_batch_that_lost_a_message_on_the_way_is_refused_whole(
    stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish = stream.nc.publish

    async def losing_b(subject: str, payload: bytes, reply: str = "", headers: Any = None) -> None:
        if (headers or {}).get("Nats-Msg-Id") != "b":
            await publish(subject, payload, reply, headers)

    monkeypatch.setattr(stream.nc, "publish", losing_b)
    acked = await stream.batches.send(batch("a", "b", "c"), after=None)

    with pytest.raises(BatchRefused, match="incomplete"):
        await acked
    assert await stream.ids() == []


async def test_a_batch_that_does_not_follow_the_expected_sequence_is_refused_whole(
    stream: Stream,
) -> None:
    await (await stream.batches.send(batch("a"), after=None))
    stale = await stream.batches.send(batch("b", "c"), after=0)

    with pytest.raises(BatchRefused, match="wrong last sequence"):
        await stale
    assert await stream.ids() == ["a"]


async def test_a_batch_repeating_a_message_id_of_the_duplicate_window_is_refused_whole(
    stream: Stream,
) -> None:
    await (await stream.batches.send(batch("a", "b"), after=None))
    repeated = await stream.batches.send(batch("b", "c"), after=None)

    with pytest.raises(BatchRefused, match="duplicate message id"):
        await repeated
    assert await stream.ids() == ["a", "b"]


async def test_a_batch_holds_one_to_the_servers_limit_of_messages(stream: Stream) -> None:
    too_many = batch(*(str(i) for i in range(MAX_MESSAGES + 1)))

    with pytest.raises(ValueError, match="1 to 1000"):
        await stream.batches.send(too_many, after=None)
    with pytest.raises(ValueError, match="1 to 1000"):
        await stream.batches.send([], after=None)
    assert await stream.ids() == []


async def test_a_staged_batch_stays_off_the_stream_until_committed_after_the_one_before(
    stream: Stream,
) -> None:
    first = await stream.batches.stage(batch("a", "b"), after=0)
    second = await stream.batches.stage(batch("c", "d"), after=2)
    assert await stream.ids() == []

    assert await (await first.commit()) == 2
    assert await stream.ids() == ["a", "b"]
    assert await (await second.commit()) == 4
    assert await stream.ids() == ["a", "b", "c", "d"]


async def test_a_staged_batch_is_refused_when_another_message_took_the_place_it_expected(
    stream: Stream,
) -> None:
    staged = await stream.batches.stage(batch("b", "c"), after=0)
    await stream.js.publish(SUBJECT, b"{}", headers={"Nats-Msg-Id": "foreign"})

    with pytest.raises(BatchRefused, match="wrong last sequence"):
        await (await staged.commit())
    assert await stream.ids() == ["foreign"]


async def test_chained_messages_land_in_order_behind_an_atomic_batch_still_unacknowledged(
    stream: Stream,
) -> None:
    atomic = await stream.batches.send(batch("a", "b", "c"), after=0)
    chained = await stream.batches.chain(batch("d", "e"), previous="c")

    assert (await atomic, await chained) == (3, 5)
    assert await stream.ids() == ["a", "b", "c", "d", "e"]


async def test_a_chain_is_refused_from_the_message_whose_predecessor_is_not_the_last(
    stream: Stream,
) -> None:
    await (await stream.batches.send(batch("a"), after=None))
    await stream.js.publish(SUBJECT, b"{}", headers={"Nats-Msg-Id": "foreign"})
    chained = await stream.batches.chain(batch("b", "c"), previous="a")

    with pytest.raises(BatchRefused, match="wrong last msg ID"):
        await chained
    assert await stream.ids() == ["a", "foreign"]


async def test_a_chain_repeating_a_message_id_stops_at_it(stream: Stream) -> None:
    await (await stream.batches.chain(batch("a", "b"), previous=""))
    chained = await stream.batches.chain(batch("b"), previous="b")

    with pytest.raises(BatchRefused, match="duplicate message id"):
        await chained
    assert await stream.ids() == ["a", "b"]
