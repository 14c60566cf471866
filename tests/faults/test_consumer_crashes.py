"""Consumers that crash while applying a batch, and crashes between commit, publish and apply."""

from __future__ import annotations

import contextlib
import random
import time
from pathlib import Path

import pytest

from tests.faults.harness import (
    Platform,
    Reviver,
    all_published,
    assert_nothing_lost_or_doubled,
    crash_point,
    projection_status,
    wait_until,
)
from tests.faults.workload import Loader, plan_load
from tests.support import NatsServer


def test_reporting_crashing_mid_batch_while_catching_up_a_backlog_counts_every_event_once(
    tmp_path: Path, nats_server: NatsServer, seed: int
) -> None:
    rng = random.Random(seed)
    platform = Platform(tmp_path, nats_server.url).start("membership", "events", "ambassadors")
    try:
        loader = Loader(platform.urls, plan_load(seed))
        loader.run()  # the whole load first: a backlog for the reporting service
        loader.assert_all_accepted()
        wait_until(lambda: all_published(nats_server.url, loader.ledger), 30, "backlog published")

        # The n-th fact applied ends the process inside its batch's open transaction.
        nth = rng.randint(2, sum(loader.ledger.events.values()))
        reporting = platform.reporting
        reporting.env.update(
            crash_point(f"services.reporting.projector:StreamBatch.apply:before:{nth}")
        )
        with contextlib.suppress(RuntimeError):  # it may die before it first answers
            reporting.start(wait_ready=False)
        platform.revive("reporting", wait_ready=False)  # checks it died at the crash point

        # And a kill -9 at a random moment of the catch-up that follows.
        wait_until(lambda: reporting_answers(platform), 30, "reporting up again")
        time.sleep(rng.uniform(0, 0.3))
        platform.crash("reporting")

        assert_nothing_lost_or_doubled(platform, nats_server.url, loader.ledger)
    finally:
        platform.stop()


def reporting_answers(platform: Platform) -> bool:
    """True once `/v1/projections/status` answers."""
    try:
        projection_status(platform.reporting.url)
    except Exception:
        return False
    return True


# Where each service dies, once, under load: (service, crash point, range of the n-th call).
CRASH_POINTS = {
    "commit-publish-apply": [
        # membership: the command is committed, the client gets no answer and retries.
        ("membership", "shared.application:CoopApplication.save:after", (3, 30)),
        # events: its relay published a batch and dies before recording its position.
        ("events", "shared.outbox:OutboxRelay._save_position:before", (2, 15)),
        # ambassadors: the departure policy recorded its deactivations, the consumer's
        # transaction (membership view and stream position) is not committed.
        (
            "ambassadors",
            "services.ambassadors.application:Ambassadors.apply_departure:after",
            (1, 6),
        ),
        # reporting: in the middle of a batch, its transaction open.
        ("reporting", "services.reporting.projector:StreamBatch.apply:before", (10, 150)),
    ],
    "apply-ack": [
        ("membership", "shared.outbox:OutboxRelay._save_position:before", (2, 15)),
        # events: its membership consumer dies in the middle of a batch.
        ("events", "shared.membership_view:MembershipBatch.apply:before", (5, 40)),
        ("ambassadors", "shared.application:CoopApplication.save:after", (2, 30)),
        # reporting: the batch and its stream position are committed, the messages not acked.
        ("reporting", "shared.consumer:StreamConsumer._apply_batch:after", (2, 20)),
    ],
}


@pytest.mark.parametrize("points", CRASH_POINTS.values(), ids=CRASH_POINTS.keys())
def test_crashes_between_commit_publish_apply_and_ack_under_load_lose_and_double_nothing(
    tmp_path: Path,
    nats_server: NatsServer,
    seed: int,
    points: list[tuple[str, str, tuple[int, int]]],
) -> None:
    rng = random.Random(seed)
    chosen = {name: f"{point}:{rng.randint(*calls)}" for name, point, calls in points}
    print(f"crash points: {chosen}")
    environments = {name: crash_point(spec) for name, spec in chosen.items()}
    platform = Platform(tmp_path, nats_server.url, **environments).start()
    try:
        with Reviver(platform) as reviver:
            loader = Loader(platform.urls, plan_load(seed))
            loader.run()
            wait_until(lambda: set(reviver.revived) == set(chosen), 60, "every crash point")
        assert not reviver.errors, reviver.errors
        assert sorted(reviver.revived) == sorted(chosen)  # each service died once, and only once
        loader.assert_all_accepted()
        assert_nothing_lost_or_doubled(platform, nats_server.url, loader.ledger)
    finally:
        platform.stop()
