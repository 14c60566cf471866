"""The outbox relay: the service's notification log, in commit order, onto its JetStream stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from eventsourcing.persistence import Notification
from nats.js.errors import NotFoundError

from shared.application import CoopApplication
from shared.integration import StreamContract, event_id_for, rfc3339
from shared.leadership import leadership
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.persistence import event_context_table, load_position, save_position
from shared.telemetry import is_enabled as telemetry_enabled
from shared.telemetry import publish_span

log = logging.getLogger(__name__)

NOTIFICATION_HEADER = "Coop-Notification-Id"
# JetStream stores a message only when the stream's last message is the one named here: a
# pipelined message never lands after a predecessor lost with a broken connection.
EXPECTED_LAST_MSG_ID = "Nats-Expected-Last-Msg-Id"
ACK_STALL_SECONDS = 5.0  # a batch is given up when no ack came for this long
RECONCILE_LIMIT = 10_000  # at most this many of its messages are checked for gaps at start
PUBLISH_CHUNK = 100  # messages handed to the NATS client between two turns of the event loop
ASYNC_PENDING_LIMIT = 4000  # nats-py's default cap on publishes awaiting their ack
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
Mapping = Callable[[Any], tuple[str, dict[str, Any]] | None]


class OutboxRelay:
    """Publishes each stored event once, in order, and records the position after the ack."""

    def __init__(
        self,
        app: CoopApplication,
        messaging: Messaging,
        contract: StreamContract,
        to_integration: Mapping,
        metrics: ServiceMetrics,
        *,
        batch_size: int = 1000,
    ) -> None:
        self.app = app
        self.messaging = messaging
        self.contract = contract
        self.to_integration = to_integration
        self.metrics = metrics
        self.batch_size = batch_size
        self.position_name = f"relay:{contract.stream}"
        self.position = 0
        self._chained = False  # True once the stream's last message is known (reconciled)
        self._last_msg_id: str | None = None  # the Nats-Msg-Id of the stream's last message
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._js: Any = None  # the JetStream context, kept: each one subscribes its own inbox
        # with at most two batches awaiting their acks, the client's cap is never reached
        self._wait_stall = None if 2 * batch_size <= ASYNC_PENDING_LIMIT else ACK_STALL_SECONDS
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
                    await self.messaging.ensure_stream(self.contract)
                    await self._reconcile()
                    delay = 0.1
                    while not self._stopping and await self.leadership.held():
                        self._wakeup.clear()  # a poke while publishing means: look again
                        if not await self._pump():
                            with contextlib.suppress(TimeoutError):
                                await asyncio.wait_for(self._wakeup.wait(), 0.5)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.warning("relay %s paused: %r", self.contract.stream, error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
        finally:
            await self.leadership.release()

    def stop(self) -> None:
        """Ask the loop to end."""
        self._stopping = True
        self.poke()

    async def _reconcile(self) -> None:
        """Start after whichever is further: the recorded position or the stream's last message.

        When the stream is ahead of the recorded position, the events in between are checked
        one by one. Each publish names the message it must follow, so a later event cannot
        land after a lost one; a stream written without that check (an older relay)
        may still have such a gap: those missing are published now, late rather than never,
        and nothing already on the stream is published again.
        """
        recorded = await asyncio.to_thread(self._load_position)
        js = await self._jetstream()
        on_stream, present, floor = await self._published_after(js, recorded)
        if on_stream > recorded:
            missing = await asyncio.to_thread(self._unpublished, floor, on_stream, present)
            if missing:
                log.warning(
                    "relay %s: %d event(s) missing before notification %d; publishing them now",
                    self.contract.stream,
                    len(missing),
                    on_stream,
                )
                self.metrics.relay_published.inc(await self._publish(js, missing))
        self.position = max(recorded, on_stream)

    async def _published_after(self, js: Any, recorded: int) -> tuple[int, set[int], int]:
        """The stream's last notification id, the ids after `recorded`, and a floor.

        Every event up to the floor is taken as published: the floor is `recorded`, unless the
        stream was trimmed or holds too many messages after it to check them all.
        """
        info = await js.stream_info(self.contract.stream)
        last_seq, first_seq = info.state.last_seq or 0, info.state.first_seq or 0
        await self._learn_last_msg_id(js, last_seq)
        present: set[int] = set()
        on_stream = 0
        floor: int | None = None
        for seq in range(last_seq, max(first_seq, 1) - 1, -1):
            if len(present) >= RECONCILE_LIMIT:
                break
            try:
                message = await js.get_msg(self.contract.stream, seq=seq)
            except NotFoundError:
                continue  # a message deleted from the stream
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
        return on_stream, present, max(floor, recorded)

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

    async def _publish(self, js: Any, notifications: Sequence[Notification]) -> int:
        """Publish these notifications pipelined and wait for every ack; return how many.

        Once reconciled, each message names the message it must follow, so the stream only ever
        holds an unbroken prefix of what was sent: when one message is lost (a connection broken
        mid-batch, its later messages replayed by the client after reconnecting), JetStream
        refuses the rest, and the relay resumes from the stream after reconciling.
        """
        contexts = await asyncio.to_thread(self._contexts, notifications)
        chained, previous = self._chained, self._last_msg_id
        self._chained = False  # the stream's last message is unknown until every ack is in
        acks = _Acks(notifications[-1].id if notifications else self.position)
        try:
            previous = await self._send(js, notifications, contexts, acks, chained, previous)
            await acks.wait()
        finally:
            acks.cancel()
        await self._chain_after(js, chained, previous, acks.duplicate)
        return len(acks.futures)

    async def _pump(self, batches: int | None = None) -> int:
        """Publish batches until the log is exhausted (or `batches` of them); return their size.

        Once chained, the next batch is selected, encoded and published while the previous
        batch's acks are pending: its messages name their predecessors, so none can land after
        a lost one. Each batch's position is recorded in order, after every ack of that batch.
        """
        js = await self._jetstream()
        chained, previous = self._chained, self._last_msg_id
        self._chained = False  # the stream's last message is unknown until every ack is in
        in_flight: list[_Acks] = []
        selected, count, sent, duplicate = self.position, 0, 0, False
        try:
            while batches is None or sent < batches:
                notifications, contexts = await asyncio.to_thread(self._select, selected)
                if not notifications:
                    if not in_flight and not count:
                        self.metrics.relay_lag.set(0)
                    break
                selected, sent = notifications[-1].id, sent + 1
                count += len(notifications)
                acks = _Acks(selected)
                in_flight.append(acks)
                previous = await self._send(js, notifications, contexts, acks, chained, previous)
                while len(in_flight) > (1 if chained else 0):
                    duplicate = await self._settle(in_flight[0]) or duplicate
                    in_flight.pop(0)
                if self._stopping or not await self.leadership.held():
                    break
            while in_flight:
                duplicate = await self._settle(in_flight[0]) or duplicate
                in_flight.pop(0)
        finally:
            for acks in in_flight:
                acks.cancel()
        await self._chain_after(js, chained, previous, duplicate)
        return count

    async def _send(
        self,
        js: Any,
        notifications: Sequence[Notification],
        contexts: dict[tuple[str, int], Any],
        acks: _Acks,
        chained: bool,
        previous: str | None,
    ) -> str | None:
        """Hand a batch's messages to the NATS client; return the last one's `Nats-Msg-Id`."""
        stall = self._wait_stall if len(notifications) <= self.batch_size else ACK_STALL_SECONDS
        tracing = telemetry_enabled()
        for number, message in enumerate(self._messages(notifications, contexts, tracing), 1):
            subject, body, headers = message
            if chained and previous is not None:
                headers[EXPECTED_LAST_MSG_ID] = previous
            previous = headers["Nats-Msg-Id"]
            acks.add(await js.publish_async(subject, body, headers=headers, wait_stall=stall))
            if number % PUBLISH_CHUNK == 0:
                await asyncio.sleep(0)  # let the client write this chunk and the loop breathe
        return previous

    async def _settle(self, acks: _Acks) -> bool:
        """Wait for a batch's acks, then record its position; return whether one was a duplicate."""
        await acks.wait()
        self.position = acks.position
        lag = await asyncio.to_thread(self._record, acks.position)
        self.metrics.relay_published.inc(len(acks.futures))
        self.metrics.relay_lag.set(lag)
        return acks.duplicate

    async def _chain_after(
        self, js: Any, chained: bool, previous: str | None, duplicate: bool
    ) -> None:
        """Every ack is in: the stream's last message is the last one sent, unless a duplicate."""
        if chained and not duplicate:
            self._chained, self._last_msg_id = True, previous
        elif chained:
            await self._learn_last_msg_id(
                js, (await js.stream_info(self.contract.stream)).state.last_seq
            )

    async def _jetstream(self) -> Any:
        """The relay's own JetStream context: one reply subscription for all its publishes."""
        if self._js is None:
            self._js = await self.messaging.jetstream()
        return self._js

    async def _learn_last_msg_id(self, js: Any, last_seq: int) -> None:
        """Note the `Nats-Msg-Id` of the stream's last message: the next publish follows it."""
        self._last_msg_id = None
        if last_seq:
            with contextlib.suppress(NotFoundError):
                message = await js.get_msg(self.contract.stream, seq=last_seq)
                self._last_msg_id = (message.headers or {}).get("Nats-Msg-Id")
        self._chained = True

    def _load_position(self) -> int:
        with self.app.database.reading() as conn:
            return load_position(conn, self.position_name)

    async def publish_once(self) -> int:
        """Publish the next batch of notifications; return how many were published."""
        return await self._pump(batches=1)

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
        with self.app.database.writing() as conn:
            save_position(conn, self.position_name, position)


