"""The outbox relay: the service's notification log, in commit order, onto its JetStream stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
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
from shared.telemetry import publish_span

log = logging.getLogger(__name__)

NOTIFICATION_HEADER = "Coop-Notification-Id"
# JetStream stores a message only when the stream's last message is the one named here: a
# pipelined message never lands after a predecessor lost with a broken connection.
EXPECTED_LAST_MSG_ID = "Nats-Expected-Last-Msg-Id"
ACK_STALL_SECONDS = 5.0  # a batch is given up when no ack came for this long
RECONCILE_LIMIT = 10_000  # at most this many of its messages are checked for gaps at start
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
                        if not await self.publish_once():
                            self._wakeup.clear()
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
        js = await self.messaging.jetstream()
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
        acks = []
        for notification in notifications:
            message = self._message(notification, contexts)
            if message is None:
                continue
            subject, body, headers = message
            if chained and previous is not None:
                headers[EXPECTED_LAST_MSG_ID] = previous
            previous = headers["Nats-Msg-Id"]
            acks.append(await js.publish_async(subject, body, headers=headers, wait_stall=5))
        if not acks:
            return 0
        self._chained = False  # the stream's last message is unknown until every ack is in
        waiting = set(acks)
        try:
            while waiting:
                done, waiting = await asyncio.wait(
                    waiting, timeout=ACK_STALL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    raise TimeoutError(f"no JetStream ack for {ACK_STALL_SECONDS} s")
                if any(ack.cancelled() for ack in done):
                    raise TimeoutError("a publish was abandoned by the NATS client")
                errors = [ack.exception() for ack in done if ack.exception() is not None]
                if errors:
                    raise errors[0]  # the later messages cannot land after it: resume
        finally:
            for ack in waiting:
                ack.cancel()
        if chained and not any(ack.result().duplicate for ack in acks):
            self._chained, self._last_msg_id = True, previous
        elif chained:
            await self._learn_last_msg_id(
                js, (await js.stream_info(self.contract.stream)).state.last_seq
            )
        return len(acks)

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
        notifications = await asyncio.to_thread(
            self.app.recorder.select_notifications, self.position + 1, self.batch_size
        )
        if not notifications:
            self.metrics.relay_lag.set(0)
            return 0
        js = await self.messaging.jetstream()
        published = await self._publish(js, notifications)
        self.position = notifications[-1].id
        await asyncio.to_thread(self._save_position, self.position)
        self.metrics.relay_published.inc(published)
        self.metrics.relay_lag.set(
            max(
                0,
                (await asyncio.to_thread(self.app.recorder.max_notification_id) or 0)
                - self.position,
            )
        )
        return len(notifications)

    def _message(
        self, notification: Notification, contexts: dict[tuple[str, int], sa.Row[Any]]
    ) -> tuple[str, bytes, dict[str, str]] | None:
        domain_event: Any = self.app.mapper.to_domain_event(notification)
        mapped = self.to_integration(domain_event)
        if mapped is None:
            return None
        event_type, data = mapped
        aggregate_id = str(notification.originator_id)
        version = notification.originator_version
        event_id = event_id_for(aggregate_id, version)
        context = contexts.get((aggregate_id, version))
        envelope = {
            "event_id": event_id,
            "event_type": event_type,
            "schema_version": self.contract.versions.get(event_type, 1),
            "aggregate_id": aggregate_id,
            "aggregate_version": version,
            "occurred_at": rfc3339(domain_event.timestamp),
            "correlation_id": context.correlation_id if context else event_id,
            "causation_id": context.causation_id if context else None,
            "data": data,
        }
        headers = {"Nats-Msg-Id": event_id, NOTIFICATION_HEADER: str(notification.id)}
        traceparent = publish_span(context.traceparent if context else None, event_type)
        if traceparent:
            headers["traceparent"] = traceparent
        body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
        return self.contract.subject(event_type), body, headers

    def _contexts(self, notifications: Sequence[Notification]) -> dict[tuple[str, int], Any]:
        ids = sorted({str(n.originator_id) for n in notifications})
        table = event_context_table
        with self.app.database.reading() as conn:
            rows = conn.execute(sa.select(table).where(table.c.originator_id.in_(ids))).all()
        return {(row.originator_id, row.originator_version): row for row in rows}

    def _save_position(self, position: int) -> None:
        with self.app.database.writing() as conn:
            save_position(conn, self.position_name, position)
