"""Closed fiscal years and strategic-plan targets: reporting's own event-sourced records (§11).

The projection's fact model is derived from the streams and dropped on a rebuild; these
records are not derived from anything: they live in the reporting service's event store and
are published on `COOP_REPORTING`. One aggregate per fiscal year, whose id is the UUID5 of
the year's label (`shared.contracts.reporting.fiscal_year_id`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event

from shared.application import CoopApplication
from shared.contracts.reporting import (
    REPORTING,
    FiscalYearClosed,
    FiscalYearReopened,
    TargetsSet,
    fiscal_year_id,
)
from shared.persistence import CommandContext, Database

__all__ = ["REPORTING", "Closure", "FiscalYearRecords", "Records", "to_integration"]

Number = int | float
_PROGRESS_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Closure:
    """A closed year's stored figures."""

    fiscal_year: str
    closed_at: str
    note: str | None
    indicators: dict[str, Any]
    freshness: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """`{closed_at, note}` as the indicators answers carry it."""
        return {"closed_at": self.closed_at, "note": self.note}

    def represent(self) -> dict[str, Any]:
        """`{fiscal_year, closed_at, note, indicators}`."""
        return {
            "fiscal_year": self.fiscal_year,
            "closed_at": self.closed_at,
            "note": self.note,
            "indicators": self.indicators,
        }


class FiscalYearRecords(Aggregate):
    """What staff decided about one fiscal year: its closure and its targets."""

    class Opened(Aggregate.Created):
        """The year's records were started (bookkeeping; not published)."""

        fiscal_year: str

    class Closed(Aggregate.Event):
        """The year was closed with its figures as they stood."""

        fiscal_year: str
        closed_at: str
        note: str | None
        indicators: dict[str, Any]
        freshness: dict[str, Any]

    class Reopened(Aggregate.Event):
        """The year was reopened."""

        fiscal_year: str

    class TargetsSet(Aggregate.Event):
        """The year's targets were replaced."""

        fiscal_year: str
        targets: dict[str, Any]

    @event(Opened)
    def __init__(self, fiscal_year: str) -> None:
        self.fiscal_year = fiscal_year
        self.closure: Closure | None = None
        self.closures: list[Closure] = []  # every closure it ever had, oldest first
        self.targets: dict[str, Number] = {}

    @classmethod
    def open(cls, fiscal_year: str) -> FiscalYearRecords:
        """A fresh record of `fiscal_year`, under its fixed id."""
        return cls._create(cls.Opened, id=fiscal_year_id(fiscal_year), fiscal_year=fiscal_year)

    def close(
        self,
        *,
        closed_at: str,
        note: str | None,
        indicators: dict[str, Any],
        freshness: dict[str, Any],
    ) -> None:
        """Close the year with its figures and their freshness (409 when already closed)."""
        check_open(self)
        self._closed(
            fiscal_year=self.fiscal_year,
            closed_at=closed_at,
            note=note,
            indicators=indicators,
            freshness=freshness,
        )

    @event(Closed)
    def _closed(
        self,
        fiscal_year: str,
        closed_at: str,
        note: str | None,
        indicators: dict[str, Any],
        freshness: dict[str, Any],
    ) -> None:
        self.closure = Closure(self.fiscal_year, closed_at, note, indicators, freshness)
        self.closures.append(self.closure)

    def reopen(self) -> None:
        """Reopen the year (404 when it is open)."""
        check_closed(self, self.fiscal_year)
        self._reopened(fiscal_year=self.fiscal_year)

    @event(Reopened)
    def _reopened(self, fiscal_year: str) -> None:
        self.closure = None

    def set_targets(self, targets: dict[str, Number]) -> bool:
        """Replace the year's targets; False (nothing recorded) when they are the same."""
        if targets == self.targets:
            return False
        self._targets_set(fiscal_year=self.fiscal_year, targets=dict(targets))
        return True

    @event(TargetsSet)
    def _targets_set(self, fiscal_year: str, targets: dict[str, Any]) -> None:
        self.targets = dict(targets)


