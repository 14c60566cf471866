"""Composition root of the partnerships service: settings → application, relay, consumer, API."""

from __future__ import annotations

from services.partnerships import views
from services.partnerships.api import install_errors, routes
from services.partnerships.application import Partnerships
from services.partnerships.consumers import membership_consumer
from services.partnerships.contracts import PARTNERSHIPS, to_integration
from shared import membership_view
from shared.membership_view import MembershipView
from shared.metrics import ServiceMetrics
from shared.outbox import OutboxRelay
from shared.persistence import Database
from shared.runtime import Service, service_messaging
from shared.settings import ServiceSettings


def build(settings: ServiceSettings) -> Service:
    """Wire the partnerships service from its settings."""
    database = Database(settings.database_url, app_name="partnerships")
    database.create_tables(views.metadata, membership_view.metadata)
    members = MembershipView(database)
    app = Partnerships(database, members, views.SectorList(database))
    directory = views.Directory(app)
    directory.catch_up()

    metrics = ServiceMetrics("partnerships")
    messaging = service_messaging(settings)
    relay = OutboxRelay(app, messaging, PARTNERSHIPS, to_integration, metrics)
    app.on_saved(relay.poke)
    consumer = membership_consumer(
        database, messaging, members, views.SectorList(database), metrics
    )

    service = Service(
        settings,
        database,
        messaging,
        workers=[relay.run, consumer.run],
        stoppers=[relay.stop, consumer.stop],
    )
    service.closers.append(app.close)
    service.mount_api(metrics, routes(app, directory), install_errors)
    return service
