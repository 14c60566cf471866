"""Batches of a durable JetStream pull consumer, gathered by one subscription's callback.

nats-py's ``fetch`` waits for every message of a batch with a task and a timer of its own, which
costs more than applying the message. Here each pull request (the JetStream API's
``CONSUMER.MSG.NEXT``) names a reply inbox of its own under one wildcard subscription, whose
callback only appends messages to a buffer and notes when the current request is over (its
batch delivered, or a status: no messages, expired, too many pending).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

STATUS = "Status"
HEARTBEAT = "100"
# $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>
_V1_ACK_TOKENS = 9


def stream_sequence(message: Msg) -> int:
    """A JetStream message's stream sequence, read from its ack subject (cheaper than
    ``message.metadata``, which parses every field)."""
    tokens = (message.reply or "").split(".")
    index = 5 if len(tokens) == _V1_ACK_TOKENS else Msg.Ack.StreamSeq
    return int(tokens[index])


class PullBatches:
    """Fetches batches of one durable pull consumer, in delivery order."""

    def __init__(self, nc: Client, stream: str, durable: str) -> None:
        self._nc = nc
        self._next = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._prefix = nc.new_inbox()
        self._subscription: Subscription | None = None
        self._buffer: list[Msg] = []
        self._request = 0  # the number of the latest request
        self._wanted = 0  # how many messages it asked for
        self._delivered = 0  # how many it brought so far
        self._over = asyncio.Event()  # the latest request is complete
        self._answered = asyncio.Event()  # a message came in, or the latest request ended

    async def start(self) -> None:
        """Subscribe to the replies of every request."""
        self._subscription = await self._nc.subscribe(f"{self._prefix}.*", cb=self._received)

    async def stop(self) -> None:
        """Unsubscribe; messages not fetched yet are redelivered after their ack wait."""
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None

    async def _received(self, message: Msg) -> None:
        status = message.headers.get(STATUS) if message.headers else None
        if status is None:
            # A message (of the latest request, or of an earlier one still waiting).
            self._buffer.append(message)
            self._answered.set()
            self._delivered += 1
            if self._delivered >= self._wanted:
                self._over.set()
        elif status != HEARTBEAT and message.subject == f"{self._prefix}.{self._request}":
            self._over.set()  # the latest request ends: no messages, expired, too many pending
            self._answered.set()

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:
        """Up to ``batch`` messages: those available now, else the first to come within
        ``timeout`` (then ``nats.errors.TimeoutError``)."""
        if not self._buffer:
            await self._ask(batch, {"no_wait": True})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._over.wait(), timeout)
        if not self._buffer:
            # Nothing now: a request that waits on the server for the next messages.
            self._answered.clear()
            await self._ask(batch, {"expires": int(timeout * 1e9)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._answered.wait(), timeout)
            await asyncio.sleep(0)  # whatever came with the first message
        if not self._buffer:
            raise nats.errors.TimeoutError
        taken, self._buffer = self._buffer[:batch], self._buffer[batch:]
        return taken

    async def _ask(self, batch: int, options: dict[str, object]) -> None:
        self._request += 1
        self._wanted, self._delivered = batch, 0
        self._over.clear()
        request = json.dumps({"batch": batch, **options}).encode()
        await self._nc.publish(self._next, request, reply=f"{self._prefix}.{self._request}")
