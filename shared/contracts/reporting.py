"""`COOP_REPORTING`: what the reporting service publishes — its closures and targets (§11).

A fiscal year's records have as aggregate id the UUID5 of its label (`"2023-2024"`) under
`FISCAL_YEAR_NAMESPACE` (contract §16.18).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from shared.integration import Payload, StreamContract

REPORTING = StreamContract(stream="COOP_REPORTING", service="reporting")

FISCAL_YEAR_NAMESPACE = UUID("3f1c6a52-0d7e-4b7b-a5e4-2c9d8e61b0f4")


def fiscal_year_id(label: str) -> UUID:
    """The aggregate id of a fiscal year's records: UUID5 of its label (`"2023-2024"`)."""
    return uuid5(FISCAL_YEAR_NAMESPACE, label)


@REPORTING.event
class FiscalYearClosed(Payload):
    """Staff closed a fiscal year: its figures as stored then (C = end of year)."""

    fiscal_year: str
    closed_at: str
    note: str | None = None
    indicators: dict[str, Any]


@REPORTING.event
class FiscalYearReopened(Payload):
    """A closed fiscal year was reopened: its figures are live again."""

    fiscal_year: str


@REPORTING.event
class TargetsSet(Payload):
    """The strategic plan's targets for a fiscal year, replaced as a whole (`{}` clears)."""

    fiscal_year: str
    targets: dict[str, int | float]
