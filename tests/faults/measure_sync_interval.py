"""What `sync_interval: always` costs: JetStream publish rates with and without it, on this machine.

    .venv/bin/python -m tests.faults.measure_sync_interval [--messages N] [--rounds R]

For each setting, a fresh single-node nats-server (the embedded one's configuration) and one
file-stored stream with the contract's duplicate window; messages of an integration event's
size, each with its own `Nats-Msg-Id`, published two ways: pipelined like the outbox relay
(`publish_async`, up to 1,000 awaiting their ack) and one at a time (each ack awaited, as a
relay publishing a single command's event does). Prints the median rate of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import nats
from nats.js.api import StorageType, StreamConfig

from shared.nats_server import free_port, nats_server_binary, server_config

SETTINGS = ("2m", "always")  # nats-server's default, and the embedded server's
BODY = b"x" * 420  # about the size of an integration event's envelope
WINDOW = 1000


async def _rates(url: str, messages: int) -> tuple[float, float]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream(timeout=30)
        await js.add_stream(
            StreamConfig(
                name="MEASURE",
                subjects=["measure.>"],
                storage=StorageType.FILE,
                duplicate_window=120,
            )
        )
        started = time.perf_counter()
        for first in range(0, messages, WINDOW):
            acks = [
                await js.publish_async(
                    "measure.pipelined", BODY, headers={"Nats-Msg-Id": str(uuid.uuid4())}
                )
                for _ in range(min(WINDOW, messages - first))
            ]
            await asyncio.gather(*acks)
        pipelined = messages / (time.perf_counter() - started)
        one_by_one_count = max(1, messages // 10)
        started = time.perf_counter()
        for _ in range(one_by_one_count):
            await js.publish("measure.single", BODY, headers={"Nats-Msg-Id": str(uuid.uuid4())})
        one_by_one = one_by_one_count / (time.perf_counter() - started)
        return pipelined, one_by_one
    finally:
        await nc.close()


def measure(sync_interval: str, messages: int) -> tuple[float, float]:
    """Publish rates (pipelined, one at a time) in messages per second with this setting."""
    with tempfile.TemporaryDirectory() as directory:
        store = Path(directory)
        config = store / "nats-server.conf"
        config.write_text(server_config(store, sync_interval=sync_interval))
        port = free_port()
        server = subprocess.Popen(
            [nats_server_binary(), "-c", str(config), "-a", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            return asyncio.run(_rates(f"nats://127.0.0.1:{port}", messages))
        finally:
            server.terminate()
            server.wait(10)


def main() -> None:
    """Measure each setting a few times and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, tuple[float, float]] = {}
    for setting in SETTINGS:
        rounds = [measure(setting, args.messages) for _ in range(args.rounds)]
        results[setting] = (
            statistics.median(r[0] for r in rounds),
            statistics.median(r[1] for r in rounds),
        )
    print(f"{'sync_interval':<14} {'pipelined msg/s':>16} {'one at a time msg/s':>20}")
    for setting, (pipelined, one_by_one) in results.items():
        print(f"{setting:<14} {pipelined:>16,.0f} {one_by_one:>20,.0f}")
    default, always = results["2m"], results["always"]
    print(
        f"cost of 'always': pipelined x{default[0] / always[0]:.1f} slower, "
        f"one at a time x{default[1] / always[1]:.1f} slower"
    )


if __name__ == "__main__":
    main()
