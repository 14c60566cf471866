"""kill -9 of each service at random moments under load: nothing lost, nothing counted twice."""

from __future__ import annotations

import random
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from tests.faults.harness import (
    SERVICES,
    WITH_PARTNERSHIPS,
    Platform,
    assert_nothing_lost_or_doubled,
)
from tests.faults.workload import CORRECTION_KINDS, Loader, plan_load
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


def test_kill_9_of_each_service_amid_records_and_corrections_loses_and_doubles_nothing(
    platform: Platform, nats_server: NatsServer, seed: int
) -> None:
    """Corrections (CONTRACT §10) of every kind mixed into the load; each service is killed
    twice, half of the kills while corrections are being sent. The figures must equal the
    direct computation over the corrected records, and every correction's event (the
    ambassadors' policy events included) must be on its stream exactly once.

    A killed service restarts in the background, so that the load goes on (and meets the next
    kill) while it comes back; a service is never killed twice in a row."""
    rng = random.Random(seed)
    steps = plan_load(seed, corrections=True)
    last = len(steps) - 70  # the load still runs at the last kill
    corrections = [i for i, s in enumerate(steps) if s.kind in CORRECTION_KINDS and 10 <= i < last]
    amid = rng.sample(corrections, min(len(corrections), len(SERVICES)))
    elsewhere = [i for i in range(10, last) if i not in amid]
    moments = sorted([*amid, *rng.sample(elsewhere, 2 * len(SERVICES) - len(amid))])
    first, second = rng.sample(SERVICES, len(SERVICES)), rng.sample(SERVICES, len(SERVICES))
    if second[0] == first[-1]:
        second.reverse()
    loader = Loader(platform.urls, steps, pace=0.05, deadline=150).start()

    under_load = 0
    restarts: dict[str, Future[None]] = {}
    with ThreadPoolExecutor(len(SERVICES)) as pool:
        for moment, victim in zip(moments, [*first, *second], strict=True):
            if victim in restarts:
                restarts[victim].result()  # back before it is killed again
            loader.wait_until_accepted(moment)
            time.sleep(rng.uniform(0, 0.05))
            under_load += loader.running
            restarts[victim] = pool.submit(platform.crash, victim)
        for restart in restarts.values():
            restart.result()
    loader.join(timeout=150)

    loader.assert_all_accepted()
    assert under_load == 2 * len(SERVICES)
    assert_nothing_lost_or_doubled(platform, nats_server.url, loader.ledger)