def check_open(records: FiscalYearRecords) -> None:
    """Refuse to close a closed year."""
    if records.closure is not None:
        raise AlreadyClosedError(f"{records.fiscal_year} is already closed")


def check_closed(records: FiscalYearRecords | None, fiscal_year: str = "the year") -> None:
    """Refuse to reopen (or read the closure of) an open year."""
    if records is None or records.closure is None:
        raise NotClosedError(f"{fiscal_year} is not closed")


def progress(value: Any, target: Number) -> float | None:
    """value ÷ target in decimal from the JSON numbers, half-even to 4 places; None for 0."""
    goal = Decimal(str(target))
    if goal == 0:
        return None
    ratio = (Decimal(str(value)) / goal).quantize(_PROGRESS_PLACES, ROUND_HALF_EVEN)
    return float(ratio)


def is_scalar_indicator(name: str, names: Iterable[str]) -> bool:
    """Scalar indicators are every indicator but the objects (`…by_…`)."""
    return name in names and "by_" not in name


def is_rate(name: str) -> bool:
    """A rate is at most 1."""
    return name.endswith(".rate")


def check_targets(data: dict[str, Any], names: Iterable[str]) -> dict[str, Number]:
    """Targets of scalar indicators: JSON numbers ≥ 0, a rate ≤ 1 (InvalidTargetsError)."""
    known = set(names)
    errors: list[tuple[str, str]] = []
    targets: dict[str, Number] = {}
    for name, value in data.items():
        if name not in known:
            message = "is not an indicator"
        elif not is_scalar_indicator(name, known):
            message = "is not a scalar indicator"
        elif isinstance(value, bool) or not isinstance(value, int | float):
            message = "must be a number"
        elif not math.isfinite(value) or value < 0:
            message = "must be a number ≥ 0"
        elif is_rate(name) and value > 1:
            message = "a rate is at most 1"
        else:
            targets[name] = value
            continue
        errors.append((name, message))
    if errors:
        raise InvalidTargetsError(errors)
    return targets


def with_progress(indicators: dict[str, Any], targets: dict[str, Number]) -> dict[str, Any]:
    """`{indicator: {target, progress}}` for the figures shown."""
    return {
        name: {"target": target, "progress": progress(indicators.get(name, 0), target)}
        for name, target in targets.items()
    }


def changes_since(closed: dict[str, Any], live: dict[str, Any]) -> list[dict[str, Any]]:
    """Each value (a scalar, or an object's key) that differs; a missing key reads 0."""
    changes: list[dict[str, Any]] = []
    names = list(closed) + [name for name in live if name not in closed]
    for name in names:
        before, now = closed.get(name), live.get(name)
        if isinstance(before, dict) or isinstance(now, dict):
            old = before if isinstance(before, dict) else {}
            new = now if isinstance(now, dict) else {}
            for key in list(old) + [key for key in new if key not in old]:
                if old.get(key, 0) != new.get(key, 0):
                    changes.append(
                        {
                            "indicator": name,
                            "key": key,
                            "closed": old.get(key, 0),
                            "live": new.get(key, 0),
                        }
                    )
        elif (before or 0) != (now or 0):
            changes.append(
                {"indicator": name, "key": None, "closed": before or 0, "live": now or 0}
            )
    return changes


