"""A service's OpenMetrics registry: one per service, no module-level singletons."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST, generate_latest

OPENMETRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST


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
        return generate_latest(self.registry)
