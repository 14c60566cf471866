"""Running one service: its NATS connection, background followers and HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI

from shared.errors import ConfigurationError
from shared.http import Edge, FailedAuthLimiter, create_api, sweep_idempotency_records
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.persistence import Database
from shared.settings import ServiceSettings, installation_secret

log = logging.getLogger(__name__)

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
IDEMPOTENCY_SWEEP_SECONDS = 600.0


@dataclass
class Service:
    """One service's running parts, put together by its composition root."""

    settings: ServiceSettings
    database: Database
    messaging: Messaging
    workers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    stoppers: list[Callable[[], None]] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)
    api: FastAPI | None = None
    _tasks: list[asyncio.Future[Any]] = field(default_factory=list)

    async def ready(self) -> bool:
        """True when the store answers and NATS answers a round trip."""
        return await self.messaging.reachable() and await asyncio.to_thread(self.database.ping)

    async def start(self) -> None:
        """Connect to NATS (in the background) and start the followers."""
        self._tasks.append(asyncio.create_task(self.messaging.connect()))
        for worker in self.workers:
            self._tasks.append(asyncio.ensure_future(worker()))
        self._tasks.append(asyncio.ensure_future(self._sweep_idempotency()))

    async def _sweep_idempotency(self) -> None:
        """Every few minutes, delete the idempotency records older than 24 h."""
        while True:
            try:
                swept = await asyncio.to_thread(sweep_idempotency_records, self.database)
                if swept:
                    log.info("%d expired idempotency records deleted", swept)
            except Exception:  # the next sweep tries again
                log.exception("the sweep of expired idempotency records failed")
            await asyncio.sleep(IDEMPOTENCY_SWEEP_SECONDS)

    async def stop(self) -> None:
        """Stop the followers, close NATS and the store."""
        for stop in self.stoppers:
            stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.messaging.close()
        for close in self.closers:
            close()
        self.database.dispose()

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        """FastAPI lifespan: start and stop with the HTTP server."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    def mount_api(
        self,
        metrics: ServiceMetrics,
        router: APIRouter,
        install_errors: Callable[[FastAPI], None],
    ) -> FastAPI:
        """Build the service's HTTP API: the shared edge, its routes and its error mapping."""
        edge = Edge(
            self.settings.tokens,
            self.database,
            metrics,
            FailedAuthLimiter(),
            secret=installation_secret(self.settings),
        )
        api = create_api(
            title=f"Réseau COOP — {self.settings.service}",
            edge=edge,
            readiness=self.ready,
            lifespan=self.lifespan,
        )
        api.include_router(router)
        install_errors(api)
        self.closers.insert(0, edge.workers.shutdown)  # commands in flight finish first
        self.api = api
        return api

    def serve(self) -> None:
        """Serve HTTP in the foreground until SIGINT/SIGTERM."""
        assert self.api is not None
        ensure_port_free(self.settings.host, self.settings.port, self.settings.service)
        config = uvicorn.Config(
            self.api,
            host=self.settings.host,
            port=self.settings.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
            proxy_headers=True,
            forwarded_allow_ips=list(self.settings.trusted_proxies),
        )
        quiet_garbage_collector()
        uvicorn.Server(config).run()


def quiet_garbage_collector() -> None:
    """Keep the cyclic garbage collector out of the requests' latency.

    What start-up built (modules, the application, the routes) lives as long as the process:
    frozen, a full collection no longer walks it; and a collection runs every 20,000
    allocations instead of 700. Measured on the command benchmark: p99 75 → 41 ms.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def service_messaging(settings: ServiceSettings) -> Messaging:
    """The service's NATS connection, from its settings."""
    return Messaging(
        settings.nats_url or DEFAULT_NATS_URL,
        name=f"coop-{settings.service}",
        replicas=settings.nats_replicas,
        consumer_prefix=settings.nats_consumer_prefix,
    )


def ensure_port_free(host: str, port: int, service: str) -> None:
    """Refuse to start, with a clear message, when the port is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ConfigurationError(
                    f"port {port} on {host} is already in use: cannot start {service} "
                    f"(set COOP_{service.upper()}_PORT to another port)"
                ) from None
            raise ConfigurationError(f"cannot listen on {host}:{port}: {error}") from None
