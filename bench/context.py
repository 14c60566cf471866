"""The run's settings, shared by every benchmark: sizes, scratch directory, PostgreSQL."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.infra import PostgresSchema, postgres_schema


@dataclass
class Sizes:
    """How big each load is."""

    duration: float  # seconds of measured HTTP load
    warmup: float  # seconds of unmeasured HTTP load before it
    clients: int  # concurrent HTTP clients for commands
    events: int  # integration events pre-filled for the projection
    relay_events: int  # stored events pre-filled for the relay
    nats_messages: int  # messages for the raw NATS baselines
    saves: int  # single-event saves for the eventsourcing baseline
    batch_events: int  # events saved in batches for the eventsourcing baseline
    freshness_rate: float  # commands per second for the freshness figure
    read_clients: int  # concurrent clients for GET /v1/indicators
    audit_requests: int = 20  # as_recorded GETs, one at a time, each at its own instant


DEFAULT = Sizes(
    duration=10,
    warmup=2,
    clients=50,
    events=100_000,
    relay_events=50_000,
    nats_messages=100_000,
    saves=2_000,
    batch_events=50_000,
    freshness_rate=500,
    read_clients=4,
    audit_requests=20,
)
QUICK = Sizes(
    duration=1.0,
    warmup=0.3,
    clients=50,
    events=2_000,
    relay_events=1_000,
    nats_messages=2_000,
    saves=200,
    batch_events=2_000,
    freshness_rate=500,
    read_clients=4,
    audit_requests=3,
)


@dataclass
class Context:
    """What a benchmark gets: the sizes, a scratch dir, the PostgreSQL server (if reachable)."""

    sizes: Sizes
    scratch: Path
    postgres_url: str
    postgres_problem: str | None  # why PostgreSQL figures are skipped, or None
    client: str = "raw"  # load generator: raw (bench.http_client) or httpx
    client_processes: int = 1
    verbose: bool = True
    started: float = field(default_factory=time.monotonic)

    def log(self, message: str) -> None:
        """Progress on stderr (the table goes to stdout)."""
        if self.verbose:
            elapsed = time.monotonic() - self.started
            print(f"[{elapsed:6.1f} s] {message}", file=sys.stderr, flush=True)

    def directory(self, name: str) -> Path:
        """A fresh directory under the scratch dir."""
        path = self.scratch / name
        suffix = 1
        while path.exists():
            suffix += 1
            path = self.scratch / f"{name}-{suffix}"
        path.mkdir(parents=True)
        return path

    @contextlib.contextmanager
    def postgres(self) -> Iterator[PostgresSchema]:
        """A fresh PostgreSQL schema, dropped afterwards."""
        with postgres_schema(self.postgres_url) as schema:
            yield schema
