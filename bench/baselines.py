"""The raw limits of the platform's parts, measured on the same machine in the same run.

- nats-py JetStream: `publish_async` rate, atomic batch publish rate (1,000 messages per batch,
  two batches in flight, as the relay publishes), pull-consume rate (fetch 1,000, explicit ack)
  and publish → pull-consume latency at the freshness figure's rate, on a file stream
  configured as the platform's streams are (shared.messaging), with realistic ~450-byte
  envelopes, on the embedded server (`sync_interval: always`); the publish rates alone also on
  nats-server's default sync (`publish_baselines`, measured beside the relay figures there).
- eventsourcing: single-event `save` rate and batched `save` rate of a plain Application with
  a one-field aggregate, on SQLite (file) and PostgreSQL (own schema).
- FastAPI: a bare JSON endpoint under uvicorn (bench.bare_app), driven by the same load
  generator as the services: POST rate and latency with 50 clients, GET latency, resident
  memory after the load, and start-up time to the first 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

import nats
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from bench.context import Context
from bench.infra import FSYNC_ALWAYS, bare_app_process, nats_server, run_async
from bench.loadgen import closed_loop, percentile
from bench.report import Row, skipped
from shared.batch_publish import MAX_MESSAGES, BatchPublisher
from shared.integration import StreamContract, event_id_for
from shared.messaging import Messaging

BENCH_STREAM = StreamContract(stream="BENCH_RAW", service="bench")


def sample_envelope(sequence: int) -> bytes:
    """A CoopJoined-sized envelope (the relay's typical message)."""
    aggregate_id = str(uuid.UUID(int=sequence + 1))
    return json.dumps(
        {
            "event_id": event_id_for(aggregate_id, 1),
            "event_type": "CoopJoined",
            "schema_version": 1,
            "aggregate_id": aggregate_id,
            "aggregate_version": 1,
            "occurred_at": "2024-01-05T10:00:00.000000Z",
            "correlation_id": str(uuid.uuid4()),
            "causation_id": None,
            "data": {
                "cooperative_id": aggregate_id,
                "name": f"Coopérative de travail Banc d'essai {sequence}",
                "region": "06",
                "sector": "microbrasserie",
                "worker_members": 12,
                "joined_on": "2023-05-14",
                "neq": f"{sequence:010d}",
            },
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


# --- NATS ------------------------------------------------------------------------------------


async def _publish_rate(js: Any, messages: int) -> float:
    """publish_async of `messages` envelopes, each with its Nats-Msg-Id, until every ack is in."""
    bodies = [sample_envelope(i) for i in range(messages)]
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        await js.publish_async(
            "coop.bench.CoopJoined", body, headers={"Nats-Msg-Id": f"m-{i}"}, wait_stall=10
        )
    await asyncio.wait_for(js.publish_async_completed(), 60)
    return messages / (time.perf_counter() - started)


async def _atomic_rate(nc: Any, messages: int) -> float:
    """Atomic batches of 1,000 envelopes, each with its Nats-Msg-Id, two batches in flight."""
    bodies = [sample_envelope(i) for i in range(messages)]
    batches = BatchPublisher(nc)
    in_flight: list[asyncio.Future[int]] = []
    started = time.perf_counter()
    for start in range(0, messages, MAX_MESSAGES):
        batch = [
            ("coop.bench.CoopJoined", body, {"Nats-Msg-Id": f"a-{start + i}"})
            for i, body in enumerate(bodies[start : start + MAX_MESSAGES])
        ]
        in_flight.append(await batches.send(batch, None))
        if len(in_flight) > 1:
            await asyncio.wait_for(in_flight.pop(0), 60)
    for acked in in_flight:
        await asyncio.wait_for(acked, 60)
    rate = messages / (time.perf_counter() - started)
    await batches.close()
    return rate


async def publish_baselines(url: str, messages: int) -> tuple[float, float]:
    """The raw publish_async rate, then the atomic batch rate, on a fresh stream of the server."""
    messaging = Messaging(url, name="bench-raw")
    await messaging.connect()
    await messaging.ensure_stream(BENCH_STREAM)
    nc = await nats.connect(url)
    try:
        return await _publish_rate(nc.jetstream(timeout=10), messages), await _atomic_rate(
            nc, messages
        )
    finally:
        await nc.close()
        await messaging.close()


async def _nats_figures(url: str, messages: int, latency_rate: float, latency_seconds: float):  # type: ignore[no-untyped-def]
    messaging = Messaging(url, name="bench-raw")
    await messaging.connect()
    await messaging.ensure_stream(BENCH_STREAM)
    nc = await nats.connect(url)
    js = nc.jetstream(timeout=10)
    try:
        publish_rate = await _publish_rate(js, messages)
        subscription = await js.pull_subscribe(
            "coop.bench.>",
            durable="bench-raw",
            stream=BENCH_STREAM.stream,
            config=ConsumerConfig(
                durable_name="bench-raw",
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                max_ack_pending=4000,
            ),
        )
        consumed = 0
        started = time.perf_counter()
        while consumed < messages:
            batch = await subscription.fetch(1000, timeout=5)
            for message in batch:
                await message.ack()
            consumed += len(batch)
        consume_rate = consumed / (time.perf_counter() - started)
        await subscription.unsubscribe()
        atomic_rate = await _atomic_rate(nc, messages)

        latencies = await _latency(js, latency_rate, latency_seconds, offset=messages)
    finally:
        await nc.close()
        await messaging.close()
    return publish_rate, atomic_rate, consume_rate, latencies


async def _latency(js: Any, rate: float, seconds: float, offset: int) -> list[float]:
    """publish (one at `rate`/s) → pull-consumed latency, in ms."""
    subscription = await js.pull_subscribe(
        "coop.bench.>",
        durable="bench-latency",
        stream=BENCH_STREAM.stream,
        config=ConsumerConfig(
            durable_name="bench-latency",
            deliver_policy=DeliverPolicy.NEW,
            ack_policy=AckPolicy.EXPLICIT,
        ),
    )
    sent: dict[str, float] = {}
    latencies: list[float] = []
    total = max(1, int(rate * seconds))
    done = asyncio.Event()

    async def consume() -> None:
        while len(latencies) < total:
            try:
                batch = await subscription.fetch(1000, timeout=1)
            except nats.errors.TimeoutError:
                continue
            now = time.perf_counter()
            for message in batch:
                key = message.headers["Nats-Msg-Id"]
                if key in sent:
                    latencies.append((now - sent[key]) * 1000)
                await message.ack()
        done.set()

    consumer = asyncio.create_task(consume())
    begin = time.perf_counter()
    for i in range(total):
        await asyncio.sleep(max(0.0, begin + i / rate - time.perf_counter()))
        key = f"l-{offset + i}"
        sent[key] = time.perf_counter()
        await js.publish_async(
            "coop.bench.CoopJoined", sample_envelope(offset + i), headers={"Nats-Msg-Id": key}
        )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 10)
    consumer.cancel()
    with contextlib.suppress(BaseException):
        await consumer
    await subscription.unsubscribe()
    return latencies


def nats_baselines(ctx: Context) -> list[Row]:
    """Raw nats-py JetStream publish_async, atomic batch and pull-consume rates, and latency."""
    messages = ctx.sizes.nats_messages
    ctx.log(f"baseline: nats-py JetStream, {messages:,} messages")
    seconds = 3 if ctx.sizes.duration >= 5 else 1
    with nats_server(ctx.directory("nats-raw")) as server:
        publish, atomic, consume, latencies = run_async(
            _nats_figures(server.url, messages, ctx.sizes.freshness_rate, seconds)
        )
    rate = f"{ctx.sizes.freshness_rate:.0f} msg/s"
    return [
        Row("nats.publish", "NATS JetStream publish_async (raw nats-py)", publish, "msg/s",
            note=f"{messages:,} × ~450 B, file store, Nats-Msg-Id; {FSYNC_ALWAYS}",
            is_baseline=True),
        Row("nats.publish.atomic", "NATS JetStream atomic batch publish (raw nats-py)", atomic,
            "msg/s", note=f"batches of 1,000, two in flight, Nats-Msg-Id; {FSYNC_ALWAYS}",
            is_baseline=True),
        Row("nats.consume", "NATS JetStream pull-consume, fetch 1000 + ack", consume, "msg/s",
            note="durable pull consumer, explicit ack", is_baseline=True),
        Row("nats.latency.p50", f"NATS publish → pull-consumed at {rate}, p50",
            percentile(latencies, 50), "ms", is_baseline=True),
        Row("nats.latency.p99", f"NATS publish → pull-consumed at {rate}, p99",
            percentile(latencies, 99), "ms", is_baseline=True),
    ]  # fmt: skip


# --- eventsourcing ---------------------------------------------------------------------------


class Counter(Aggregate):
    """The smallest aggregate: one event, one field."""

    @event("Created")
    def __init__(self, value: int) -> None:
        self.value = value


class BenchApplication(Application[uuid.UUID]):
    """A plain eventsourcing Application (no platform code)."""

    name = "bench"


def _save_rates(env: dict[str, str], saves: int, batch_events: int) -> tuple[float, float]:
    app = BenchApplication(env=env)
    try:
        started = time.perf_counter()
        for i in range(saves):
            app.save(Counter(i))
        single = saves / (time.perf_counter() - started)
        batch = 100
        started = time.perf_counter()
        for start in range(0, batch_events, batch):
            app.save(*(Counter(i) for i in range(start, min(start + batch, batch_events))))
        batched = batch_events / (time.perf_counter() - started)
    finally:
        app.close()
    return single, batched


def eventsourcing_baselines(ctx: Context) -> list[Row]:
    """eventsourcing single and batched save rates, SQLite file and PostgreSQL."""
    saves, batch_events = ctx.sizes.saves, ctx.sizes.batch_events
    ctx.log(f"baseline: eventsourcing saves on SQLite ({saves:,} single, {batch_events:,} batched)")
    path = ctx.directory("es-sqlite") / "bench.sqlite3"
    single, batched = _save_rates(
        {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)},
        saves,
        batch_events,
    )
    rows = [
        Row("es.sqlite.single", "eventsourcing save, 1 event/save, SQLite", single, "events/s",
            note="plain Application, one thread, file DB (WAL)", is_baseline=True),
        Row("es.sqlite.batch", "eventsourcing save, 100 events/save, SQLite", batched,
            "events/s", is_baseline=True),
    ]  # fmt: skip
    labels = [
        ("es.postgres.single", "eventsourcing save, 1 event/save, PostgreSQL"),
        ("es.postgres.batch", "eventsourcing save, 100 events/save, PostgreSQL"),
    ]
    if ctx.postgres_problem:
        rows += [skipped(k, label, "events/s", ctx.postgres_problem, is_baseline=True)
                 for k, label in labels]  # fmt: skip
        return rows
    ctx.log("baseline: eventsourcing saves on PostgreSQL")
    with ctx.postgres() as schema:
        single, batched = _save_rates(schema.eventsourcing_env(), saves, batch_events)
    rows += [
        Row(labels[0][0], labels[0][1], single, "events/s", note="own schema, dropped after",
            is_baseline=True),
        Row(labels[1][0], labels[1][1], batched, "events/s", is_baseline=True),
    ]  # fmt: skip
    return rows


# --- FastAPI ---------------------------------------------------------------------------------


def fastapi_baselines(ctx: Context) -> list[Row]:
    """A bare FastAPI JSON endpoint under uvicorn, with the same load generator."""
    sizes = ctx.sizes
    ctx.log(f"baseline: bare FastAPI, {sizes.clients} clients × {sizes.duration:.0f} s")
    with bare_app_process(ctx.directory("bare-fastapi")).start() as app:
        started = app.wait_http("/readyz")
        cpu: dict[str, float] = {}
        posts = closed_loop(
            app.url,
            "post_item",
            clients=sizes.clients,
            duration=sizes.duration,
            warmup=sizes.warmup,
            processes=ctx.client_processes,
            client=ctx.client,
            expected=201,
            on_window=lambda edge: cpu.__setitem__(edge, app.cpu_seconds()),
        )
        server_cores = (cpu["end"] - cpu["start"]) / sizes.duration
        reads = closed_loop(
            app.url,
            "get_items",
            clients=sizes.read_clients,
            duration=min(sizes.duration, 5),
            warmup=sizes.warmup,
            client=ctx.client,
        )
        rss = app.rss_mib()
    load = (
        f"{posts.clients} clients; server {server_cores:.2f} cores, "
        f"client {posts.client_cores:.2f} cores"
    )
    return [
        Row("http.post.rate", "bare FastAPI POST JSON → 201, 50 clients", posts.rate, "req/s",
            note=load, is_baseline=True),
        Row("http.post.p50", "bare FastAPI POST, p50", posts.percentile(50), "ms",
            is_baseline=True),
        Row("http.post.p99", "bare FastAPI POST, p99", posts.percentile(99), "ms",
            is_baseline=True),
        Row("http.get.p50", f"bare FastAPI GET JSON, {reads.clients} clients, p50",
            reads.percentile(50), "ms", is_baseline=True),
        Row("http.get.p99", f"bare FastAPI GET JSON, {reads.clients} clients, p99",
            reads.percentile(99), "ms", note=f"{reads.rate:,.0f} req/s", is_baseline=True),
        Row("http.rss", "bare FastAPI process RSS after its load", rss, "MiB",
            is_baseline=True),
        Row("http.start", "bare FastAPI process start → first 200", started, "s",
            is_baseline=True),
    ]  # fmt: skip
