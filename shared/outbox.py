"""The outbox relay: the service's notification log, in commit order, onto its JetStream stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from eventsourcing.persistence import Notification
from nats.js.errors import NotFoundError

from shared.application import CoopApplication
from shared.batch_publish import MAX_MESSAGES, BatchPublisher
from shared.integration import StreamContract, event_id_for, rfc3339
from shared.leadership import leadership
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.persistence import event_context_table, load_position, save_position
from shared.telemetry import is_enabled as telemetry_enabled
from shared.telemetry import publish_span

log = logging.getLogger(__name__)

NOTIFICATION_HEADER = "Coop-Notification-Id"
ACK_STALL_SECONDS = 5.0  # a batch is given up when its ack did not come for this long
STREAM_CHECK_SECONDS = 5.0  # while idle, how often the relay checks its stream is intact
RECONCILE_LIMIT = 10_000  # at most this many of its messages are checked for gaps at start
# While publishing without pause, the position is recorded at most this often (and whenever the
# relay goes idle): a relay restarted from an older position reads the stream's last message.
RECORD_EVERY_SECONDS = 0.25
# Up to this many messages, a batch goes as chained messages (an ack each, sooner than an atomic
# batch's); more go as one atomic batch (one ack, and far more messages a second).
CHAIN_UP_TO = 16
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
Mapping = Callable[[Any], tuple[str, dict[str, Any]] | None]


class StreamBehindError(Exception):
    """The stream holds less than the relay published: its store was lost or restored."""


class OutboxRelay:
    """Publishes each stored event once, in order, and records the position after the ack.

    Every batch of the notification log must land right behind the one before it
    (`shared/batch_publish.py`: a few events as chained messages, more as one atomic batch). So
    the next batch can be sent while the previous one's acks are on their way, and the stream
    only ever holds an unbroken prefix of the log: when a batch is refused or lost, those
    behind it are refused too, and the relay resumes from the stream after reconciling.
    """

    def __init__(
        self,
        app: CoopApplication,
        messaging: Messaging,
        contract: StreamContract,
        to_integration: Mapping,
        metrics: ServiceMetrics,
        *,
        batch_size: int = MAX_MESSAGES,
    ) -> None:
        if not 0 < batch_size <= MAX_MESSAGES:
            raise ValueError(f"a relay batch holds 1 to {MAX_MESSAGES} events")
        self.app = app
        self.messaging = messaging
        self.contract = contract
        self.to_integration = to_integration
        self.metrics = metrics
        self.batch_size = batch_size
        self.position_name = f"relay:{contract.stream}"
        self.position = 0
        self._recorded = 0  # the position last recorded
        self._recorded_at = 0.0  # when (time.monotonic)
        self._last_seq: int | None = None  # the stream's last sequence, while known (reconciled)
        self._last_id: str | None = None  # the Nats-Msg-Id of its last message, while known
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._js: Any = None  # the JetStream context, kept: each one subscribes its own inbox
        self._batch_publisher: BatchPublisher | None = None
        self.leadership = leadership(app.database, f"relay:{contract.stream}")

    def poke(self) -> None:
        """Wake the relay (safe from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        """Publish until stopped; while NATS is away, retry with backoff."""
        self._loop = asyncio.get_running_loop()
        delay = 0.1
        try:
            while not self._stopping:
                try:
                    await self.leadership.acquire()  # one publishing instance per stream
                    await self._ensure_stream()
                    await self._reconcile()
                    delay = 0.1
                    idle_since = time.monotonic()
                    while not self._stopping and await self.leadership.held():
                        self._wakeup.clear()  # a poke while publishing means: look again
                        if await self._pump():
                            idle_since = time.monotonic()
                            continue
                        await self._record_position()
                        if time.monotonic() - idle_since > STREAM_CHECK_SECONDS:
                            await self._check_stream()
                            idle_since = time.monotonic()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wakeup.wait(), 0.5)
                    await self._record_position()
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.warning("relay %s paused: %r", self.contract.stream, error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
        finally:
            if self._batch_publisher is not None:
                await self._batch_publisher.close()
                self._batch_publisher = None
            await self.leadership.release()

    async def _check_stream(self) -> None:
        """While idle, make sure the stream still holds what was published: a stream that is
        gone or ends earlier (a lost or restored NATS store) makes the relay start over."""
        js = await self._jetstream()
        info = await js.stream_info(self.contract.stream)  # NotFoundError when it is gone
        if self._last_seq is not None and (info.state.last_seq or 0) < self._last_seq:
            raise StreamBehindError(
                f"the stream ends at {info.state.last_seq}, before sequence {self._last_seq}"
            )

    def stop(self) -> None:
        """Ask the loop to end."""
        self._stopping = True
        self.poke()

    async def _ensure_stream(self) -> None:
        """Create or update the stream; refuse to publish where atomic batches are not kept."""
        info = await self.messaging.ensure_stream(self.contract)
        if not getattr(info.config, "allow_atomic", False):
            raise RuntimeError(
                f"stream {self.contract.stream} does not allow atomic batch publishing: "
                "the relay needs nats-server 2.15 or newer"
            )

    async def _reconcile(self) -> None:
        """Start after whichever is further: the recorded position or the stream's last message.

        When the stream is ahead of the recorded position, the events in between are checked
        one by one. Each message lands right behind the one it names, so a later event cannot
        land after a lost one; a stream written by an older relay, without that check, may still
        have such a gap: those missing are published now, late rather than never, and nothing
        already on the stream is published again.
        """
        recorded = await asyncio.to_thread(self._load_position)
        js = await self._jetstream()
        self._last_seq = self._last_id = None
        on_stream, present, floor, last_seq, last_id = await self._published_after(js, recorded)
        if on_stream > recorded:
            missing = await asyncio.to_thread(self._unpublished, floor, on_stream, present)
            if missing:
                log.warning(
                    "relay %s: %d event(s) missing before notification %d; publishing them now",
                    self.contract.stream,
                    len(missing),
                    on_stream,
                )
                contexts = await asyncio.to_thread(self._contexts, missing)
                publisher = await self._publisher()
                for start in range(0, len(missing), MAX_MESSAGES):
                    chunk = missing[start : start + MAX_MESSAGES]
                    messages = list(self._messages(chunk, contexts, telemetry_enabled()))
                    last_seq = await self._acked(await publisher.send(messages, last_seq))
                    last_id = messages[-1][2]["Nats-Msg-Id"]
                    self.metrics.relay_published.inc(len(messages))
        if on_stream < recorded:
            # The stream ends before what this relay recorded as published: its store was lost
            # or restored from an older copy. Publish again from where the stream ends; the
            # consumers skip what they had already applied (by aggregate version).
            log.warning(
                "relay %s: the stream ends at notification %d, before the recorded position %d "
                "(a lost or restored NATS store); publishing again from there",
                self.contract.stream,
                on_stream,
                recorded,
            )
            recorded = on_stream
            await asyncio.to_thread(self._save_position, recorded)
        self.position = max(recorded, on_stream)
        self._recorded = recorded
        self._last_seq, self._last_id = last_seq, last_id

    async def _published_after(
        self, js: Any, recorded: int
    ) -> tuple[int, set[int], int, int, str | None]:
        """The stream's last notification id, the ids after `recorded`, a floor, and the stream's
        last sequence and last message's `Nats-Msg-Id`.

        Every event up to the floor is taken as published: the floor is `recorded`, unless the
        stream was trimmed or holds too many messages after it to check them all.
        """
        info = await js.stream_info(self.contract.stream)
        last_seq, first_seq = info.state.last_seq or 0, info.state.first_seq or 0
        present: set[int] = set()
        on_stream = 0
        floor: int | None = None
        last_id: str | None = None
        for seq in range(last_seq, max(first_seq, 1) - 1, -1):
            if len(present) >= RECONCILE_LIMIT:
                break
            try:
                message = await js.get_msg(self.contract.stream, seq=seq)
            except NotFoundError:
                continue  # a message deleted from the stream
            if seq == last_seq:
                last_id = (message.headers or {}).get("Nats-Msg-Id")
            header = (message.headers or {}).get(NOTIFICATION_HEADER)
            if header is None:
                continue  # not the relay's message
            notification_id = int(header)
            on_stream = on_stream or notification_id
            if notification_id <= recorded:
                floor = recorded
                break
            present.add(notification_id)
        else:
            if first_seq <= 1:
                floor = recorded  # the whole stream was read: nothing is unknown
        if floor is None:
            floor = min(present, default=recorded)
        return on_stream, present, max(floor, recorded), last_seq, last_id

    def _unpublished(self, floor: int, on_stream: int, present: set[int]) -> list[Any]:
        """The notifications in (floor, on_stream] that should be on the stream and are not."""
        notifications = self.app.recorder.select_notifications(
            floor + 1, on_stream - floor, stop=on_stream
        )
        return [
            n
            for n in notifications
            if n.id not in present
            and self.to_integration(self.app.mapper.to_domain_event(n)) is not None
        ]

    async def _pump(self, batches: int | None = None) -> int:
        """Publish batches until the log is exhausted (or `batches` of them); return their size.

        The next batch is read, encoded and sent while the previous one's acks are on their way.
        A few messages go chained, the first naming the stream's last message; more go as an
        atomic batch, staged, and committed once the batch before has landed, naming the stream
        sequence it must follow. Either way a batch refused or lost takes every later one with
        it. Positions are recorded after the acks.
        """
        publisher = await self._publisher()
        after, last_id = self._last_seq, self._last_id
        self._last_seq = self._last_id = None  # unknown until every ack is in
        previous: tuple[int, int, asyncio.Future[Any]] | None = None  # position, size, ack
        selected, count, sent = self.position, 0, 0
        tracing = telemetry_enabled()
        reading: asyncio.Future[Any] | None = None  # the next batch, read ahead
        sent_ahead: asyncio.Future[Any] | None = None  # a chain sent before `previous` settled
        try:
            while batches is None or sent < batches:
                reading = reading or asyncio.ensure_future(self._read(selected))
                notifications, contexts = await reading
                reading = None
                if not notifications:
                    if previous is None and not count:
                        self.metrics.relay_lag.set(0)
                    break
                selected, sent = notifications[-1].id, sent + 1
                count += len(notifications)
                if batches is None or sent < batches:
                    reading = asyncio.ensure_future(self._read(selected))
                messages = list(self._messages(notifications, contexts, tracing))
                ahead: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                staged = None
                if messages and len(messages) <= CHAIN_UP_TO and last_id is not None:
                    ahead = await publisher.chain(messages, last_id)
                elif messages:
                    staged = await publisher.stage(messages, after)
                else:  # nothing of this batch goes on the stream: only its position is recorded
                    ahead.set_result(after)
                sent_ahead = ahead
                if previous is not None:  # it must have landed before an atomic batch commits
                    landed = await self._settle(*previous)
                    after = landed if after is None else after
                acked = ahead if staged is None else await staged.commit()
                sent_ahead = None
                previous = (selected, len(messages), acked)
                after = None if after is None else after + len(messages)
                last_id = messages[-1][2]["Nats-Msg-Id"] if messages else last_id
                if self._stopping or not await self.leadership.held():
                    break
            if previous is not None:
                landed = await self._settle(*previous)
                after = landed if after is None else after
                previous = None
        finally:
            for unsettled in (previous[2] if previous else None, sent_ahead):
                if unsettled is not None:
                    publisher.forget(unsettled)
            if reading is not None:
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reading
        self._last_seq, self._last_id = after, last_id
        return count

    async def _settle(
        self, position: int, published: int, acked: asyncio.Future[Any]
    ) -> int | None:
        """Wait for a batch's ack, then take its position (recorded when due); return the
        stream's last sequence."""
        last_seq = await self._acked(acked)
        self.position = position
        self.metrics.relay_published.inc(published)
        if time.monotonic() - self._recorded_at >= RECORD_EVERY_SECONDS:
            await self._record_position()
        return last_seq

    async def _record_position(self) -> None:
        """Record the position of the last batch acknowledged, if not yet; update the lag."""
        if self.position > self._recorded:
            position = self.position
            lag = await asyncio.to_thread(self._record, position)
            self._recorded, self._recorded_at = position, time.monotonic()
            self.metrics.relay_lag.set(lag)

    async def _acked(self, acked: asyncio.Future[Any]) -> Any:
        """The batch's last stream sequence; raise when refused or when no ack came in time."""
        try:
            return await asyncio.wait_for(asyncio.shield(acked), ACK_STALL_SECONDS)
        except TimeoutError:
            raise TimeoutError(f"no JetStream ack for {ACK_STALL_SECONDS} s") from None
        finally:
            if self._batch_publisher is not None and not acked.done():
                self._batch_publisher.forget(acked)

    async def _jetstream(self) -> Any:
        """The relay's own JetStream context: one reply subscription for all its requests."""
        if self._js is None:
            self._js = await self.messaging.jetstream()
        return self._js

    async def _publisher(self) -> BatchPublisher:
        """The relay's batch publisher: one reply subscription for all its batches."""
        if self._batch_publisher is None:
            self._batch_publisher = BatchPublisher(await self.messaging.client())
        return self._batch_publisher

    def _load_position(self) -> int:
        with self.app.database.reading() as conn:
            return load_position(conn, self.position_name)

    async def publish_once(self) -> int:
        """Publish the next batch of notifications and record its position; return its size."""
        count = await self._pump(batches=1)
        await self._record_position()
        return count

    async def _read(self, after: int) -> tuple[Sequence[Notification], dict[tuple[str, int], Any]]:
        return await asyncio.to_thread(self._select, after)

    def _select(self, after: int) -> tuple[Sequence[Notification], dict[tuple[str, int], Any]]:
        """The next batch of notifications after `after`, and their command contexts."""
        notifications = self.app.recorder.select_notifications(after + 1, self.batch_size)
        return notifications, self._contexts(notifications) if notifications else {}

    def _messages(
        self,
        notifications: Sequence[Notification],
        contexts: dict[tuple[str, int], Any],
        tracing: bool,
    ) -> Iterator[tuple[str, bytes, dict[str, str]]]:
        """Subject, body and headers of each notification that has an integration event."""
        to_domain_event = self.app.mapper.to_domain_event
        to_integration = self.to_integration
        versions = self.contract.versions
        subject = self.contract.subject
        for notification in notifications:
            domain_event: Any = to_domain_event(notification)
            mapped = to_integration(domain_event)
            if mapped is None:
                continue
            event_type, data = mapped
            aggregate_id = str(notification.originator_id)
            version = notification.originator_version
            event_id = event_id_for(aggregate_id, version)
            context = contexts.get((aggregate_id, version))
            body = _ENCODE(
                {
                    "event_id": event_id,
                    "event_type": event_type,
                    "schema_version": versions.get(event_type, 1),
                    "aggregate_id": aggregate_id,
                    "aggregate_version": version,
                    "occurred_at": rfc3339(domain_event.timestamp),
                    "correlation_id": context.correlation_id if context else event_id,
                    "causation_id": context.causation_id if context else None,
                    "data": data,
                }
            ).encode()
            headers = {"Nats-Msg-Id": event_id, NOTIFICATION_HEADER: str(notification.id)}
            parent = context.traceparent if context else None
            traceparent = publish_span(parent, event_type) if tracing else parent
            if traceparent:
                headers["traceparent"] = traceparent
            yield subject(event_type), body, headers

    def _contexts(self, notifications: Sequence[Notification]) -> dict[tuple[str, int], Any]:
        ids = sorted({str(n.originator_id) for n in notifications})
        table = event_context_table
        with self.app.database.reading() as conn:
            rows = conn.execute(sa.select(table).where(table.c.originator_id.in_(ids))).all()
        return {(row.originator_id, row.originator_version): row for row in rows}

    def _record(self, position: int) -> int:
        """Save the position; return how far the notification log is ahead of it."""
        self._save_position(position)
        return max(0, (self.app.recorder.max_notification_id() or 0) - position)

    def _save_position(self, position: int) -> None:
        with self.app.database.writing(durable=False) as conn:
            save_position(conn, self.position_name, position)
