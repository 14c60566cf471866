"""The in-process tier: each service built by its own composition root, without NATS.

`InProcessPlatform.start(name)` calls the service's `build(settings)` (the one `coop serve`
calls) with settings read the usual way from an environment whose data dir is the test's tmp
dir, so each service runs on its own SQLite file there. Its FastAPI app is driven through
FastAPI's `TestClient` *outside* its lifespan: the lifespan is what starts the NATS connection,
the outbox relay and the consumers, so none of them runs, and no production seam is needed.

What NATS would carry is carried in-process by `sync()`: the integration events each publisher
recorded in its notification log, mapped by the relay's own `to_integration` into the envelope
the relay would publish (contract §7), are handed to each consumer's own projection in the
order of the log — `prepare` outside the transaction, then the batch (or each message) inside
one, as `shared.consumer.StreamConsumer` applies a batch. The projections are the objects the
composition root wired into its consumers (found on the service's workers; for reporting, the
`FactProjection` of the active generation its `Projector` gives each stream's consumer), so the
membership views of events, ambassadors and partnerships (with the ambassadors' departure
policy) and the reporting fact model move as they do in production. Exactly-once bookkeeping,
parking, redelivery and the relay's publishing are not exercised here: tests/integration and
tests/faults prove those against a real nats-server.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from services import registry
from services.reporting.projector import STREAMS, FactProjection, Projector
from shared.application import CoopApplication
from shared.consumer import BatchProjection, Projection, StreamConsumer
from shared.integration import Envelope, StreamContract, event_id_for, rfc3339
from shared.outbox import OutboxRelay
from shared.persistence import Database, save_position
from shared.runtime import Service
from shared.settings import SCOPES, ServiceSettings

ADMIN = "inprocess-admin-token"
"""Every scope."""
READER = "inprocess-reader-token"
"""`read` only: no write scope, no `personal:read`."""
PERSONAL = "inprocess-personal-token"
"""`read` and `personal:read`, not `privacy:admin`."""
WRITER = "inprocess-writer-token"
"""Every `…:write` scope, no `read`."""
TOKENS: dict[str, list[str]] = {
    ADMIN: sorted(SCOPES),
    READER: ["read"],
    PERSONAL: ["read", "personal:read"],
    WRITER: sorted(s for s in SCOPES if s.endswith(":write")),
}
BATCH = 500  # notifications read from a publisher's log at a time


def bearer(token: str | None) -> dict[str, str]:
    """The Authorization header of a token (none for None)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


@dataclass
class Subscription:
    """One consumer's projection of one publisher's stream, and how far it has been fed."""

    database: Database
    contract: StreamContract
    projection: Projection
    tracking_name: str
    """The consumer's tracking row: the stream sequence it applied (reporting caches on it)."""
    position: int = 0  # the last notification id of the publisher's log handed over
    sequence: int = 0  # the stream sequence of the last envelope applied

    def deliver(self, envelopes: Sequence[Envelope]) -> None:
        """Apply a batch as the consumer does: prepare each, then one transaction that also
        records the stream sequence reached."""
        envelopes = [self.contract.upcast(e) for e in envelopes]
        for envelope in envelopes:
            self.projection.prepare(envelope)
        with self.database.writing() as conn:
            self.sequence += len(envelopes)
            save_position(conn, self.tracking_name, self.sequence)
            if isinstance(self.projection, BatchProjection):
                batch = self.projection.begin(conn, envelopes)
                for envelope in envelopes:
                    batch.apply(envelope)
                batch.flush()
            else:
                for envelope in envelopes:
                    self.projection.apply(conn, envelope)


@dataclass
class InProcessService:
    """A service built by its composition root, its HTTP API under a TestClient."""

    name: str
    service: Service
    relay: OutboxRelay | None
    subscriptions: list[Subscription] = field(default_factory=list)
    _clients: list[TestClient] = field(default_factory=list)

    @property
    def app(self) -> CoopApplication:
        """The service's eventsourcing application (the one its relay publishes from)."""
        assert self.relay is not None, f"{self.name} publishes nothing"
        return self.relay.app

    def client(self, token: str | None = ADMIN, **headers: str) -> TestClient:
        """A client on the service's API with `token` (default: every scope); an unhandled
        error in the service raises in the test instead of answering 500."""
        assert self.service.api is not None
        client = TestClient(
            self.service.api,
            headers={**bearer(token), **headers},
        )
        self._clients.append(client)
        return client

    def published(self, after: int = 0, limit: int = BATCH) -> list[tuple[int, Envelope | None]]:
        """The envelopes the relay would publish after notification `after`, by notification id
        (None for an event the service keeps to itself)."""
        relay = self.relay
        assert relay is not None, f"{self.name} publishes nothing"
        app = relay.app
        found: list[tuple[int, Envelope | None]] = []
        for notification in app.recorder.select_notifications(after + 1, limit):
            domain_event: Any = app.mapper.to_domain_event(notification)
            mapped = relay.to_integration(domain_event)
            if mapped is None:
                found.append((notification.id, None))  # an internal event: not on the stream
                continue
            event_type, data = mapped
            aggregate_id = str(notification.originator_id)
            event_id = event_id_for(aggregate_id, notification.originator_version)
            envelope = Envelope(
                event_id=event_id,
                event_type=event_type,
                schema_version=relay.contract.versions.get(event_type, 1),
                aggregate_id=aggregate_id,
                aggregate_version=notification.originator_version,
                occurred_at=rfc3339(domain_event.timestamp),
                correlation_id=event_id,
                causation_id=None,
                data=json.loads(json.dumps(data)),  # what goes through the wire as JSON
            )
            found.append((notification.id, envelope))
        return found

    def close(self) -> None:
        """What `Service.stop` does once the workers are gone: close the app and the store."""
        for client in self._clients:
            client.close()
        for close in self.service.closers:
            close()
        self.service.database.dispose()


