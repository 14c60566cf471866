"""Should the platform's consumers be FastStream subscribers? The same messages, both ways.

Every consumer of the platform (the membership views, the ambassadors' policy, reporting's
projection) reads its stream the same way: a durable pull consumer, batches of up to 1,000
(`shared.pull.PullBatches`), each message decoded into the §7 `Envelope` and acknowledged
after its batch is applied. FastStream, in the required stack, offers the same as a decorated
subscriber: `PullSub(batch_size=1000, batch=True)`, a handler that receives the decoded
envelopes, acknowledgement after the handler returns.

This benchmark publishes one stream of realistic envelopes and consumes all of it three
times, with nothing applied (the transport's own cost, which is what would change):
- the platform's way: `PullBatches.fetch(1000)`, `Envelope.model_validate_json`, `ack`;
- a FastStream batch subscriber, `list[Envelope]` handler (decoding and acks by FastStream);
- a FastStream subscriber per message (`PullSub(batch_size=1000)`, one `Envelope` per call).
The rates go in the table; docs/performance.md draws the conclusion.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats
from faststream.nats import JStream, NatsBroker, PullSub
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from bench.baselines import BENCH_STREAM, sample_envelope
from bench.context import Context
from bench.infra import nats_server, run_async
from bench.report import Row
from shared.integration import Envelope
from shared.messaging import Messaging
from shared.pull import PullBatches

BATCH = 1000
SUBJECT = "coop.bench.>"


async def _fill(url: str, messages: int) -> None:
    messaging = Messaging(url, name="bench-faststream")
    await messaging.connect()
    await messaging.ensure_stream(BENCH_STREAM)
    nc = await nats.connect(url)
    js = nc.jetstream(timeout=30)
    try:
        for start in range(0, messages, BATCH):
            acks = [
                await js.publish_async(
                    "coop.bench.CoopJoined",
                    sample_envelope(sequence),
                    headers={"Nats-Msg-Id": str(sequence)},
                )
                for sequence in range(start, min(start + BATCH, messages))
            ]
            await asyncio.gather(*acks)
    finally:
        await nc.close()
        await messaging.close()


async def _platform_rate(url: str, messages: int) -> float:
    """The platform's consumers' transport: PullBatches, decode, ack."""
    nc = await nats.connect(url)
    js = nc.jetstream(timeout=10)
    await js.add_consumer(
        BENCH_STREAM.stream,
        ConsumerConfig(
            durable_name="bench-platform",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            max_ack_pending=BATCH * 4,
        ),
    )
    batches = PullBatches(nc, BENCH_STREAM.stream, "bench-platform")
    await batches.start()
    consumed = 0
    started = time.perf_counter()
    try:
        while consumed < messages:
            batch = await batches.fetch(BATCH, timeout=5)
            for message in batch:
                Envelope.model_validate_json(message.data)
            for message in batch:
                await message.ack()
            consumed += len(batch)
        return consumed / (time.perf_counter() - started)
    finally:
        await batches.stop()
        await nc.close()


async def _faststream_rate(url: str, messages: int, *, batch: bool) -> float:
    """A FastStream pull subscriber, batch or per message, decoding envelopes."""
    broker = NatsBroker(url, logger=None)
    done = asyncio.Event()
    consumed = 0
    durable = f"bench-faststream-{'batch' if batch else 'single'}"
    stream = JStream(BENCH_STREAM.stream, declare=False)

    def count(n: int) -> None:
        nonlocal consumed
        consumed += n
        if consumed >= messages:
            done.set()

    handler: Any
    if batch:

        async def on_batch(envelopes: list[Envelope]) -> None:
            count(len(envelopes))

        handler = on_batch
    else:

        async def on_message(envelope: Envelope) -> None:
            count(1)

        handler = on_message
    broker.subscriber(
        SUBJECT,
        stream=stream,
        durable=durable,
        pull_sub=PullSub(batch_size=BATCH, batch=batch, timeout=1.0),
    )(handler)
    started = time.perf_counter()
    await broker.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=600)
        return consumed / (time.perf_counter() - started)
    finally:
        await broker.stop()


async def _rates(url: str, messages: int) -> tuple[float, float, float]:
    await _fill(url, messages)
    platform = await _platform_rate(url, messages)
    faststream_batch = await _faststream_rate(url, messages, batch=True)
    faststream_single = await _faststream_rate(url, messages, batch=False)
    return platform, faststream_batch, faststream_single


def faststream_consumers(ctx: Context) -> list[Row]:
    """The platform's pull consumer transport beside FastStream subscribers, same messages."""
    messages = ctx.sizes.nats_messages
    ctx.log(f"consumers: platform pull batches vs FastStream subscribers, {messages:,} messages")
    with nats_server(ctx.directory("faststream-consumers")) as server:
        platform, batch, single = run_async(_rates(server.url, messages))
    note = f"{messages:,} × ~450 B envelopes decoded into shared.integration.Envelope, each acked"
    return [
        Row("consume.platform", "consumer transport: PullBatches fetch 1000 + decode + ack",
            platform, "msg/s", note=note, is_baseline=True),
        Row("consume.faststream.batch",
            "consumer transport: FastStream PullSub(batch=True, 1000) + decode + ack", batch,
            "msg/s", baselines=["consume.platform"], note="list[Envelope] handler"),
        Row("consume.faststream.single",
            "consumer transport: FastStream PullSub(1000), one message per call", single,
            "msg/s", baselines=["consume.platform"], note="Envelope handler"),
    ]  # fmt: skip
