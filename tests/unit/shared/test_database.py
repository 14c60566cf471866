"""How a service's SQLite database is opened."""

from __future__ import annotations

from pathlib import Path

from shared.persistence import Database

FULL, NORMAL = 2, 1  # PRAGMA synchronous values


def pragma(database: Database, name: str) -> object:
    with database.engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_a_database_of_record_waits_for_the_disk_at_every_commit(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'membership.db'}", app_name="membership")
    assert pragma(database, "journal_mode") == "wal"
    assert pragma(database, "synchronous") == FULL


def test_a_derived_database_commits_without_waiting_for_the_disk(tmp_path: Path) -> None:
    database = Database(
        f"sqlite:///{tmp_path / 'reporting.db'}", app_name="reporting", derived=True
    )
    assert pragma(database, "journal_mode") == "wal"
    assert pragma(database, "synchronous") == NORMAL


def test_a_write_of_what_is_rebuilt_after_a_crash_does_not_wait_for_the_disk(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'membership.db'}", app_name="membership")

    with database.writing(durable=False) as conn:
        relaxed = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    with database.writing() as conn:
        durable = conn.exec_driver_sql("PRAGMA synchronous").scalar()

    assert (relaxed, durable) == (NORMAL, FULL)
    assert pragma(database, "synchronous") == FULL  # the pooled connection is given back FULL
