"""Composition root of the events service: settings → application, relay, consumer, HTTP API."""

from __future__ import annotations

from services.events import views
from services.events.api import install_errors, routes
from services.events.application import Events
from services.events.consumers import membership_consumer
from services.events.contracts import EVENTS, to_integration
from shared import membership_view
from shared.membership_view import MembershipView
from shared.metrics import ServiceMetrics
from shared.outbox import OutboxRelay
from shared.persistence import Database
from shared.runtime import Service, service_messaging
from shared.settings import ServiceSettings


def build(settings: ServiceSettings) -> Service:
    """Wire the events service from its settings."""
    database = Database(settings.database_url, app_name="events")
    database.create_tables(views.metadata, membership_view.metadata)
    members = MembershipView(database)
    app = Events(database, members)
    catalogue = views.ActivityCatalogue(app, app.serial)
    catalogue.catch_up()
    index = views.AttendanceIndex(app, app.serial)
    index.catch_up()

    metrics = ServiceMetrics("events")
    messaging = service_messaging(settings)
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
    service.mount_api(metrics, routes(app, catalogue, index), install_errors)
    return service
