"""Schema migrations at start (issue "Hardening", item 5): Alembic revisions per service."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared.migrations import VERSION_TABLE, script_directory
from shared.persistence import Database

SERVICES = ("membership", "events", "ambassadors", "reporting")


def _revision(database: Database) -> str | None:
    with database.engine.connect() as conn:
        row = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).first()
    return None if row is None else str(row[0])


@pytest.mark.parametrize("service", SERVICES)
def test_a_new_database_is_created_at_the_service_s_head_revision(
    tmp_path: Path, service: str
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}", app_name=service)
    database.create_tables()
    script = script_directory(service)
    assert script is not None
    assert _revision(database) == script.get_current_head()


def test_a_database_of_the_first_release_is_brought_to_head_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    first = Database(url, app_name="membership")
    with first.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE coop_unique_claims (claim_key TEXT PRIMARY KEY)"))
    with caplog.at_level(logging.INFO, logger="shared.migrations"):
        Database(url, app_name="membership").create_tables()
    assert [r.getMessage() for r in caplog.records] == [
        "schema of membership migrated from no recorded revision to membership_0001 "
        "(membership_0001)"
    ]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="shared.migrations"):
        Database(url, app_name="membership").create_tables()
    assert [r.getMessage() for r in caplog.records] == [
        "schema of membership is at membership_0001"
    ]


def test_every_service_s_revisions_form_one_line_from_the_baseline() -> None:
    for service in SERVICES:
        script = script_directory(service)
        assert script is not None
        assert len(script.get_heads()) == 1, service
        bases = script.get_bases()
        assert bases == [f"{service}_0001"], service
