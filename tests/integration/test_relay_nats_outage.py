"""A real `coop serve membership` keeps accepting commands while NATS is down."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from nats.js.errors import BadRequestError

from shared.integration import event_id_for
from tests.support import NatsServer, ServiceProcess, free_port, stream_messages, wait_for


def join(client: httpx.Client, name: str) -> dict[str, Any]:
    response = client.post(
        "/v1/cooperatives",
        json={
            "name": name,
            "region": "01",
            "sector": "alimentation",
            "worker_members": 4,
            "joined_on": "2023-09-01",
        },
    )
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def on_stream(nats_url: str) -> list[dict[str, Any]]:
    """The cooperatives' messages on COOP_MEMBERSHIP (the sector list's left out)."""
    try:
        messages = asyncio.run(stream_messages(nats_url, "COOP_MEMBERSHIP"))
        return [m for m in messages if m["body"]["event_type"] != "SectorDefined"]
    except BadRequestError:  # an empty stream: there is no message 0 to read
        return []


def test_commands_succeed_while_nats_is_down_and_their_events_follow_when_it_returns(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    service = ServiceProcess("membership", tmp_path / "membership", nats_server.url).start()
    restarted: NatsServer | None = None
    try:
        with service.client() as client:
            before = join(client, "Avant la panne")
            wait_for(lambda: len(on_stream(nats_server.url)) == 1)

            nats_server.stop()
            during = [join(client, f"Pendant la panne {n}") for n in range(3)]
            departure = client.post(
                f"/v1/cooperatives/{before['id']}/departure", json={"left_on": "2024-06-30"}
            )
            assert departure.status_code == 200, departure.text
            assert client.get("/readyz").status_code == 503
            assert len(client.get("/v1/cooperatives").json()["items"]) == 4

            restarted = NatsServer(nats_server.store_dir, port=nats_server.port).start()
            wait_for(lambda: len(on_stream(nats_server.url)) >= 5)
            wait_for(lambda: client.get("/readyz").status_code == 200)
            time.sleep(0.3)  # room for a duplicate to show up, if one were made
            messages = on_stream(nats_server.url)

        expected = [
            event_id_for(before["id"], 1),
            *(event_id_for(c["id"], 1) for c in during),
            event_id_for(before["id"], 2),
        ]
        assert [m["body"]["event_id"] for m in messages] == expected
        assert [m["headers"]["Nats-Msg-Id"] for m in messages] == expected
        assert messages[-1]["subject"] == "coop.membership.CoopLeft"
        assert service.stop() == 0  # SIGTERM stops the service cleanly
    finally:
        service.stop()
        if restarted is not None:
            restarted.stop()


def test_events_committed_before_a_crash_during_the_outage_are_published_by_the_next_process(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    data_dir = tmp_path / "membership"
    first = ServiceProcess("membership", data_dir, nats_server.url).start()
    restarted: NatsServer | None = None
    second: ServiceProcess | None = None
    try:
        nats_server.stop()
        with first.client() as client:
            accepted = [join(client, f"Avant le plantage {n}") for n in range(2)]
        first.kill()

        second = ServiceProcess("membership", data_dir, nats_server.url).start(wait_ready=False)
        restarted = NatsServer(nats_server.store_dir, port=nats_server.port).start()
        wait_for(lambda: len(on_stream(nats_server.url)) >= 2)
        time.sleep(0.3)

        messages = on_stream(nats_server.url)
        assert [m["body"]["event_id"] for m in messages] == [
            event_id_for(c["id"], 1) for c in accepted
        ]
    finally:
        first.stop()
        if second is not None:
            second.stop()
        if restarted is not None:
            restarted.stop()


def test_a_service_given_several_nats_urls_uses_whichever_answers(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    urls = f"nats://127.0.0.1:{free_port()},{nats_server.url}"  # the first node is down
    service = ServiceProcess("membership", tmp_path / "membership", urls).start()
    try:
        with service.client() as client:
            created = join(client, "Grappe")
        wait_for(lambda: len(on_stream(nats_server.url)) == 1)

        assert on_stream(nats_server.url)[0]["body"]["event_id"] == event_id_for(created["id"], 1)
    finally:
        service.stop()
