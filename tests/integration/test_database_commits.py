"""Which PostgreSQL commits wait for the disk (SQLite: tests/unit/shared/test_database.py)."""

from __future__ import annotations

from shared.persistence import Database


def test_only_what_is_rebuilt_after_a_crash_commits_without_waiting_for_the_wal_flush(
    postgres_database_url: str,
) -> None:
    database = Database(postgres_database_url, app_name="membership")
    try:
        with database.writing(durable=False) as conn:
            relaxed = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
        with database.writing() as conn:
            durable = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
    finally:
        database.dispose()

    assert (relaxed, durable) == ("off", "on")
