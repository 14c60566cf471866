"""Composition root of the events service: settings → application, relay, consumer, HTTP API."""

from __future__ import annotations

from services.events import views
from services.events.api import install_errors, routes
from services.events.application import Events
from services.events.consumers import membership_consumer
from services.events.contracts import EVENTS, to_integration
from shared import membership_view
from shared.http import Edge, FailedAuthLimiter, create_api
from shared.membership_view import MembershipView
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.outbox import OutboxRelay
from shared.persistence import Database
from shared.runtime import DEFAULT_NATS_URL, Service
from shared.settings import ServiceSettings


def build(settings: ServiceSettings) -> Service:
    """Wire the events service from its settings."""
    database = Database(settings.database_url, app_name="events")
    database.create_tables(views.metadata, membership_view.metadata)
    members = MembershipView(database)
    app = Events(database, members)
    catalogue = views.ActivityCatalogue(app, app.serial)
    catalogue.catch_up()

    metrics = ServiceMetrics("events")
    messaging = Messaging(
        settings.nats_url or DEFAULT_NATS_URL,
        name="coop-events",
        replicas=settings.nats_replicas,
    )
    relay = OutboxRelay(app, messaging, EVENTS, to_integration, metrics)
    app.on_saved(relay.poke)
    consumer = membership_consumer(database, messaging, members, metrics)

    service = Service(
        settings,
        database,
        messaging,
        workers=[relay.run, consumer.run],
        stoppers=[relay.stop, consumer.stop],
    )
    service.closers.append(app.close)
    edge = Edge(settings.tokens, database, metrics, FailedAuthLimiter())
    api = create_api(
        title="Réseau COOP — events",
        edge=edge,
        readiness=service.ready,
        lifespan=service.lifespan,
    )
    api.include_router(routes(app, catalogue))
    install_errors(api)
    service.api = api
    return service
