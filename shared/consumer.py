"""The consumer base: a durable JetStream pull consumer applying messages exactly once.

The effect of each message and the stream sequence it came from commit in one transaction;
a redelivered message whose sequence is already recorded is acknowledged and skipped. The
tracking row, not the server's delivery state, says where to resume: the durable consumer is
re-created from it at start and whenever a gap in sequences shows a message was missed. A
message that cannot be applied is retried, then parked (logged, counted), never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import nats.errors
import sqlalchemy as sa
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from shared.integration import Envelope, StreamContract
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.persistence import Database, load_position, now, parked_table, save_position
from shared.telemetry import consumer_span

log = logging.getLogger(__name__)


class Projection(Protocol):
    """What a consumer feeds: an idempotent side effect, then a transactional effect."""

    def prepare(self, envelope: Envelope) -> None:
        """Run outside the transaction; must be idempotent (a policy that records commands)."""

    def apply(self, conn: sa.Connection, envelope: Envelope) -> None:
        """Apply the message's effect inside the consumer's transaction."""


class SequenceGap(Exception):
    """A message arrived after a gap in the stream's sequence: resume from the tracking row."""


@dataclass
class ConsumerStatus:
    """Where a consumer stands on its stream."""

    last_applied: int
    stream_last_sequence: int
    parked: int

    @property
    def lag(self) -> int:
        """Messages on the stream not applied yet."""
        return max(0, self.stream_last_sequence - self.last_applied)


class StreamConsumer:
    """Feeds one stream into one projection, exactly once and in order."""

    def __init__(
        self,
        database: Database,
        messaging: Messaging,
        contract: StreamContract,
        projection: Projection,
        metrics: ServiceMetrics,
        *,
        durable: str,
        batch_size: int = 500,
        attempts: int = 3,
    ) -> None:
        self.database = database
        self.messaging = messaging
        self.contract = contract
        self.projection = projection
        self.metrics = metrics
        self.durable = durable
        self.tracking_name = f"{contract.stream}:{durable}"
        self.batch_size = batch_size
        self.attempts = attempts
        self._stopping = False
        self.caught_up = asyncio.Event()

    def stop(self) -> None:
        """Ask the loop to end after the current batch."""
        self._stopping = True

    async def run(self) -> None:
        """Consume until stopped, resuming from the tracking row after any failure."""
        delay = 0.1
        while not self._stopping:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("consumer %s resumes after: %s", self.durable, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                delay = 0.1

    async def _consume(self) -> None:
        await self.messaging.ensure_stream(self.contract)
        js = await self.messaging.jetstream()
        position = await asyncio.to_thread(self.last_applied)
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(self.contract.stream, self.durable)
        config = ConsumerConfig(
            durable_name=self.durable,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=position + 1,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=60,
            max_ack_pending=self.batch_size * 4,
            filter_subject=self.contract.subjects[0],
        )
        subscription = await js.pull_subscribe(
            self.contract.subjects[0],
            durable=self.durable,
            stream=self.contract.stream,
            config=config,
        )
        fresh = True
        try:
            while not self._stopping:
                try:
                    messages = await subscription.fetch(self.batch_size, timeout=1)
                except nats.errors.TimeoutError:
                    self.caught_up.set()
                    await self._update_lag(js)
                    continue
                position = await asyncio.to_thread(self._apply_batch, messages, fresh)
                fresh = False
                for message in messages:
                    await message.ack()
                self.metrics.consumer_applied.labels(self.durable).inc(len(messages))
        finally:
            await subscription.unsubscribe()

    async def _update_lag(self, js: Any) -> None:
        try:
            info = await js.stream_info(self.contract.stream)
            applied = await asyncio.to_thread(self.last_applied)
            self.metrics.consumer_lag.labels(self.durable).set(
                max(0, info.state.last_seq - applied)
            )
        except Exception:
            pass

    def last_applied(self) -> int:
        """The last stream sequence applied."""
        with self.database.reading() as conn:
            return load_position(conn, self.tracking_name)

    def _apply_batch(self, messages: Sequence[Msg], fresh: bool) -> int:
        with self.database.reading() as conn:
            position = load_position(conn, self.tracking_name)
        pending: list[tuple[int, Msg, Envelope | None, str | None]] = []
        expected = position + 1
        for message in messages:
            sequence = message.metadata.sequence.stream
            if sequence <= position:
                continue
            if sequence != expected and not (fresh and not pending):
                raise SequenceGap(f"expected {expected}, got {sequence}")
            expected = sequence + 1
            envelope, error = self._decode(message)
            if envelope is not None:
                with consumer_span(f"apply {envelope.event_type}", message.headers):
                    self.projection.prepare(envelope)
            pending.append((sequence, message, envelope, error))
        if not pending:
            return position
        with self.database.writing() as conn:
            if load_position(conn, self.tracking_name) != position:
                raise SequenceGap("another instance moved this consumer")
            for sequence, message, envelope, error in pending:
                if envelope is not None:
                    error = self._apply_with_retries(conn, envelope, message)
                if error is not None:
                    self._park(conn, sequence, message.subject, error)
            position = pending[-1][0]
            save_position(conn, self.tracking_name, position)
        return position

    def _decode(self, message: Msg) -> tuple[Envelope | None, str | None]:
        try:
            envelope = Envelope.model_validate(json.loads(message.data))
            return self.contract.upcast(envelope), None
        except (ValueError, ValidationError, KeyError) as error:
            return None, f"undecodable message: {error}"

    def _apply_with_retries(
        self, conn: sa.Connection, envelope: Envelope, message: Msg
    ) -> str | None:
        error: Exception | None = None
        for _ in range(self.attempts):
            try:
                with conn.begin_nested():
                    self.projection.apply(conn, envelope)
                return None
            except sa.exc.OperationalError:
                raise  # the database itself is failing: retry the whole batch later
            except Exception as caught:
                error = caught
        return f"{type(error).__name__}: {error}"

    def _park(self, conn: sa.Connection, sequence: int, subject: str, error: str) -> None:
        log.error("consumer %s parked %s #%d: %s", self.durable, subject, sequence, error)
        conn.execute(
            sa.insert(parked_table).values(
                consumer=self.durable,
                stream_sequence=sequence,
                subject=subject,
                error=error[:2000],
                parked_at=now(),
            )
        )
        self.metrics.consumer_parked.labels(self.durable).inc()

    async def status(self) -> ConsumerStatus:
        """Last applied sequence, the stream's last sequence and the parked count."""
        applied, parked = await asyncio.to_thread(self._local_status)
        last = applied
        try:
            js = await self.messaging.jetstream()
            info = await asyncio.wait_for(js.stream_info(self.contract.stream), 2)
            last = info.state.last_seq
        except Exception:
            pass
        return ConsumerStatus(applied, last, parked)

    def _local_status(self) -> tuple[int, int]:
        with self.database.reading() as conn:
            applied = load_position(conn, self.tracking_name)
            parked = conn.execute(
                sa.select(sa.func.count())
                .select_from(parked_table)
                .where(parked_table.c.consumer == self.durable)
            ).scalar_one()
        return applied, int(parked)
