"""Fiscal years: parsing, bounds, cut-off and the current year in Québec."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.reporting.fiscal_year import (
    AsOfBeforeStartError,
    FiscalYear,
    FiscalYearError,
    InvalidFiscalYearError,
    InvalidYearStartError,
    YearStart,
    current_fiscal_year,
    fiscal_year_containing,
    parse_fiscal_year,
    today_in_quebec,
)


def test_default_fiscal_year_runs_from_september_first_to_august_thirty_first() -> None:
    year = parse_fiscal_year("2023-2024")

    assert year.first_year == 2023
    assert year.label == "2023-2024"
    assert str(year) == "2023-2024"
    assert year.start == date(2023, 9, 1)
    assert year.end == date(2024, 8, 31)


def test_configured_start_moves_both_bounds() -> None:
    year = parse_fiscal_year("2023-2024", "04-01")

    assert year.start == date(2023, 4, 1)
    assert year.end == date(2024, 3, 31)


def test_year_starting_in_march_ends_on_the_last_day_of_a_leap_february() -> None:
    year = parse_fiscal_year("2023-2024", "03-01")

    assert year.end == date(2024, 2, 29)


def test_year_starting_on_january_first_is_the_calendar_year() -> None:
    year = parse_fiscal_year("2024-2025", YearStart(1, 1))

    assert (year.start, year.end) == (date(2024, 1, 1), date(2024, 12, 31))


@pytest.mark.parametrize(
    "text",
    [
        "2023-2025",
        "2024-2023",
        "2023-2023",
        "2023",
        "2023/2024",
        "23-24",
        " 2023-2024",
        "2023-2024 ",
        "2023-2024\n",
        "2023-2024-2025",
        "abcd-efgh",
        "٢٠٢٣-٢٠٢٤",
        "0000-0001",
        "9999-10000",
        "",
    ],
)
def test_text_that_is_not_two_consecutive_years_is_refused(text: str) -> None:
    with pytest.raises(InvalidFiscalYearError):
        parse_fiscal_year(text)


def test_refusals_are_value_errors() -> None:
    with pytest.raises(ValueError):
        parse_fiscal_year("2023-2025")
    assert issubclass(InvalidFiscalYearError, FiscalYearError)
    assert issubclass(AsOfBeforeStartError, FiscalYearError)


@pytest.mark.parametrize("text", ["9-01", "13-01", "00-10", "09-31", "02-29", "0901", "09-1", ""])
def test_year_start_that_is_not_a_day_of_every_year_is_refused(text: str) -> None:
    with pytest.raises(InvalidYearStartError):
        YearStart.parse(text)


def test_year_start_is_written_month_dash_day() -> None:
    assert str(YearStart.parse("09-01")) == "09-01"
    assert YearStart.parse("12-31") == YearStart(12, 31)


def test_cutoff_without_as_of_is_the_end_of_the_year() -> None:
    year = parse_fiscal_year("2023-2024")

    assert year.cutoff() == date(2024, 8, 31)


def test_cutoff_is_as_of_within_the_year() -> None:
    year = parse_fiscal_year("2023-2024")

    assert year.cutoff(date(2023, 9, 1)) == date(2023, 9, 1)
    assert year.cutoff(date(2024, 1, 15)) == date(2024, 1, 15)
    assert year.cutoff(date(2024, 8, 31)) == date(2024, 8, 31)


def test_cutoff_is_the_end_of_the_year_when_as_of_is_later() -> None:
    year = parse_fiscal_year("2023-2024")

    assert year.cutoff(date(2025, 3, 1)) == date(2024, 8, 31)


def test_as_of_before_the_start_of_the_year_is_refused() -> None:
    year = parse_fiscal_year("2023-2024")

    with pytest.raises(AsOfBeforeStartError):
        year.cutoff(date(2023, 8, 31))


def test_months_lists_every_month_from_start_to_cutoff() -> None:
    year = parse_fiscal_year("2023-2024")

    assert year.months() == [
        "2023-09",
        "2023-10",
        "2023-11",
        "2023-12",
        "2024-01",
        "2024-02",
        "2024-03",
        "2024-04",
        "2024-05",
        "2024-06",
        "2024-07",
        "2024-08",
    ]
    assert year.months(date(2023, 9, 1)) == ["2023-09"]
    assert year.months(date(2024, 1, 31)) == ["2023-09", "2023-10", "2023-11", "2023-12", "2024-01"]


def test_year_starting_mid_month_spans_thirteen_calendar_months() -> None:
    year = parse_fiscal_year("2023-2024", "09-15")

    assert year.months()[0] == "2023-09"
    assert year.months()[-1] == "2024-09"
    assert len(year.months()) == 13


def test_contains_includes_both_bounds() -> None:
    year = parse_fiscal_year("2023-2024")

    assert year.contains(date(2023, 9, 1))
    assert year.contains(date(2024, 8, 31))
    assert not year.contains(date(2023, 8, 31))
    assert not year.contains(date(2024, 9, 1))


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2023, 9, 1), "2023-2024"),
        (date(2024, 8, 31), "2023-2024"),
        (date(2024, 1, 1), "2023-2024"),
        (date(2023, 8, 31), "2022-2023"),
        (date(2024, 9, 1), "2024-2025"),
    ],
)
def test_fiscal_year_containing_a_day(day: date, label: str) -> None:
    assert fiscal_year_containing(day).label == label


def test_fiscal_year_containing_a_day_follows_the_configured_start() -> None:
    assert fiscal_year_containing(date(2024, 3, 31), "04-01").label == "2023-2024"
    assert fiscal_year_containing(date(2024, 4, 1), "04-01").label == "2024-2025"


def test_next_and_previous_years_are_adjacent() -> None:
    year = parse_fiscal_year("2023-2024")

    assert year.next().start == date(2024, 9, 1)
    assert year.previous().end == date(2023, 8, 31)


def test_today_is_taken_in_quebec_time() -> None:
    # 03:30 UTC on September 1st is still August 31st in Montréal (UTC-4 in summer).
    now = datetime(2024, 9, 1, 3, 30, tzinfo=UTC)

    assert today_in_quebec(now) == date(2024, 8, 31)
    assert current_fiscal_year(now=now).label == "2023-2024"
    assert current_fiscal_year(now=datetime(2024, 9, 1, 4, 30, tzinfo=UTC)).label == "2024-2025"


def test_today_in_quebec_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError):
        today_in_quebec(datetime(2024, 9, 1, 12, 0))


def test_current_fiscal_year_uses_the_clock_by_default() -> None:
    year = current_fiscal_year()

    assert year.contains(today_in_quebec())


def test_fiscal_years_are_values() -> None:
    assert parse_fiscal_year("2023-2024") == FiscalYear(2023)
    assert len({parse_fiscal_year("2023-2024"), FiscalYear(2023, YearStart(9, 1))}) == 1
