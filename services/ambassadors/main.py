"""Composition root of the ambassadors service: settings → application, relay, consumer, API."""

from __future__ import annotations

from services.ambassadors import personal_data, views
from services.ambassadors.api import install_errors, routes
from services.ambassadors.application import Ambassadors
from services.ambassadors.consumers import DURABLE, MembershipWithDeparturePolicy
from services.ambassadors.contracts import AMBASSADORS, to_integration
from shared import membership_view
from shared.consumer import StreamConsumer
from shared.contracts.membership import MEMBERSHIP
from shared.metrics import ServiceMetrics
from shared.outbox import OutboxRelay
from shared.persistence import Database
from shared.runtime import Service, service_messaging
from shared.settings import ServiceSettings


def build(settings: ServiceSettings) -> Service:
    """Wire the ambassadors service from its settings."""
    database = Database(settings.database_url, app_name="ambassadors")
    database.create_tables(views.metadata, personal_data.metadata, membership_view.metadata)
    membership = membership_view.MembershipView(database)
    personal = personal_data.PersonalDataStore(database)
    app = Ambassadors(
        database,
        personal_data.recorder_env(database),
        membership=membership,
        personal=personal,
    )
    listing = views.AmbassadorList(app, personal)
    listing.catch_up()

    metrics = ServiceMetrics("ambassadors")
    messaging = service_messaging(settings)
    relay = OutboxRelay(app, messaging, AMBASSADORS, to_integration, metrics)
    app.on_saved(relay.poke)
    consumer = StreamConsumer(
        database,
        messaging,
        MEMBERSHIP,
        MembershipWithDeparturePolicy(membership, app),
        metrics,
        durable=DURABLE,
    )

    service = Service(
        settings,
        database,
        messaging,
        workers=[relay.run, consumer.run],
        stoppers=[relay.stop, consumer.stop],
    )
    service.closers.append(app.close)
    service.mount_api(metrics, routes(app, listing), install_errors)
    return service
