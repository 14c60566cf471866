"""Fixtures of the fault-injection suite: a printed random seed, and the platform under test."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Platform
from tests.support import NatsServer


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The run's random seed: `COOP_FAULT_SEED` when set, else a fresh one, printed for replay."""
    chosen = int(os.environ.get("COOP_FAULT_SEED") or random.randrange(2**32))
    print(f"\n{request.node.name}: replay with COOP_FAULT_SEED={chosen}")
    request.node.user_properties.append(("COOP_FAULT_SEED", chosen))
    return chosen


@pytest.fixture
def platform(tmp_path: Path, nats_server: NatsServer) -> Iterator[Platform]:
    """The four services as real processes on the test's nats-server, started and ready."""
    running = Platform(tmp_path, nats_server.url)
    try:
        yield running.start()
    finally:
        running.stop()
