"""The embedded nats-server fsyncs every message before acknowledging it (power loss)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from shared.nats_server import NatsServer, free_port, nats_server_binary, server_config


def jetstream_config(monitoring_port: int) -> dict[str, Any]:
    """The JetStream configuration the server reports on its monitoring port."""
    deadline = time.monotonic() + 10
    while True:
        try:
            config: dict[str, Any] = httpx.get(
                f"http://127.0.0.1:{monitoring_port}/varz", timeout=2
            ).json()["jetstream"]["config"]
            return config
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_the_embedded_nats_server_fsyncs_every_message_before_acknowledging_it(
    tmp_path: Path,
) -> None:
    monitoring = free_port()
    server = NatsServer(tmp_path / "nats", extra_args=["-m", str(monitoring)]).start()
    try:
        config = jetstream_config(monitoring)
    finally:
        server.stop()

    assert config["sync_always"] is True
    assert config["store_dir"] == str(tmp_path / "nats" / "jetstream")  # the same layout as -sd


def test_nats_server_refuses_a_sync_interval_it_does_not_understand(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.conf", tmp_path / "bad.conf"
    good.write_text(server_config(tmp_path))
    bad.write_text(server_config(tmp_path, sync_interval="sometimes"))

    def check(path: Path) -> int:
        return subprocess.run(
            [nats_server_binary(), "-t", "-c", str(path)], capture_output=True, timeout=30
        ).returncode

    assert (check(good), check(bad)) == (0, 1)
