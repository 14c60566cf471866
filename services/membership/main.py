"""Composition root of the membership service: settings → application, relay, HTTP API."""

from __future__ import annotations

from services.membership import views
from services.membership.api import install_errors, routes
from services.membership.application import Membership
from services.membership.contracts import MEMBERSHIP, to_integration
from shared.http import Edge, FailedAuthLimiter, create_api
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.outbox import OutboxRelay
from shared.persistence import Database
from shared.runtime import DEFAULT_NATS_URL, Service
from shared.settings import ServiceSettings


def build(settings: ServiceSettings) -> Service:
    """Wire the membership service from its settings."""
    database = Database(settings.database_url, app_name="membership")
    database.create_tables(views.metadata)
    app = Membership(database)
    directory = views.CooperativeDirectory(app)
    directory.catch_up()

    metrics = ServiceMetrics("membership")
    messaging = Messaging(
        settings.nats_url or DEFAULT_NATS_URL,
        name="coop-membership",
        replicas=settings.nats_replicas,
    )
    relay = OutboxRelay(app, messaging, MEMBERSHIP, to_integration, metrics)
    app.on_saved(relay.poke)

    service = Service(settings, database, messaging, workers=[relay.run], stoppers=[relay.stop])
    service.closers.append(app.close)
    edge = Edge(settings.tokens, database, metrics, FailedAuthLimiter())
    api = create_api(
        title="Réseau COOP — membership",
        edge=edge,
        readiness=service.ready,
        lifespan=service.lifespan,
    )
    api.include_router(routes(app, directory))
    install_errors(api)
    service.api = api
    return service