class _Acks:
    """The acks of one batch, counted as they arrive; the first failure settles it."""

    def __init__(self, position: int) -> None:
        self.position = position  # the last notification id of the batch
        self.futures: list[asyncio.Future[Any]] = []
        self.acked = 0
        self.sealed = False  # every message of the batch was handed to the client
        self.duplicate = False
        self.settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def add(self, ack: asyncio.Future[Any]) -> None:
        """Count this publish's ack in."""
        self.futures.append(ack)
        ack.add_done_callback(self._arrived)

    def _arrived(self, ack: asyncio.Future[Any]) -> None:
        error = None if ack.cancelled() else ack.exception()
        if self.settled.done():
            return
        if ack.cancelled():
            self.settled.set_exception(TimeoutError("a publish was abandoned by the NATS client"))
        elif error is not None:
            self.settled.set_exception(error)  # the later messages cannot land after it: resume
        else:
            self.duplicate = self.duplicate or ack.result().duplicate
            self.acked += 1
            if self.sealed and self.acked == len(self.futures):
                self.settled.set_result(None)

    async def wait(self) -> None:
        """Until every ack is in; raise the first failure, or when no ack came for a while."""
        self.sealed = True
        if self.acked == len(self.futures) and not self.settled.done():
            self.settled.set_result(None)
        while not self.settled.done():
            before = self.acked
            await asyncio.wait((self.settled,), timeout=ACK_STALL_SECONDS)
            if not self.settled.done() and self.acked == before:
                raise TimeoutError(f"no JetStream ack for {ACK_STALL_SECONDS} s")
        self.settled.result()

    def cancel(self) -> None:
        """Give up the acks still awaited (their publishes are abandoned)."""
        if self.settled.done():
            if not self.settled.cancelled():
                self.settled.exception()  # retrieved: it was raised, or is moot
        else:
            self.settled.cancel()
        for ack in self.futures:
            if not ack.done():
                ack.cancel()
