"""Services that die right after committing a correction, before they answer it.

Each of membership, events and ambassadors gets one crash point, seeded, at the n-th call of
a correction's application method (`after`: the correction is committed, the client gets no
answer), or of the ambassadors' policy after a membership change (`after`: committed, the
message not yet acknowledged, so it is delivered again). The loader cannot know whether the
command ran: a POST is sent again with its key, a PATCH again to the same values (a no-op),
a DELETE again gets 404 `/already-withdrawn`, which counts as accepted only because the first
attempt's outcome is unknown. Each correction must then be recorded and counted exactly once.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from tests.faults.harness import (
    Platform,
    Reviver,
    assert_nothing_lost_or_doubled,
    crash_point,
    wait_until,
)
from tests.faults.workload import Loader, plan_load
from tests.support import NatsServer

# For each service, the methods that may crash, each with the plan's steps that call it (the
# ambassadors' policy runs at least once per void and per restoration). The events service
# always dies after a withdrawal, so that every run sends a DELETE again after a lost answer.
POINTS = {
    "membership": [
        ("services.membership.application:Membership.correct_membership", ("correct_membership",)),
        ("services.membership.application:Membership.void", ("void",)),
        ("services.membership.application:Membership.restore", ("restore",)),
    ],
    "events": [
        ("services.events.application:Events.withdraw_attendance", ("withdraw_attendance",)),
        ("services.events.application:Events.withdraw_public_attendance", ("withdraw_public",)),
    ],
    "ambassadors": [
        ("services.ambassadors.application:Ambassadors.correct_action", ("correct_action",)),
        ("services.ambassadors.application:Ambassadors.withdraw_action", ("withdraw_action",)),
        ("services.ambassadors.application:Ambassadors.reactivate", ("reactivate",)),
        (
            "services.ambassadors.application:Ambassadors.apply_membership_change",
            ("void", "restore"),
        ),
    ],
}


def test_a_service_dying_after_committing_a_correction_loses_and_doubles_nothing(
    tmp_path: Path, nats_server: NatsServer, seed: int
) -> None:
    rng = random.Random(seed)
    steps = plan_load(seed, corrections=True)
    kinds = Counter(step.kind for step in steps)
    chosen = {}
    for name, points in POINTS.items():
        calls = {method: sum(kinds[k] for k in called_by) for method, called_by in points}
        method = rng.choice([m for m, n in calls.items() if n])
        chosen[name] = f"{method}:after:{rng.randint(1, calls[method])}"
    print(f"crash points: {chosen}")
    environments = {name: crash_point(spec) for name, spec in chosen.items()}
    platform = Platform(tmp_path, nats_server.url, **environments).start()
    try:
        with Reviver(platform) as reviver:
            loader = Loader(platform.urls, steps)
            loader.run()
            wait_until(lambda: set(reviver.revived) == set(chosen), 60, "every crash point")
        assert not reviver.errors, reviver.errors
        assert sorted(reviver.revived) == sorted(chosen)  # each service died once, and only once
        loader.assert_all_accepted()
        withdrawals = sum(".withdraw_" in spec for spec in chosen.values())
        assert loader.withdrawn_before == withdrawals  # found done after the lost answer
        assert_nothing_lost_or_doubled(platform, nats_server.url, loader.ledger)
    finally:
        platform.stop()
