"""Composition root of the reporting service: settings → fact model, projector, HTTP API."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.reporting import facts
from services.reporting.api import install_errors, routes
from services.reporting.closures import REPORTING, Records, to_integration
from services.reporting.projector import Projector, freshness_metadata
from services.reporting.read_model import ReadModel
from shared.metrics import ServiceMetrics
from shared.outbox import OutboxRelay
from shared.persistence import Database
from shared.runtime import Service, service_messaging
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)


class IndicatorCollector(Collector):
    """OpenMetrics gauges of the current fiscal year's scalar indicators, read at scrape time."""

    def __init__(self, read_model: ReadModel) -> None:
        self.read_model = read_model

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One gauge family, labelled by indicator name (a fixed, bounded set)."""
        family = GaugeMetricFamily(
            "coop_indicator",
            "The current fiscal year's scalar indicators (contract §5).",
            labels=["indicator", "fiscal_year"],
        )
        try:
            year = self.read_model.current_fiscal_year()
            for name, value in self.read_model.current_scalars().items():
                family.add_metric([name, year.label], value)
        except Exception as error:  # a scrape never fails because of one query
            log.warning("indicators unavailable for /metrics: %s", error)
        yield family


def build(settings: ServiceSettings) -> Service:
    """Wire the reporting service from its settings."""
    database = Database(settings.database_url, app_name="reporting", derived=True)
    database.create_tables(freshness_metadata)
    with database.writing() as conn:
        facts.create_schema(conn)

    # Closures and targets: an event store of their own, never dropped by a rebuild (§11).
    records_database = Database(settings.database_url, app_name="reporting")
    records = Records(records_database)

    metrics = ServiceMetrics("reporting")
    messaging = service_messaging(settings)
    projector = Projector(database, messaging, metrics)
    read_model = ReadModel(database, projector, settings.fiscal_year_start)
    metrics.registry.register(IndicatorCollector(read_model))
    relay = OutboxRelay(records, messaging, REPORTING, to_integration, metrics)
    records.on_saved(relay.poke)

    service = Service(settings, database, messaging, workers=[projector.run, relay.run])
    service.stoppers += [projector.stop, relay.stop]
    service.closers += [records.close, records_database.dispose]
    service.mount_api(metrics, routes(read_model, projector, records), install_errors)
    return service
