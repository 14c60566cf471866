"""The consumer base: a durable JetStream pull consumer applying messages exactly once.

The effect of each message and the stream sequence it came from commit in one transaction;
a redelivered message whose sequence is already recorded is acknowledged and skipped, and so
is a message whose aggregate version was already applied (the same event published twice,
e.g. beyond the stream's duplicate window). The tracking row, not the server's delivery state,
says where to resume. The durable consumer outlives the process: created when missing, updated
in place when its configuration changed, and left as it is when it has delivered exactly what
the tracking row holds. Otherwise (a crash mid-batch, a restored database, a gap in sequences
showing a message was missed) it is moved back to the tracking row's position: reset in place
(nats-server 2.14+), else deleted and created again from there. A message that cannot be
applied is retried, then parked (logged, counted), never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

import nats.errors
import sqlalchemy as sa
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy
from nats.js.errors import APIError, NotFoundError
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared.integration import Envelope, StreamContract
from shared.leadership import leadership
from shared.logs import correlation_id, trace_parent
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.persistence import (
    Database,
    load_position,
    metadata,
    now,
    parked_table,
    save_position,
    tracking_table,
)
from shared.pull import PullBatches, stream_sequence
from shared.telemetry import consumer_span, is_enabled

log = logging.getLogger(__name__)

# A durable consumer nobody pulls from for this long is deleted by the server (a service gone
# for good, a name left by a changed COOP_NATS_CONSUMER_PREFIX); a service back later creates
# it again from its tracking row.
INACTIVE_THRESHOLD = timedelta(days=7)
ACK_WAIT = 60  # seconds before an unacknowledged message is delivered again
# The configuration fields compared with a live consumer's (those set here, all updatable).
_COMPARED = ("ack_policy", "ack_wait", "max_ack_pending", "filter_subject", "inactive_threshold")

consumed_versions = sa.Table(
    "coop_consumed_versions",
    metadata,
    sa.Column("consumer", sa.String(200), primary_key=True),
    sa.Column("aggregate_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)


def forget_consumer(conn: sa.Connection, tracking_name: str) -> None:
    """Delete a consumer's tracking row and applied versions (it will start from scratch)."""
    conn.execute(sa.delete(tracking_table).where(tracking_table.c.name == tracking_name))
    conn.execute(sa.delete(consumed_versions).where(consumed_versions.c.consumer == tracking_name))


class Projection(Protocol):
    """What a consumer feeds: an idempotent side effect, then a transactional effect."""

    def prepare(self, envelope: Envelope) -> None:
        """Run outside the transaction; must be idempotent (a policy that records commands)."""

    def apply(self, conn: sa.Connection, envelope: Envelope) -> None:
        """Apply the message's effect inside the consumer's transaction."""


class Batch(Protocol):
    """Messages applied together: each in order, then written at once."""

    def apply(self, envelope: Envelope) -> None:
        """Apply one message's effect to the batch."""

    def flush(self) -> None:
        """Write the batch's effect inside the consumer's transaction."""


