"""NATS unreachable for 30 s while commands keep coming: all accepted, everything follows."""

from __future__ import annotations

import signal
import time

import httpx

from tests.faults.harness import SERVICES, Platform, assert_nothing_lost_or_doubled, wait_until
from tests.faults.workload import Loader, plan_load
from tests.support import NatsServer

OUTAGE_SECONDS = 30.0


def readiness(platform: Platform) -> dict[str, int]:
    """`GET /readyz` of every service."""
    return {
        name: httpx.get(f"{url}/readyz", timeout=5).status_code
        for name, url in platform.urls.items()
    }


def test_nats_unreachable_for_30_s_under_load_accepts_every_command_and_publishes_it_after(
    platform: Platform, nats_server: NatsServer, seed: int
) -> None:
    loader = Loader(platform.urls, plan_load(seed), pace=0.2).start()  # lasts 40 s or more
    loader.wait_until_accepted(30)
    assert nats_server.process is not None
    frozen_at = time.monotonic()
    nats_server.process.send_signal(signal.SIGSTOP)  # a partition: connections hang, no answer
    try:
        wait_until(
            lambda: set(readiness(platform).values()) == {503}, 20, "every service not ready"
        )
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - frozen_at)))
    finally:
        nats_server.process.send_signal(signal.SIGCONT)
    thawed_at = time.monotonic()
    assert loader.running, "the load must outlast the outage"
    wait_until(lambda: set(readiness(platform).values()) == {200}, 30, "every service ready")
    loader.join(timeout=120)

    loader.assert_all_accepted()
    during = [status for at, _, status in loader.answers if frozen_at <= at <= thawed_at]
    assert sum(200 <= s < 300 for s in during) >= 50, during
    assert set(during) <= {200, 201, 422}  # 422: cooperative-not-member, retried later
    assert {service for at, service, _ in loader.answers if frozen_at <= at <= thawed_at} >= set(
        SERVICES[:3]
    )
    assert_nothing_lost_or_doubled(platform, nats_server.url, loader.ledger)
