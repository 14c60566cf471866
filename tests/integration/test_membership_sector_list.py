"""The sector list on the stream (§16.14, §16.18): built-ins published once, definitions after."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4, uuid5

from services.membership import views
from services.membership.application import BUILT_IN_SECTORS, Membership
from services.membership.domain import SECTOR_NAMESPACE
from shared.persistence import Database
from tests.support import NatsServer, ServiceProcess, stream_messages, wait_for


def on_stream(nats: NatsServer) -> list[dict[str, Any]]:
    try:
        return asyncio.run(stream_messages(nats.url, "COOP_MEMBERSHIP"))
    except Exception:  # the stream does not exist yet, or is empty
        return []


def bodies(nats: NatsServer, count: int) -> list[dict[str, Any]]:
    wait_for(lambda: len(on_stream(nats)) >= count)
    time.sleep(0.3)  # nothing more should follow
    return [m["body"] for m in on_stream(nats)]


def test_a_new_store_publishes_the_built_in_sectors_once_with_uuid5_ids(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    data_dir = tmp_path / "membership"
    service = ServiceProcess("membership", data_dir, nats_server.url).start()
    try:
        first = bodies(nats_server, 15)
        with service.client() as client:
            label = {"fr": "Imprimeries", "en": "Printers"}
            assert client.put("/v1/sectors/imprimerie", json={"label": label}).status_code == 200
            assert client.put("/v1/sectors/imprimerie", json={"label": label}).status_code == 200
        service.stop()
        service.start()
        after_restart = bodies(nats_server, 16)
    finally:
        service.stop()

    assert [b["event_type"] for b in first] == ["SectorDefined"] * 15
    assert [b["data"]["slug"] for b in first] == list(BUILT_IN_SECTORS)
    assert all(b["aggregate_id"] == str(uuid5(SECTOR_NAMESPACE, b["data"]["slug"])) for b in first)
    assert first[9]["data"] == {
        "slug": "microbrasserie",
        "label": {"fr": "Microbrasseries", "en": "Microbreweries"},
    }
    assert len(after_restart) == 16
    assert after_restart[15]["data"] == {"slug": "imprimerie", "label": label}
    assert after_restart[15]["aggregate_id"] == str(uuid5(SECTOR_NAMESPACE, "imprimerie"))


def test_a_store_from_before_the_sector_list_gets_the_built_ins_on_upgrade(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    data_dir = tmp_path / "membership"
    data_dir.mkdir()
    database = Database(f"sqlite:///{data_dir / 'membership.sqlite3'}", app_name="membership")
    database.create_tables(views.metadata)
    before = Membership(database)  # a version-1 store: cooperatives, no sector list
    cooperative_id = uuid4()
    before.join(
        cooperative_id,
        name="Ancienne",
        region="06",
        sector="microbrasserie",
        worker_members=4,
        joined_on=date(2020, 1, 1),
        neq=None,
    )
    before.close()
    database.dispose()

    service = ServiceProcess("membership", data_dir, nats_server.url).start()
    try:
        published = bodies(nats_server, 16)
        with service.client() as client:
            sectors = client.get("/v1/sectors").json()["items"]
            listed = client.get("/v1/cooperatives").json()["items"]
    finally:
        service.stop()

    assert [b["event_type"] for b in published] == ["CoopJoined"] + ["SectorDefined"] * 15
    assert [s["slug"] for s in sectors] == list(BUILT_IN_SECTORS)
    assert [c["id"] for c in listed] == [str(cooperative_id)]
