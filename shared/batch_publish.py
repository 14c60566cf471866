"""Publishing batches of messages on a JetStream stream, each landing after the one before.

Two ways, both leaving the stream with an unbroken prefix of what was sent:

- **Atomic batches** (nats-server 2.12 and newer, streams with `allow_atomic`): the messages carry
  `Nats-Batch-Id` and `Nats-Batch-Sequence`; the last one also carries `Nats-Batch-Commit` and
  asks for the only reply. The stream stores the whole batch, under one lock, or none of it: a
  message lost on the way, a duplicate `Nats-Msg-Id` or a `Nats-Expected-Last-Sequence` that no
  longer holds (checked at the commit) refuses the whole batch. A batch can be staged (every
  message but the last sent) and committed later, once the batch before it has landed. One
  ack per batch: the way for throughput.
- **Chained messages**: each message is an ordinary publish naming its predecessor's
  `Nats-Msg-Id` in `Nats-Expected-Last-Msg-Id`, which JetStream checks against the stream's last
  message: a message lost, refused or overtaken by another publisher's message makes every later
  one refused. An ack per message, each in a fraction of an atomic batch's: the way for latency
  when a few messages are to go.

The replies of every batch come to one wildcard subscription, as in `shared/pull.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections.abc import Sequence
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

MAX_MESSAGES = 1000  # nats-server's limit on the messages of one atomic batch
YIELD_EVERY = 100  # messages handed to the client between two turns of the event loop
Message = tuple[str, bytes, dict[str, str]]  # subject, body, headers


class BatchRefused(Exception):
    """JetStream refused a batch, or a message of a chain and so every later one."""

    def __init__(self, error: dict[str, object]) -> None:
        self.err_code = error.get("err_code")
        super().__init__(f"{error.get('description')} (JetStream error {self.err_code})")


class StagedBatch:
    """An atomic batch whose messages but the last were sent: committing sends the last one."""

    def __init__(self, publisher: BatchPublisher, last: Message) -> None:
        self._publisher = publisher
        self._last = last

    async def commit(self) -> asyncio.Future[int]:
        """Send the last message with `Nats-Batch-Commit`; the future gives the ack's sequence."""
        self._last[2]["Nats-Batch-Commit"] = "1"
        acks = self._publisher._awaiting(1)
        await self._publisher._publish([self._last], acks)
        return acks.future


class _Awaited:
    """The acks a batch still waits for; the first refusal settles it."""

    def __init__(self, future: asyncio.Future[int], count: int) -> None:
        self.future = future
        self.left = count
        self.last_seq = 0

    def answered(self, answer: dict[str, Any] | None, data: bytes) -> None:
        if self.future.done():
            return
        if answer is None:
            self.future.set_exception(BatchRefused({"description": f"unreadable ack {data!r}"}))
        elif "error" in answer:
            self.future.set_exception(BatchRefused(answer["error"]))
        elif answer.get("duplicate"):  # not stored again: the chain behind it cannot follow
            self.future.set_exception(BatchRefused({"description": "duplicate message id"}))
        else:
            self.last_seq = max(self.last_seq, int(answer["seq"]))
            self.left -= 1
            if not self.left:
                self.future.set_result(self.last_seq)


class BatchPublisher:
    """Publishes batches on one connection; each batch resolves to its last stream sequence."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self._prefix = nc.new_inbox()
        self._numbers = itertools.count(1)
        self._pending: dict[str, _Awaited] = {}
        self._subscription: Subscription | None = None

    async def send(self, messages: Sequence[Message], after: int | None) -> asyncio.Future[int]:
        """Send one atomic batch; its future gives the stream sequence of its last message.

        `after`: the stream's last sequence the batch must follow (None: wherever the stream is).
        """
        return await (await self.stage(messages, after)).commit()

    async def stage(self, messages: Sequence[Message], after: int | None) -> StagedBatch:
        """Hand an atomic batch's messages but the last to the client: the server holds them,
        unstored, until the batch is committed (or abandons them after 10 s without one)."""
        if not 0 < len(messages) <= MAX_MESSAGES:
            raise ValueError(f"an atomic batch holds 1 to {MAX_MESSAGES} messages")
        batch_id = uuid.uuid4().hex
        for number, (_, _, headers) in enumerate(messages, 1):
            headers["Nats-Batch-Id"] = batch_id
            headers["Nats-Batch-Sequence"] = str(number)
        if after is not None:
            messages[0][2]["Nats-Expected-Last-Sequence"] = str(after)
        await self._publish(messages[:-1], None)
        return StagedBatch(self, messages[-1])

    async def chain(self, messages: Sequence[Message], previous: str) -> asyncio.Future[int]:
        """Send messages one by one, each naming the `Nats-Msg-Id` before it (the first names
        `previous`, the stream's last message); the future gives the last one's sequence."""
        if not messages:
            raise ValueError("a chain holds at least one message")
        for _, _, headers in messages:
            headers["Nats-Expected-Last-Msg-Id"] = previous
            previous = headers["Nats-Msg-Id"]
        acks = self._awaiting(len(messages))
        await self._publish(messages, acks)
        return acks.future

    def _awaiting(self, count: int) -> _Awaited:
        return _Awaited(asyncio.get_running_loop().create_future(), count)

    async def _publish(self, messages: Sequence[Message], acks: _Awaited | None) -> None:
        """Publish; with `acks`, each message asks for its reply, counted there."""
        if acks is not None and self._subscription is None:
            self._subscription = await self._nc.subscribe(f"{self._prefix}.*", cb=self._replied)
        reply = ""
        for number, (subject, body, headers) in enumerate(messages, 1):
            if acks is not None:
                reply = f"{self._prefix}.{next(self._numbers)}"
                self._pending[reply] = acks
            await self._nc.publish(subject, body, reply, headers)
            if number % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the client write this chunk and the loop breathe

    async def _replied(self, msg: Msg) -> None:
        acks = self._pending.pop(msg.subject, None)
        if acks is None:
            return
        try:
            answer = json.loads(msg.data)
        except ValueError:
            answer = None
        acks.answered(answer if isinstance(answer, dict) else None, msg.data)

    def forget(self, acked: asyncio.Future[int]) -> None:
        """Stop waiting for a batch's acks (given up after a timeout or a failure before it)."""
        for reply, acks in list(self._pending.items()):
            if acks.future is acked:
                del self._pending[reply]
        if not acked.done():
            acked.cancel()
        elif not acked.cancelled():
            acked.exception()  # retrieved: the batch failed, which the caller already handles

    async def close(self) -> None:
        """Unsubscribe; acks still awaited are abandoned."""
        for acks in self._pending.values():
            if not acks.future.done():
                acks.future.cancel()
        self._pending.clear()
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None
