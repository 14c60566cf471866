"""Composition root of the membership service: settings → application, relay, HTTP API."""

from __future__ import annotations

from services.membership import views
from services.membership.api import install_errors, routes
from services.membership.application import Membership
from services.membership.contracts import MEMBERSHIP, to_integration
from shared.metrics import ServiceMetrics
from shared.outbox import OutboxRelay
from shared.persistence import Database
from shared.runtime import Service, service_messaging
from shared.settings import ServiceSettings


def build(settings: ServiceSettings) -> Service:
    """Wire the membership service from its settings."""
    database = Database(settings.database_url, app_name="membership")
    database.create_tables(views.metadata)
    app = Membership(database)
    app.define_built_in_sectors()
    directory = views.CooperativeDirectory(app)
    directory.catch_up()
    sector_list = views.SectorList(app)
    sector_list.catch_up()

    metrics = ServiceMetrics("membership")
    messaging = service_messaging(settings)
    relay = OutboxRelay(app, messaging, MEMBERSHIP, to_integration, metrics)
    app.on_saved(relay.poke)

    service = Service(settings, database, messaging, workers=[relay.run], stoppers=[relay.stop])
    service.closers.append(app.close)
    service.mount_api(metrics, routes(app, directory, sector_list), install_errors)
    return service
