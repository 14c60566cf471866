"""kill -9 of each service at random moments under load: nothing lost, nothing counted twice."""

from __future__ import annotations

import random
import time
from pathlib import Path

from tests.faults.harness import (
    SERVICES,
    WITH_PARTNERSHIPS,
    Platform,
    assert_nothing_lost_or_doubled,
)
from tests.faults.workload import Loader, plan_load
from tests.support import NatsServer


def test_kill_9_of_each_service_at_random_moments_under_load_loses_and_doubles_nothing(
    platform: Platform, nats_server: NatsServer, seed: int
) -> None:
    rng = random.Random(seed)
    steps = plan_load(seed)
    victims = [*SERVICES, *rng.choices(SERVICES, k=3)]
    rng.shuffle(victims)
    moments = sorted(rng.sample(range(10, len(steps) * 2 // 3), len(victims)))
    loader = Loader(platform.urls, steps, pace=0.03).start()  # outlasts every restart

    under_load = 0
    for moment, victim in zip(moments, victims, strict=True):
        loader.wait_until_accepted(moment)
        time.sleep(rng.uniform(0, 0.05))
        under_load += loader.running
        platform.crash(victim)
    loader.join(timeout=120)

    loader.assert_all_accepted()
    assert under_load == len(victims)
    assert_nothing_lost_or_doubled(platform, nats_server.url, loader.ledger)


def test_kill_9_of_partnerships_under_its_load_loses_and_doubles_nothing(
    tmp_path: Path, nats_server: NatsServer, seed: int
) -> None:
    rng = random.Random(seed)
    steps = plan_load(seed, partnerships=True)
    ours = [n for n, s in enumerate(steps) if s.service == "partnerships"]
    moments = sorted(rng.sample([n for n in ours if 10 <= n <= len(steps) * 3 // 4], 5))
    platform = Platform(tmp_path, nats_server.url, WITH_PARTNERSHIPS, start_timeout=120)
    try:
        platform.start()
        loader = Loader(platform.urls, steps, pace=0.03, deadline=240).start()
        under_load = 0
        for moment in moments:
            loader.wait_until_accepted(moment)
            time.sleep(rng.uniform(0, 0.05))
            under_load += loader.running
            platform.crash("partnerships")
        loader.join(timeout=300)

        loader.assert_all_accepted()
        assert under_load == len(moments)
        assert loader.ledger.events["RetailPlacementSecured"] > 0
        assert loader.ledger.events["SectorTableDissolved"] == 1
        assert_nothing_lost_or_doubled(platform, nats_server.url, loader.ledger)
    finally:
        platform.stop()
