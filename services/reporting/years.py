"""Which fiscal years the reporting service lists (contract §11, §16.10)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa

from services.reporting import facts
from services.reporting.fiscal_year import (
    FiscalYear,
    FiscalYearError,
    YearStart,
    fiscal_year_containing,
)

MOST_YEARS_IN_A_SERIES = 10


def business_date_range(conn: sa.Connection) -> tuple[date, date] | None:
    """The earliest and latest business dates in the active generation (None without data)."""
    generation = facts.active_generation(conn)
    columns = (
        (facts.membership_periods, "start_on"),
        (facts.membership_periods, "end_on"),
        (facts.activities, "activity_date"),
        (facts.ambassadors, "enrolled_on"),
        (facts.ambassador_actions, "performed_on"),
    )
    days: list[date] = []
    for table, name in columns:
        column = table.c[name]
        row = conn.execute(
            sa.select(sa.func.min(column), sa.func.max(column)).where(
                table.c.generation == generation
            )
        ).first()
        if row is not None:
            days += [_as_date(value) for value in row if value is not None]
    if not days:
        return None
    return min(days), max(days)


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def listed_years(
    dates: tuple[date, date] | None,
    current: FiscalYear,
    decided: Iterable[FiscalYear],
    start: YearStart | str,
) -> list[FiscalYear]:
    """Ascending from the earliest year with data to the latest of the current year and any
    year with a target, a closure or a business date (§16.10)."""
    decided_firsts = [y.first_year for y in decided]
    data_firsts = [first_year_of(day, start) for day in dates] if dates else []
    earliest = min(data_firsts[:1] or [current.first_year, *decided_firsts])
    earliest = min([earliest, *decided_firsts])
    latest = max([current.first_year, *decided_firsts, *data_firsts])
    return [FiscalYear(first, current.year_start) for first in range(earliest, latest + 1)]


def first_year_of(day: date, start: YearStart | str) -> int:
    """The first calendar year of the fiscal year containing `day`, within the years that can
    be written (`0001-0002` to `9998-9999`)."""
    try:
        return fiscal_year_containing(day, start).first_year
    except FiscalYearError:  # a day before the first or after the last such year
        return 1 if day.year < 5000 else 9998


def series_years(first: FiscalYear, last: FiscalYear) -> list[FiscalYear]:
    """The years from `first` to `last`, both included."""
    return [FiscalYear(y, first.year_start) for y in range(first.first_year, last.first_year + 1)]
