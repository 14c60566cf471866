"""An idempotent command survives kill -9: its key and its events were committed together."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from shared.integration import event_id_for
from tests.support import NatsServer, ServiceProcess, stream_messages, wait_for

JOIN = {
    "name": "Coop de travail Exemple",
    "region": "06",
    "sector": "microbrasserie",
    "worker_members": 12,
    "joined_on": "2023-05-14",
    "neq": "1170000000",
}


def cooperative_messages(nats_server: NatsServer) -> list[dict[str, Any]]:
    """The cooperatives' messages on COOP_MEMBERSHIP (the sector list's left out)."""
    messages = asyncio.run(stream_messages(nats_server.url, "COOP_MEMBERSHIP"))
    return [m for m in messages if m["body"]["event_type"] != "SectorDefined"]


def test_a_retry_after_kill_9_replays_the_answer_and_records_nothing_new(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    data_dir = tmp_path / "membership"
    first = ServiceProcess("membership", data_dir, nats_server.url).start()
    second: ServiceProcess | None = None
    try:
        with first.client() as client:
            created = client.post("/v1/cooperatives", json=JOIN, headers={"Idempotency-Key": "k-1"})
            cooperative_id = created.json()["id"]
            left = client.post(
                f"/v1/cooperatives/{cooperative_id}/departure",
                json={"left_on": "2024-01-31"},
                headers={"Idempotency-Key": "k-2"},
            )
        first.kill()
        assert (created.status_code, left.status_code) == (201, 200)

        second = ServiceProcess("membership", data_dir, nats_server.url).start()
        with second.client() as client:
            again = client.post("/v1/cooperatives", json=JOIN, headers={"Idempotency-Key": "k-1"})
            left_again = client.post(
                f"/v1/cooperatives/{cooperative_id}/departure",
                json={"left_on": "2024-01-31"},
                headers={"Idempotency-Key": "k-2"},
            )
            history = client.get(f"/v1/cooperatives/{cooperative_id}/history").json()["items"]
            listed = client.get("/v1/cooperatives").json()["items"]

        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.headers["Location"] == created.headers["Location"]
        assert again.json()["id"] == cooperative_id
        assert again.json()["status"] == "left"  # the resource as it is now
        assert left_again.status_code == 200
        assert left_again.headers["Idempotent-Replayed"] == "true"
        assert [item["type"] for item in history] == ["CoopJoined", "CoopLeft"]
        assert [item["id"] for item in listed] == [cooperative_id]

        wait_for(lambda: len(cooperative_messages(nats_server)) >= 2)
        time.sleep(0.3)
        messages = cooperative_messages(nats_server)
        assert [m["body"]["event_id"] for m in messages] == [
            event_id_for(cooperative_id, 1),
            event_id_for(cooperative_id, 2),
        ]
    finally:
        first.stop()
        if second is not None:
            second.stop()
