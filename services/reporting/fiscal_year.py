"""Fiscal years of the network: parsing, bounds and the cut-off date of year-to-date figures.

A fiscal year is written ``"2023-2024"``. It starts on a configurable day of the first year
(``MM-DD``, default ``09-01``) and ends the day before that date a year later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.calendar import today_in_quebec

DEFAULT_YEAR_START = "09-01"

_LABEL = re.compile(r"([0-9]{4})-([0-9]{4})")
_MONTH_DAY = re.compile(r"([0-9]{2})-([0-9]{2})")


class FiscalYearError(ValueError):
    """A fiscal year, a fiscal year start or a cut-off date is not acceptable."""


class InvalidFiscalYearError(FiscalYearError):
    """The text is not two consecutive years such as ``2023-2024``."""


class InvalidYearStartError(FiscalYearError):
    """The fiscal year start is not a ``MM-DD`` day that exists in every year."""


class AsOfBeforeStartError(FiscalYearError):
    """The ``as_of`` date comes before the start of the fiscal year."""


@dataclass(frozen=True, order=True)
class YearStart:
    """The month and day on which every fiscal year starts."""

    month: int = 9
    day: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise InvalidYearStartError(f"month {self.month} is not between 01 and 12")
        try:
            date(2001, self.month, self.day)  # a common year: 02-29 is refused
        except ValueError as error:
            raise InvalidYearStartError(
                f"{self.month:02d}-{self.day:02d} is not a day of every year"
            ) from error

    @classmethod
    def parse(cls, text: str) -> YearStart:
        """Parse ``MM-DD`` (e.g. ``09-01``)."""
        match = _MONTH_DAY.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidYearStartError(f"{text!r} is not written MM-DD")
        return cls(int(match.group(1)), int(match.group(2)))

    def in_year(self, year: int) -> date:
        """The start day in a given calendar year."""
        return date(year, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


@dataclass(frozen=True, order=True)
class FiscalYear:
    """One fiscal year, named by the calendar year it starts in."""

    first_year: int
    year_start: YearStart = YearStart()

    def __post_init__(self) -> None:
        if not 1 <= self.first_year <= 9998:
            raise InvalidFiscalYearError(f"{self.first_year} is out of range")

    @property
    def label(self) -> str:
        """The fiscal year as written in the API, e.g. ``2023-2024``."""
        return f"{self.first_year:04d}-{self.first_year + 1:04d}"

    @property
    def start(self) -> date:
        """S, the first day of the fiscal year."""
        return self.year_start.in_year(self.first_year)

    @property
    def end(self) -> date:
        """The last day of the fiscal year (the day before the next year's start)."""
        return self.year_start.in_year(self.first_year + 1) - timedelta(days=1)

    def contains(self, day: date) -> bool:
        """Whether the day falls within the fiscal year."""
        return self.start <= day <= self.end

    def cutoff(self, as_of: date | None = None) -> date:
        """C = min(as_of, end of year); the end of year without ``as_of``."""
        if as_of is None:
            return self.end
        if as_of < self.start:
            raise AsOfBeforeStartError(
                f"as_of {as_of.isoformat()} is before the start of {self.label} "
                f"({self.start.isoformat()})"
            )
        return min(as_of, self.end)

    def months(self, cutoff: date | None = None) -> list[str]:
        """Every month from S to the cut-off (default: end of year) as ``YYYY-MM``."""
        last = self.end if cutoff is None else cutoff
        year, month = self.start.year, self.start.month
        months: list[str] = []
        while (year, month) <= (last.year, last.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def next(self) -> FiscalYear:
        """The fiscal year that follows this one."""
        return FiscalYear(self.first_year + 1, self.year_start)

    def previous(self) -> FiscalYear:
        """The fiscal year that precedes this one."""
        return FiscalYear(self.first_year - 1, self.year_start)

    def __str__(self) -> str:
        return self.label


def _year_start(year_start: str | YearStart) -> YearStart:
    return year_start if isinstance(year_start, YearStart) else YearStart.parse(year_start)


def parse_fiscal_year(text: str, year_start: str | YearStart = DEFAULT_YEAR_START) -> FiscalYear:
    """Parse ``"2023-2024"``; anything but two consecutive years raises InvalidFiscalYearError."""
    match = _LABEL.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidFiscalYearError(f"{text!r} is not written YYYY-YYYY")
    first, second = int(match.group(1)), int(match.group(2))
    if second != first + 1:
        raise InvalidFiscalYearError(f"{text!r} is not two consecutive years")
    return FiscalYear(first, _year_start(year_start))


def fiscal_year_containing(
    day: date, year_start: str | YearStart = DEFAULT_YEAR_START
) -> FiscalYear:
    """The fiscal year that contains a given day."""
    start = _year_start(year_start)
    first_year = day.year if (day.month, day.day) >= (start.month, start.day) else day.year - 1
    return FiscalYear(first_year, start)


def current_fiscal_year(
    year_start: str | YearStart = DEFAULT_YEAR_START, now: datetime | None = None
) -> FiscalYear:
    """The fiscal year that contains today's date in Québec."""
    return fiscal_year_containing(today_in_quebec(now), year_start)
