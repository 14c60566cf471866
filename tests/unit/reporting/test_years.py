"""Which fiscal years `GET /v1/fiscal-years` lists (§11, §16.10)."""

from __future__ import annotations

from datetime import date

from services.reporting.fiscal_year import FiscalYear, YearStart, parse_fiscal_year
from services.reporting.years import listed_years

START = YearStart()
CURRENT = parse_fiscal_year("2026-2027")


def labels(years: list[FiscalYear]) -> list[str]:
    return [year.label for year in years]


def test_from_the_earliest_year_with_data_to_the_current_one() -> None:
    dates = (date(2023, 10, 1), date(2024, 3, 1))
    assert labels(listed_years(dates, CURRENT, [], START)) == [
        "2023-2024",
        "2024-2025",
        "2025-2026",
        "2026-2027",
    ]


def test_up_to_a_later_year_with_a_target_or_a_business_date() -> None:
    target = parse_fiscal_year("2028-2029")
    assert labels(listed_years(None, CURRENT, [target], START))[-1] == "2028-2029"
    later = (date(2026, 10, 1), date(2030, 1, 1))
    assert labels(listed_years(later, CURRENT, [], START))[-1] == "2029-2030"


def test_without_data_the_current_year_alone() -> None:
    assert labels(listed_years(None, CURRENT, [], START)) == ["2026-2027"]


def test_dates_at_the_ends_of_the_calendar_stay_within_the_years_that_can_be_written() -> None:
    years = listed_years((date(1, 1, 1), date(9999, 12, 31)), CURRENT, [], START)
    assert years[0].label == "0001-0002" and years[-1].label == "9998-9999"
