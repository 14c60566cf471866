"""Every request observed: its duration and outcome in the metrics, a line in the access log."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logs import trace_parent
from shared.metrics import ServiceMetrics

access_log = logging.getLogger("coop.access")
"""One line per request: method, route template, status, duration, client (never a header)."""

QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes, which would drown the access log."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin1"))
    return None


class RequestMetrics:
    """ASGI middleware: request durations, and commands (non-GET requests) by route and outcome."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._durations: dict[tuple[str, int], Any] = {}
        self._commands: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        trace_parent.set(_header(scope, b"traceparent"))

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            method = scope.get("method", "GET")
            elapsed = time.perf_counter() - started
            self._duration(method, status).observe(elapsed)
            route = getattr(scope.get("route"), "path", "unmatched")
            if method not in ("GET", "HEAD", "OPTIONS"):
                self._command(method, route, status).inc()
            if route not in QUIET_ROUTES:
                client = scope.get("client")
                access_log.log(
                    logging.WARNING if status in (401, 403, 429) else logging.INFO,
                    "%s %s %d",
                    method,
                    route,
                    status,
                    extra={
                        "fields": {
                            "method": method,
                            "route": route,
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 2),
                            "client": client[0] if client else None,
                        }
                    },
                )

    def _duration(self, method: str, status: int) -> Any:
        """The duration histogram of (method, status), looked up once."""
        key = (method, status)
        child = self._durations.get(key)
        if child is None:
            child = self._durations[key] = self.metrics.request_seconds.labels(method, str(status))
        return child

    def _command(self, method: str, route: str, status: int) -> Any:
        """The command counter of (method, route, status), looked up once."""
        key = (method, route, status)
        child = self._commands.get(key)
        if child is None:
            outcome = "ok" if status < 400 else "refused" if status < 500 else "error"
            child = self.metrics.commands.labels(f"{method} {route}", outcome)
            self._commands[key] = child
        return child
