"""kill -9 of nats-server under load, restarted on its port with its JetStream store on disk."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import nats
from nats.aio.msg import Msg

from shared.integration import event_id_for
from shared.vocabulary import Sector
from tests.faults.harness import (
    Platform,
    assert_in_commit_order,
    assert_nothing_lost_or_doubled,
    read_streams,
    relayed,
    stream_length,
    wait_until,
)
from tests.faults.workload import Loader, plan_load
from tests.support import NatsServer, ServiceProcess

STREAM = "COOP_MEMBERSHIP"


async def kill_on_first_message(server: NatsServer, published: int, delay: float) -> None:
    """Start nats-server; kill -9 it `delay` s after the relay's next message lands."""
    server.start()
    nc = await nats.connect(server.url)
    first = asyncio.Event()

    async def landed(_message: Msg) -> None:
        first.set()

    await nc.subscribe("coop.membership.>", cb=landed)
    await nc.flush()
    info = await nc.jetstream().stream_info(STREAM)
    if info.state.messages <= published:  # else the relay was quicker than this subscription
        await asyncio.wait_for(first.wait(), 20)
        await asyncio.sleep(delay)
    server.stop(kill=True)  # in the middle of the relay's pipelined batch, most often
    await nc.close()


JOIN = {"region": "06", "sector": "fabrication", "worker_members": 5, "joined_on": "2023-10-02"}


def test_kill_9_of_nats_server_under_load_loses_and_doubles_nothing(
    platform: Platform, nats_server: NatsServer, seed: int
) -> None:
    rng = random.Random(seed)
    steps = plan_load(seed)
    moments = sorted(rng.sample(range(20, len(steps) * 2 // 3), 3))
    loader = Loader(platform.urls, steps, pace=0.03).start()

    for moment in moments:
        loader.wait_until_accepted(moment)
        time.sleep(rng.uniform(0, 0.05))
        assert loader.running
        nats_server.stop(kill=True)
        time.sleep(rng.uniform(0.2, 2.0))
        nats_server.start()
    loader.join(timeout=120)

    loader.assert_all_accepted()
    assert_nothing_lost_or_doubled(platform, nats_server.url, loader.ledger)


def test_kill_9_of_nats_server_while_a_relay_catches_up_keeps_commit_order(
    tmp_path: Path, nats_server: NatsServer, seed: int
) -> None:
    rng = random.Random(seed)
    membership = ServiceProcess("membership", tmp_path / "membership", nats_server.url).start()
    try:
        with membership.client() as client:

            def join(number: int) -> str:
                answer = client.post("/v1/cooperatives", json={**JOIN, "name": f"Coop {number}"})
                assert answer.status_code == 201, answer.text
                return str(answer.json()["id"])

            accepted = [join(0)]
            for _ in range(3):
                published = len(accepted)
                wait_until(  # the stream also holds the built-in sector list
                    lambda n=published: stream_length(nats_server.url, STREAM) == n + len(Sector),
                    20,
                    "relay idle",
                )
                nats_server.stop(kill=True)
                accepted += [join(len(accepted) + n) for n in range(250)]  # a backlog
                asyncio.run(kill_on_first_message(nats_server, published, rng.uniform(0, 0.005)))
                time.sleep(0.3)
                nats_server.start()
        wait_until(lambda: stream_length(nats_server.url, STREAM) >= len(accepted), 30, "all")
        time.sleep(0.3)  # room for a late or repeated message to show up

        messages = read_streams(nats_server.url)[STREAM]
        assert_in_commit_order(STREAM, messages)
        bodies = [m.body for m in relayed(messages) if m.body is not None]
        bodies = [b for b in bodies if b["event_type"] != "SectorDefined"]  # the sector list
        assert [b["event_id"] for b in bodies] == [event_id_for(i, 1) for i in accepted]
    finally:
        membership.stop()
