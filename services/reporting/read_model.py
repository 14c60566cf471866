"""What the reporting service answers: indicators of a fiscal year at a cut-off, with freshness."""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Any

from services.reporting import facts
from services.reporting.fiscal_year import (
    FiscalYear,
    current_fiscal_year,
    parse_fiscal_year,
)
from services.reporting.indicators import compute_indicators, scalar_indicators
from services.reporting.projector import Projector
from shared.persistence import Database, load_position

CACHE_SIZE = 64


class ReadModel:
    """Indicators computed from the active generation of the fact model."""

    def __init__(self, database: Database, projector: Projector, year_start: str) -> None:
        self.database = database
        self.projector = projector
        self.year_start = year_start
        self._cache: dict[tuple[Any, ...], dict[str, object]] = {}
        self._lock = threading.Lock()

    def fiscal_year(self, label: str) -> FiscalYear:
        """Parse a fiscal year label with the configured start (InvalidFiscalYearError)."""
        return parse_fiscal_year(label, self.year_start)

    def current_fiscal_year(self) -> FiscalYear:
        """The fiscal year containing today's date in Québec."""
        return current_fiscal_year(self.year_start)

    def indicators(
        self,
        fiscal_year: FiscalYear,
        as_of: date | None = None,
        *,
        as_recorded: datetime | None = None,
    ) -> dict[str, Any]:
        """The contract's indicators answer for a fiscal year and optional cut-off.

        ``as_recorded``: from the facts as they stood at that instant (§11), None for what is
        known now. Answers are cached by what they depend on: the active generation, the
        stream positions it has applied, the year, the cut-off and the instant. Any applied
        message changes the key.
        """
        cutoff = fiscal_year.cutoff(as_of)
        instant = None if as_recorded is None else facts.recorded_at_text(as_recorded)
        with self.database.reading() as conn:
            generation = facts.active_generation(conn)
            positions = tuple(
                load_position(conn, name) for name in self.projector.tracking_names(generation)
            )
            key = (generation, positions, fiscal_year.label, cutoff, instant)
            indicators = self._cache.get(key)
            if indicators is None:
                indicators = compute_indicators(
                    conn, generation, fiscal_year, cutoff, as_recorded=as_recorded
                )
                with self._lock:
                    if len(self._cache) >= CACHE_SIZE:
                        self._cache.pop(next(iter(self._cache)))
                    self._cache[key] = indicators
        return {
            "fiscal_year": fiscal_year.label,
            "start": fiscal_year.start.isoformat(),
            "end": fiscal_year.end.isoformat(),
            "as_of": cutoff.isoformat(),
            "as_recorded": instant,
            "indicators": indicators,
            "freshness": self.projector.freshness(),
        }

    def sector_labels(
        self, *, as_recorded: datetime | None = None
    ) -> dict[str, dict[str, str | None]]:
        """The sector list (slug -> {fr, en}), as it stood at ``as_recorded`` when given."""
        instant = None if as_recorded is None else facts.recorded_at_text(as_recorded)
        with self.database.reading() as conn:
            generation = facts.active_generation(conn)
            return facts.sector_labels(conn, generation, instant)

    def current_scalars(self) -> dict[str, float]:
        """The current fiscal year's scalar indicators (for OpenMetrics)."""
        answer = self.indicators(self.current_fiscal_year())
        return scalar_indicators(answer["indicators"])