class Records(CoopApplication):
    """The reporting service's application: closures and targets of fiscal years."""

    name = "reporting"

    def __init__(self, database: Database, env: dict[str, str] | None = None) -> None:
        super().__init__(database, env)
        self._labels_lock = threading.Lock()
        self._labels: set[str] = set()
        self._scanned = 0

    def year(self, fiscal_year: str) -> FiscalYearRecords | None:
        """The year's records, or None when nothing was ever decided about it."""
        try:
            found: object = self.repository.get(fiscal_year_id(fiscal_year))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, FiscalYearRecords) else None

    def closure(self, fiscal_year: str) -> Closure | None:
        """The year's closure, None when open."""
        records = self.year(fiscal_year)
        return records.closure if records else None

    def closure_at(self, fiscal_year: str, closed_at: str) -> Closure | None:
        """The closure of the year taken at `closed_at`, even if reopened since."""
        records = self.year(fiscal_year)
        for closure in records.closures if records else []:
            if closure.closed_at == closed_at:
                return closure
        return None

    def targets(self, fiscal_year: str) -> dict[str, Number]:
        """The year's targets ({} when none)."""
        records = self.year(fiscal_year)
        return dict(records.targets) if records else {}

    def close_year(
        self,
        fiscal_year: str,
        *,
        closed_at: str,
        note: str | None,
        indicators: dict[str, Any],
        freshness: dict[str, Any],
        context: CommandContext | None = None,
    ) -> Closure:
        """Close a year with its figures (AlreadyClosedError)."""
        records = self.year(fiscal_year) or FiscalYearRecords.open(fiscal_year)
        records.close(closed_at=closed_at, note=note, indicators=indicators, freshness=freshness)
        self.record(context, records)
        assert records.closure is not None
        return records.closure

    def reopen_year(self, fiscal_year: str, *, context: CommandContext | None = None) -> None:
        """Reopen a closed year (NotClosedError)."""
        records = self.year(fiscal_year)
        check_closed(records, fiscal_year)
        assert records is not None
        records.reopen()
        self.record(context, records)

    def set_targets(
        self,
        fiscal_year: str,
        targets: dict[str, Number],
        *,
        context: CommandContext | None = None,
    ) -> bool:
        """Replace a year's targets; False when nothing changed (nothing recorded)."""
        records = self.year(fiscal_year) or FiscalYearRecords.open(fiscal_year)
        if not records.set_targets(targets):
            return False
        self.record(context, records)
        return True

    def labels(self) -> set[str]:
        """Every fiscal year that has records (a closure or targets, now or once)."""
        with self._labels_lock:
            while True:
                batch = self.recorder.select_notifications(start=self._scanned + 1, limit=500)
                if not batch:
                    break
                for notification in batch:
                    self._scanned = notification.id
                    if notification.topic.endswith("FiscalYearRecords.Opened"):
                        found = self.year_by_id(UUID(str(notification.originator_id)))
                        if found is not None:
                            self._labels.add(found.fiscal_year)
            return set(self._labels)

    def year_by_id(self, aggregate_id: UUID) -> FiscalYearRecords | None:
        """The records under an aggregate id."""
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, FiscalYearRecords) else None


def to_integration(event: Any) -> tuple[str, dict[str, Any]] | None:
    """The integration event type and data of a stored domain event (None: not published)."""
    if isinstance(event, FiscalYearRecords.Closed):
        payload: Any = FiscalYearClosed(
            fiscal_year=event.fiscal_year,
            closed_at=event.closed_at,
            note=event.note,
            indicators=event.indicators,
        )
    elif isinstance(event, FiscalYearRecords.Reopened):
        payload = FiscalYearReopened(fiscal_year=event.fiscal_year)
    elif isinstance(event, FiscalYearRecords.TargetsSet):
        payload = TargetsSet(fiscal_year=event.fiscal_year, targets=event.targets)
    else:
        return None
    return type(payload).__name__, payload.model_dump(mode="json")


class ReportingRecordsError(Exception):
    """A refusal of the reporting service's records."""


class AlreadyClosedError(ReportingRecordsError):
    """The year is already closed (409)."""


class NotClosedError(ReportingRecordsError):
    """The year is open (404)."""


class InvalidTargetsError(ReportingRecordsError):
    """Targets that are not numbers ≥ 0 of scalar indicators (a rate ≤ 1): 422 per field."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field} {message}" for field, message in errors))
        self.errors = errors
