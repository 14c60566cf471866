"""JetStream atomic batch publishing (nats-server 2.12 and newer, streams with `allow_atomic`).

A batch's messages carry `Nats-Batch-Id` and `Nats-Batch-Sequence`; the last one also carries
`Nats-Batch-Commit`, and only it asks for a reply: the stream stores the whole batch, under one
lock, or none of it. A message lost on the way, a duplicate `Nats-Msg-Id` or a
`Nats-Expected-Last-Sequence` that no longer holds (checked at the commit) refuses the whole batch.
A batch can be staged (every message but the last sent) and committed later, once the batch
before it is known to have landed. The replies of every batch come to one wildcard
subscription, as in `shared/pull.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections.abc import Sequence

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

MAX_MESSAGES = 1000  # nats-server's limit on the messages of one atomic batch
YIELD_EVERY = 100  # messages handed to the client between two turns of the event loop
Message = tuple[str, bytes, dict[str, str]]  # subject, body, headers


class BatchRefused(Exception):
    """JetStream refused a batch; none of its messages is on the stream."""

    def __init__(self, error: dict[str, object]) -> None:
        self.err_code = error.get("err_code")
        super().__init__(f"{error.get('description')} (JetStream error {self.err_code})")


class StagedBatch:
    """A batch whose messages but the last were sent: committing sends the last one."""

    def __init__(self, batches: AtomicBatches, last: Message) -> None:
        self._batches = batches
        self._last = last

    async def commit(self) -> asyncio.Future[int]:
        """Send the last message with `Nats-Batch-Commit`; the future gives the ack's sequence."""
        return await self._batches._commit(self._last)


class AtomicBatches:
    """Publishes atomic batches on one connection; each batch resolves to its last sequence."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self._prefix = nc.new_inbox()
        self._numbers = itertools.count(1)
        self._pending: dict[str, asyncio.Future[int]] = {}
        self._subscription: Subscription | None = None

    async def send(self, messages: Sequence[Message], after: int | None) -> asyncio.Future[int]:
        """Hand one batch to the client; its future gives the stream sequence of its last message.

        `after`: the stream's last sequence the batch must follow (None: wherever the stream is).
        """
        return await (await self.stage(messages, after)).commit()

    async def stage(self, messages: Sequence[Message], after: int | None) -> StagedBatch:
        """Hand a batch's messages but the last to the client: the server holds them, unstored,
        until the batch is committed (or abandons them after 10 s without one)."""
        if not 0 < len(messages) <= MAX_MESSAGES:
            raise ValueError(f"an atomic batch holds 1 to {MAX_MESSAGES} messages")
        batch_id = uuid.uuid4().hex
        for number, (_, _, headers) in enumerate(messages, 1):
            headers["Nats-Batch-Id"] = batch_id
            headers["Nats-Batch-Sequence"] = str(number)
        if after is not None:
            messages[0][2]["Nats-Expected-Last-Sequence"] = str(after)
        for number, (subject, body, headers) in enumerate(messages[:-1], 1):
            await self._nc.publish(subject, body, "", headers)
            if number % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the client write this chunk and the loop breathe
        return StagedBatch(self, messages[-1])

    async def _commit(self, last: Message) -> asyncio.Future[int]:
        if self._subscription is None:
            self._subscription = await self._nc.subscribe(f"{self._prefix}.*", cb=self._replied)
        reply = f"{self._prefix}.{next(self._numbers)}"
        acked = self._pending[reply] = asyncio.get_running_loop().create_future()
        subject, body, headers = last
        headers["Nats-Batch-Commit"] = "1"
        await self._nc.publish(subject, body, reply, headers)
        return acked

    async def _replied(self, msg: Msg) -> None:
        acked = self._pending.pop(msg.subject, None)
        if acked is None or acked.done():
            return
        try:
            answer = json.loads(msg.data)
        except ValueError:
            acked.set_exception(BatchRefused({"description": f"unreadable ack {msg.data!r}"}))
            return
        if "error" in answer:
            acked.set_exception(BatchRefused(answer["error"]))
        else:
            acked.set_result(int(answer["seq"]))

    def forget(self, acked: asyncio.Future[int]) -> None:
        """Stop waiting for a batch's ack (given up after a timeout or a failure before it)."""
        for reply, pending in list(self._pending.items()):
            if pending is acked:
                del self._pending[reply]
        if not acked.done():
            acked.cancel()
        elif not acked.cancelled():
            acked.exception()  # retrieved: the batch failed, which the caller already handles

    async def close(self) -> None:
        """Unsubscribe; acks still awaited are abandoned."""
        for acked in self._pending.values():
            acked.cancel()
        self._pending.clear()
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None