def _parts(
    service: Service,
) -> tuple[OutboxRelay | None, list[StreamConsumer], Projector | None]:
    """The relay, consumers and projector the composition root put among the workers."""
    relay, consumers, projector = None, [], None
    for worker in service.workers:
        owner = getattr(worker, "__self__", None)
        if isinstance(owner, OutboxRelay):
            relay = owner
        elif isinstance(owner, StreamConsumer):
            consumers.append(owner)
        elif isinstance(owner, Projector):
            projector = owner
        else:
            raise AssertionError(
                f"{service.settings.service}: a worker the in-process tier does not know "
                f"({worker!r}); teach tests/inprocess/platform.py how to feed it"
            )
    return relay, consumers, projector


class InProcessPlatform:
    """Services built in-process side by side, their streams carried by `sync()`."""

    def __init__(self, root: Path, **environ: str) -> None:
        self.root = root
        self.environ = {
            "COOP_DATA_DIR": str(root),
            "COOP_API_TOKENS": json.dumps(TOKENS),
            **environ,
        }
        self.services: dict[str, InProcessService] = {}

    def start(self, name: str) -> InProcessService:
        """Build `name` with its composition root (workers not started)."""
        settings = ServiceSettings.from_env(name, self.environ)
        service = registry.builder(name)(settings)
        relay, consumers, projector = _parts(service)
        running = InProcessService(name, service, relay)
        for consumer in consumers:
            running.subscriptions.append(
                Subscription(
                    service.database,
                    consumer.contract,
                    consumer.projection,
                    consumer.tracking_name,
                )
            )
        if projector is not None:
            generation = projector.active_generation()
            tracking = projector.tracking_names(generation)
            for stream, tracking_name in zip(STREAMS, tracking, strict=True):
                projection = FactProjection(stream, generation)
                running.subscriptions.append(
                    Subscription(service.database, stream, projection, tracking_name)
                )
        self.services[name] = running
        return running

    def sync(self) -> int:
        """Carry every published event to every subscribed projection, until none is left
        (a policy may publish in turn); return how many envelopes were delivered."""
        delivered = 0
        moved = True
        while moved:
            moved = False
            for consumer in self.services.values():
                for subscription in consumer.subscriptions:
                    publisher = self._publisher(subscription.contract)
                    if publisher is None:
                        continue
                    for batch in _batches(publisher, subscription.position):
                        envelopes = [e for _, e in batch if e is not None]
                        if envelopes:
                            subscription.deliver(envelopes)
                            delivered += len(envelopes)
                            moved = True
                        subscription.position = batch[-1][0]
        return delivered

    def _publisher(self, contract: StreamContract) -> InProcessService | None:
        for running in self.services.values():
            if running.relay is not None and running.relay.contract.stream == contract.stream:
                return running
        return None

    def close(self) -> None:
        """Close every service."""
        for running in self.services.values():
            running.close()
        self.services.clear()


@contextmanager
def running(root: Path, *names: str, **environ: str) -> Iterator[InProcessPlatform]:
    """A platform of the named services (in that order), closed on exit."""
    platform = InProcessPlatform(root, **environ)
    try:
        for name in names:
            platform.start(name)
        yield platform
    finally:
        platform.close()


def _batches(
    publisher: InProcessService, after: int
) -> Iterator[list[tuple[int, Envelope | None]]]:
    while batch := publisher.published(after):
        yield batch
        after = batch[-1][0]


def join(platform: InProcessPlatform, joined_on: str = "2020-01-15", *, sync: bool = True) -> str:
    """A cooperative joins the network through the membership API; the other services learn
    it when `sync` (the default). Returns its id."""
    response = (
        platform.services["membership"]
        .client()
        .post(
            "/v1/cooperatives",
            json={
                "name": f"Coop {uuid.uuid4().hex[:6]}",
                "region": "06",
                "sector": "services_conseils",
                "joined_on": joined_on,
            },
        )
    )
    assert response.status_code == 201, response.text
    if sync:
        platform.sync()
    return str(response.json()["id"])


def problem(response: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 answer of `status` (§1); return its document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    document: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= document.keys()
    assert document["status"] == status
    assert document["title"] and document["detail"]
    if status == 422:
        assert document["errors"], document
        assert all(set(e) == {"field", "message"} for e in document["errors"])
    return document


def fields_of(document: dict[str, Any]) -> set[str]:
    """The fields a 422 names."""
    return {e["field"] for e in document["errors"]}