@runtime_checkable
class BatchProjection(Projection, Protocol):
    """A projection that applies a whole batch of messages with few statements."""

    def begin(self, conn: sa.Connection, envelopes: Sequence[Envelope]) -> Batch:
        """Read what ``envelopes`` need; they are then applied in order and flushed."""


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
        batch_lock: AbstractContextManager[Any] | None = None,
        inactive_threshold: timedelta = INACTIVE_THRESHOLD,
    ) -> None:
        self.database = database
        self.messaging = messaging
        self.contract = contract
        self.projection = projection
        self.metrics = metrics
        self.durable = durable
        # The consumer's name on NATS carries COOP_NATS_CONSUMER_PREFIX; its tracking row,
        # metrics and parked messages keep the plain name, so a new prefix loses no position.
        self.name = messaging.consumer_name(durable)
        self.tracking_name = f"{contract.stream}:{durable}"
        self.inactive_threshold = inactive_threshold
        self.batch_size = batch_size
        self.attempts = attempts
        # Held while a batch is decoded and applied: consumers sharing one keep one batch in
        # memory at a time (they would take turns at the database's write lock anyway).
        self.batch_lock = batch_lock or nullcontext()
        self._stopping = False
        self.caught_up = asyncio.Event()
        self.leadership = leadership(database, f"consumer:{self.tracking_name}")
        self._tracing = False  # whether spans are made, read once per batch
        self._parked_counted = False  # the parked rows of earlier processes are in the metric

    def stop(self) -> None:
        """Ask the loop to end after the current batch."""
        self._stopping = True

    async def run(self) -> None:
        """Consume until stopped, resuming from the tracking row after any failure."""
        delay = 0.1
        try:
            while not self._stopping:
                try:
                    await self.leadership.acquire()
                    await self._consume()
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.warning("consumer %s resumes after: %s", self.durable, error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                else:
                    delay = 0.1
        finally:
            await self.leadership.release()

    async def _consume(self) -> None:
        if not self._parked_counted:
            # The metric counts every message parked, not only since this process started.
            _, parked = await asyncio.to_thread(self._local_status)
            self.metrics.consumer_parked.labels(self.durable).inc(parked)
            self._parked_counted = True
        await self.messaging.ensure_stream(self.contract)
        js = await self.messaging.jetstream()
        position = await asyncio.to_thread(self.last_applied)
        stream_end = (await js.stream_info(self.contract.stream)).state.last_seq or 0
        if position > stream_end:
            # The stream ends before what was applied: its store was lost or restored from an
            # older copy, and its publisher sends the missing events again. Read it from the
            # start; what was already applied is skipped by aggregate version.
            log.warning(
                "consumer %s: stream %s ends at %d, before the applied position %d (a lost or "
                "restored NATS store); reading it again from the start",
                self.durable,
                self.contract.stream,
                stream_end,
                position,
            )
            position = 0
        # `fresh`: the consumer was just placed at position + 1, so its first message may be
        # further on (the stream holds nothing in between); a kept one must go on from there.
        fresh = await self._ensure_consumer(js, position)
        batches = PullBatches(await self.messaging.client(), self.contract.stream, self.name)
        await batches.start()
        try:
            while not self._stopping and await self.leadership.held():
                try:
                    messages = await batches.fetch(self.batch_size, timeout=1)
                except nats.errors.TimeoutError:
                    self.caught_up.set()
                    # A consumer gone with its stream (a lost or restored NATS store) raises
                    # here, and the consumer starts over from what the stream holds now.
                    await js.consumer_info(self.contract.stream, self.name)
                    await self._update_lag(js)
                    continue
                position = await asyncio.to_thread(self._apply_batch_in_turn, messages, fresh)
                fresh = False
                for message in messages:
                    await message.ack()
                self.metrics.consumer_applied.labels(self.durable).inc(len(messages))
        finally:
            await batches.stop()

    def _config(self, start: int) -> ConsumerConfig:
        """The consumer's configuration, delivering from stream sequence `start`."""
        return ConsumerConfig(
            durable_name=self.name,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ACK_WAIT,
            max_ack_pending=self.batch_size * 4,
            filter_subject=self.contract.subjects[0],
            inactive_threshold=self.inactive_threshold.total_seconds(),
        )

    async def _ensure_consumer(self, js: JetStreamContext, position: int) -> bool:
        """Make the durable consumer deliver what follows `position`, keeping it when it can.

        True when it was created or moved to `position` + 1; False when it was kept as it was
        (it had delivered exactly up to `position`).
        """
        stream, wanted = self.contract.stream, self._config(position + 1)
        try:
            info = await js.consumer_info(stream, self.name)
        except NotFoundError:
            await js.add_consumer(stream, wanted)
            log.info("consumer %s created on %s at %d", self.name, stream, position + 1)
            return True
        if any(getattr(info.config, f) != getattr(wanted, f) for f in _COMPARED):
            # Updated in place: where it starts is not updatable, so it keeps its own.
            kept = replace(
                wanted,
                deliver_policy=info.config.deliver_policy,
                opt_start_seq=info.config.opt_start_seq,
            )
            try:
                info = await js.add_consumer(stream, kept)
                log.info("consumer %s on %s updated in place", self.name, stream)
            except APIError as error:
                log.warning("consumer %s cannot be updated (%s); created again", self.name, error)
                await self._recreate(js, wanted)
                return True
        if info.delivered.stream_seq == position:
            return False
        log.info(
            "consumer %s delivered up to %d, the tracking row holds %d: moved back there",
            self.name,
            info.delivered.stream_seq,
            position,
        )
        if await self._reset(js, info, position + 1):
            return True
        await self._recreate(js, wanted)
        return True

    async def _reset(self, js: JetStreamContext, info: ConsumerInfo, start: int) -> bool:
        """Move the consumer to stream sequence `start` in place, when the server can."""
        version = (await self.messaging.client()).connected_server_version
        first = info.config.opt_start_seq or 1
        if info.config.deliver_policy not in (DeliverPolicy.ALL, DeliverPolicy.BY_START_SEQUENCE):
            return False
        if (version.major, version.minor) < (2, 14) or start < first:
            return False  # CONSUMER.RESET came with nats-server 2.14; none before the start
        try:
            await js.reset_consumer(self.contract.stream, self.name, start)
        except APIError as error:
            log.warning("consumer %s cannot be reset (%s)", self.name, error)
            return False
        return True

    async def _recreate(self, js: JetStreamContext, config: ConsumerConfig) -> None:
        """Delete the consumer and create it again with `config`."""
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(self.contract.stream, self.name)
        await js.add_consumer(self.contract.stream, config)

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

    def _span(self, step: str, envelope: Envelope, message: Msg) -> AbstractContextManager[None]:
        """The span of one message's step, when tracing is on."""
        if not self._tracing:
            return nullcontext()
        return consumer_span(f"{step} {envelope.event_type}", message.headers)

    def _apply_batch_in_turn(self, messages: Sequence[Msg], fresh: bool) -> int:
        with self.batch_lock:
            return self._apply_batch(messages, fresh)

    def _apply_batch(self, messages: Sequence[Msg], fresh: bool) -> int:
        self._tracing = is_enabled()
        decoded = [(m, *self._decode(m)) for m in messages]
        aggregates = {e.aggregate_id for _, e, _ in decoded if e is not None}
        with self.database.reading() as conn:
            position = load_position(conn, self.tracking_name)
            applied = self._applied_versions(conn, aggregates)
        pending: list[tuple[int, Msg, Envelope | None, str | None]] = []
        expected = position + 1
        for message, envelope, error in decoded:
            sequence = stream_sequence(message)
            if sequence <= position:
                continue
            if sequence != expected and not (fresh and not pending):
                raise SequenceGap(f"expected {expected}, got {sequence}")
            expected = sequence + 1
            if envelope is not None:
                if envelope.aggregate_version <= applied.get(envelope.aggregate_id, 0):
                    envelope = None  # the same event again: nothing to do
                else:
                    error = self._prepare_with_retries(envelope, message)
                    if error is not None:
                        envelope = None
            pending.append((sequence, message, envelope, error))
        if not pending:
            return position
        with self.database.writing() as conn:
            if load_position(conn, self.tracking_name) != position:
                raise SequenceGap("another instance moved this consumer")
            try:
                with conn.begin_nested():
                    done, parked = self._apply_pending(conn, pending, applied, isolate=False)
            except sa.exc.OperationalError:
                raise  # the database itself is failing: retry the whole batch later
            except Exception:
                # A message of the batch fails: halve the batch until it stands alone, parked.
                middle = len(pending) // 2
                done, parked = self._apply_halving(conn, pending[:middle], applied)
                done, more = self._apply_halving(conn, pending[middle:], done)
                parked += more
            self._record_versions(conn, done, aggregates)
            position = pending[-1][0]
            save_position(conn, self.tracking_name, position)
        if parked:
            self.metrics.consumer_parked.labels(self.durable).inc(parked)
        return position

    def _apply_halving(
        self,
        conn: sa.Connection,
        pending: list[tuple[int, Msg, Envelope | None, str | None]],
        applied: dict[str, int],
    ) -> tuple[dict[str, int], int]:
        """Apply part of a batch that failed: whole when it can, else each half in turn.

        A poison message among n is found in about 2·log2(n) batch applications instead of n
        single ones (tests/faults/test_poison_messages.py measures it), and only the message
        that fails alone is retried and parked.
        """
        if len(pending) <= 1:
            return self._apply_pending(conn, pending, applied, isolate=True)
        try:
            with conn.begin_nested():
                return self._apply_pending(conn, pending, applied, isolate=False)
        except sa.exc.OperationalError:
            raise  # the database itself is failing: retry the whole batch later
        except Exception:
            middle = len(pending) // 2
            done, parked = self._apply_halving(conn, pending[:middle], applied)
            done, more = self._apply_halving(conn, pending[middle:], done)
            return done, parked + more

    def _apply_pending(
        self,
        conn: sa.Connection,
        pending: list[tuple[int, Msg, Envelope | None, str | None]],
        applied: dict[str, int],
        *,
        isolate: bool,
    ) -> tuple[dict[str, int], int]:
        """Apply a batch in order; with `isolate`, each message alone, parking failures.

        Returns the aggregate versions now applied and how many messages were parked.
        """
        done = dict(applied)
        parked = 0
        batch = None
        if not isolate and isinstance(self.projection, BatchProjection):
            batch = self.projection.begin(conn, [e for _, _, e, _ in pending if e is not None])
        for sequence, message, envelope, error in pending:
            if envelope is not None:
                if envelope.aggregate_version <= done.get(envelope.aggregate_id, 0):
                    continue  # applied earlier in this batch
                correlation_id.set(envelope.correlation_id)
                trace_parent.set((message.headers or {}).get("traceparent"))
                if isolate:
                    error = self._apply_with_retries(conn, envelope, message)
                else:
                    with self._span("apply", envelope, message):
                        if batch is None:
                            self.projection.apply(conn, envelope)
                        else:
                            batch.apply(envelope)
                if error is None:
                    done[envelope.aggregate_id] = envelope.aggregate_version
            if error is not None:
                self._park(conn, sequence, message.subject, error)
                parked += 1
        if batch is not None:
            batch.flush()
        return done, parked

    def _applied_versions(self, conn: sa.Connection, aggregates: set[str]) -> dict[str, int]:
        if not aggregates:
            return {}
        table = consumed_versions
        rows = conn.execute(
            sa.select(table.c.aggregate_id, table.c.version).where(
                table.c.consumer == self.tracking_name, table.c.aggregate_id.in_(aggregates)
            )
        )
        return {row.aggregate_id: row.version for row in rows}

    def _record_versions(
        self, conn: sa.Connection, applied: dict[str, int], aggregates: set[str]
    ) -> None:
        rows = [
            {"consumer": self.tracking_name, "aggregate_id": a, "version": applied[a]}
            for a in aggregates
            if a in applied
        ]
        if not rows:
            return
        dialect = sqlite_insert if self.database.is_sqlite else postgresql_insert
        statement = dialect(consumed_versions)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["consumer", "aggregate_id"],
                set_={"version": statement.excluded.version},
            ),
            rows,
        )

    def _decode(self, message: Msg) -> tuple[Envelope | None, str | None]:
        try:
            envelope = Envelope.model_validate_json(message.data)
            return self.contract.upcast(envelope), None
        except (ValueError, ValidationError, KeyError) as error:
            return None, f"undecodable message: {error}"

    def _prepare_with_retries(self, envelope: Envelope, message: Msg) -> str | None:
        error: Exception | None = None
        for _ in range(self.attempts):
            try:
                with self._span("prepare", envelope, message):
                    self.projection.prepare(envelope)
                return None
            except sa.exc.OperationalError:
                raise  # the database itself is failing: retry the whole batch later
            except Exception as caught:
                error = caught
        return f"{type(error).__name__}: {error}"

    def _apply_with_retries(
        self, conn: sa.Connection, envelope: Envelope, message: Msg
    ) -> str | None:
        error: Exception | None = None
        for _ in range(self.attempts):
            try:
                with (
                    self._span("apply", envelope, message),
                    conn.begin_nested(),
                ):
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
