"""The NATS JetStream connection every service keeps, and the streams of the contract."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.errors import BadRequestError

from shared.integration import StreamContract

log = logging.getLogger(__name__)

DUPLICATE_WINDOW = timedelta(minutes=2)


class Messaging:
    """A NATS connection that keeps reconnecting, so the service runs while NATS is down."""

    def __init__(
        self, url: str, *, name: str, replicas: int = 1, consumer_prefix: str = ""
    ) -> None:
        self.url = url
        self.name = name
        self.replicas = replicas
        self.consumer_prefix = consumer_prefix
        self._nc: Client | None = None
        self._connected = asyncio.Event()

    def consumer_name(self, durable: str) -> str:
        """A durable consumer's name on NATS: `COOP_NATS_CONSUMER_PREFIX`, then its own."""
        return f"{self.consumer_prefix}{durable}"

    @property
    def servers(self) -> list[str]:
        """The server URLs: `COOP_NATS_URL` may list a cluster's nodes, comma-separated."""
        return [url.strip() for url in self.url.split(",") if url.strip()]

    @property
    def is_connected(self) -> bool:
        """True while the connection is up."""
        return self._nc is not None and self._nc.is_connected

    async def reachable(self, timeout: float = 1.0) -> bool:
        """True when JetStream answers a request in time (a frozen or cut-off server does not).

        A request, not `flush`: a flush that times out leaves a cancelled PONG future behind,
        and nats-py's read loop dies on the late PONG, leaving a connection that never recovers.
        """
        if self._nc is None or not self._nc.is_connected:
            return False
        try:
            await self._nc.jetstream(timeout=timeout).account_info()
        except Exception:
            return False
        return True

    async def connect(self) -> None:
        """Connect in the background, retrying until NATS answers."""
        delay = 0.1
        while self._nc is None:
            try:
                self._nc = await nats.connect(
                    self.servers,
                    name=self.name,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    error_cb=self._on_error,
                )
                self._connected.set()
            except Exception as error:  # NATS not reachable yet: keep trying.
                log.warning("NATS not reachable at %s (%s); retrying", self.url, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _on_error(self, error: Exception) -> None:
        log.debug("NATS: %s", error)

    async def client(self) -> Client:
        """The NATS connection, once connected."""
        await self._connected.wait()
        assert self._nc is not None
        return self._nc

    async def jetstream(self) -> JetStreamContext:
        """The JetStream context, once connected."""
        await self._connected.wait()
        assert self._nc is not None
        return self._nc.jetstream(timeout=5)

    async def ensure_stream(self, contract: StreamContract) -> StreamInfo:
        """Create (or bring up to date) the contract's stream: file store, no age limit,
        atomic batch publishing allowed (the outbox relay publishes its batches that way), and
        no message deleted nor the stream purged through the API: the streams are the history
        projections replay."""
        js = await self.jetstream()
        config = StreamConfig(
            name=contract.stream,
            subjects=contract.subjects,
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            max_age=0,
            duplicate_window=DUPLICATE_WINDOW.total_seconds(),
            num_replicas=self.replicas,
            allow_atomic=True,
            deny_delete=True,
            deny_purge=True,
        )
        try:
            return await js.add_stream(config)
        except BadRequestError:
            return await js.update_stream(config)

    async def close(self) -> None:
        """Drain and close the connection."""
        if self._nc is not None and not self._nc.is_closed:
            try:
                await asyncio.wait_for(self._nc.drain(), 5)
            except Exception:
                await self._nc.close()
