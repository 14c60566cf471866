"""A service's OpenMetrics registry: one per service, no module-level singletons."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import exposition as text_format
from prometheus_client.openmetrics import exposition as openmetrics

OPENMETRICS_CONTENT_TYPE = openmetrics.CONTENT_TYPE_LATEST
PROMETHEUS_TEXT_CONTENT_TYPE = text_format.CONTENT_TYPE_LATEST


class ServiceMetrics:
    """The metrics every service exposes on `/metrics`."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.commands = Counter(
            "coop_commands",
            "Commands handled, by name and outcome.",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "coop_http_request_duration_seconds",
            "HTTP request duration.",
            ["method", "status"],
            registry=self.registry,
        )
        self.relay_published = Counter(
            "coop_relay_published_events",
            "Events the outbox relay published to JetStream.",
            registry=self.registry,
        )
        self.relay_lag = Gauge(
            "coop_relay_lag_events",
            "Events committed to the store and not yet acknowledged by JetStream.",
            registry=self.registry,
        )
        self.consumer_applied = Counter(
            "coop_consumer_applied_messages",
            "Stream messages applied to local views, by consumer.",
            ["consumer"],
            registry=self.registry,
        )
        self.consumer_parked = Counter(
            "coop_consumer_parked_messages",
            "Stream messages that could not be applied and were parked, by consumer.",
            ["consumer"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "coop_consumer_lag_messages",
            "Messages on the stream not yet applied, by consumer.",
            ["consumer"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "coop_auth_failures",
            "Requests refused for a missing or unknown token.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The OpenMetrics exposition of every metric."""
        return openmetrics.generate_latest(self.registry)

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """Every metric, as Prometheus text when `accept` asks for it, else OpenMetrics."""
        wanted = accept.lower()
        if "text/plain" in wanted and "application/openmetrics-text" not in wanted:
            return text_format.generate_latest(self.registry), PROMETHEUS_TEXT_CONTENT_TYPE
        return self.render(), OPENMETRICS_CONTENT_TYPE

    def forget_consumer(self, consumer: str) -> None:
        """Remove a consumer's series (a rebuilt projection's old consumers go away)."""
        for metric in (self.consumer_lag, self.consumer_applied, self.consumer_parked):
            with contextlib.suppress(KeyError):
                metric.remove(consumer)
