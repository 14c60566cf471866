"""Closures and targets as the reporting service's own event-sourced records (§11, §16.18)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import pytest

from services.reporting.closures import (
    AlreadyClosedError,
    NotClosedError,
    Records,
    to_integration,
)
from shared.contracts.reporting import (
    FISCAL_YEAR_NAMESPACE,
    REPORTING,
    fiscal_year_id,
)
from shared.persistence import Database

YEAR = "2023-2024"
FIGURES = {"members.total": 125, "members.by_region": {"06": 48}}


@pytest.fixture
def records(tmp_path: Path) -> Iterator[Records]:
    database = Database(f"sqlite:///{tmp_path / 'reporting.sqlite3'}", app_name="reporting")
    database.create_tables()
    app = Records(database)
    yield app
    app.close()
    database.dispose()


def close(records: Records, closed_at: str = "2024-10-01T12:00:00.000000Z") -> Any:
    return records.close_year(
        YEAR, closed_at=closed_at, note=None, indicators=FIGURES, freshness={}
    )


def published(records: Records) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for notification in records.recorder.select_notifications(start=1, limit=100):
        mapped = to_integration(records.mapper.to_domain_event(notification))
        if mapped is not None:
            out.append(mapped)
    return out


def test_a_years_records_live_under_the_uuid5_of_its_label_in_a_fixed_namespace() -> None:
    assert fiscal_year_id(YEAR) == uuid5(FISCAL_YEAR_NAMESPACE, "2023-2024")
    assert UUID("3f1c6a52-0d7e-4b7b-a5e4-2c9d8e61b0f4") == FISCAL_YEAR_NAMESPACE


def test_a_closed_year_cannot_be_closed_again_and_an_open_one_cannot_be_reopened(
    records: Records,
) -> None:
    with pytest.raises(NotClosedError):
        records.reopen_year(YEAR)
    close(records)
    with pytest.raises(AlreadyClosedError):
        close(records)
    records.reopen_year(YEAR)
    assert records.closure(YEAR) is None
    with pytest.raises(NotClosedError):
        records.reopen_year(YEAR)


def test_closing_again_after_a_reopening_stores_the_new_figures_and_keeps_the_old_ones_findable(
    records: Records,
) -> None:
    first = close(records)
    records.reopen_year(YEAR)
    second = records.close_year(
        YEAR,
        closed_at="2024-11-01T12:00:00.000000Z",
        note="corrigé",
        indicators={"members.total": 126},
        freshness={},
    )
    current = records.closure(YEAR)
    assert current == second and current is not None
    assert current.indicators == {"members.total": 126}
    assert records.closure_at(YEAR, first.closed_at) == first


def test_the_records_are_published_as_the_contract_names_them(records: Records) -> None:
    close(records)
    records.set_targets(YEAR, {"members.total": 150})
    records.reopen_year(YEAR)
    events = published(records)
    assert [name for name, _ in events] == ["FiscalYearClosed", "TargetsSet", "FiscalYearReopened"]
    assert events[0][1] == {
        "fiscal_year": YEAR,
        "closed_at": "2024-10-01T12:00:00.000000Z",
        "note": None,
        "indicators": FIGURES,
    }
    assert events[1][1] == {"fiscal_year": YEAR, "targets": {"members.total": 150}}
    assert events[2][1] == {"fiscal_year": YEAR}
    for name, data in events:
        assert REPORTING.models[name].model_validate(data).model_dump(mode="json") == data
    assert REPORTING.subject("FiscalYearClosed") == "coop.reporting.FiscalYearClosed"


def test_the_same_targets_record_nothing_and_an_empty_object_clears_them(
    records: Records,
) -> None:
    assert records.set_targets(YEAR, {"members.total": 150})
    assert not records.set_targets(YEAR, {"members.total": 150})
    assert records.set_targets(YEAR, {})
    assert records.targets(YEAR) == {}
    assert [name for name, _ in published(records)] == ["TargetsSet", "TargetsSet"]


def test_every_year_with_records_is_listed(records: Records) -> None:
    assert records.labels() == set()
    close(records)
    records.set_targets("2026-2027", {"members.total": 150})
    assert records.labels() == {YEAR, "2026-2027"}
