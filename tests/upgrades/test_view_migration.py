"""A release that changes only the BI views migrates the read model in place, without a rebuild.

A populated reporting database carries the previous release's views (one narrower, one
missing). Start-up's `facts.create_schema` (which runs `create_bi_views`) must leave it with
exactly the views of views.sql, answering what a database built from scratch answers, while
every fact, the active generation, the consumers' positions and the freshness stay untouched:
nothing is replayed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.reporting import facts
from services.reporting.projector import FactProjection, freshness, freshness_metadata
from shared.integration import StreamContract
from shared.persistence import Database, save_position, tracking_table
from tests.support import postgres_schema
from tests.upgrades.history import CONTRACTS, stored_history

PREVIOUS_RELEASE_VIEWS = [
    "DROP VIEW IF EXISTS reporting_v_cooperatives",
    "CREATE VIEW reporting_v_cooperatives AS "
    "SELECT cooperative_id, name FROM reporting_cooperatives",
    "DROP VIEW IF EXISTS reporting_v_ambassadors",
]
STATE_TABLES = (*facts.FACT_TABLES, facts.reporting_state, freshness, tracking_table)


def populated(url: str) -> Database:
    """A reporting database with the stored history projected and the consumers' positions."""
    database = Database(url, app_name="reporting")
    database.create_tables(freshness_metadata)
    history = stored_history()
    contracts: dict[str, StreamContract] = {c.stream: c for c in CONTRACTS}
    with database.writing() as conn:
        facts.create_schema(conn)
        generation = facts.active_generation(conn)
        for stream, envelopes in history.streams.items():
            projection = FactProjection(contracts[stream], generation)
            for sequence, envelope in enumerate(envelopes, start=1):
                projection.apply(conn, envelope)
                save_position(conn, f"{stream}:reporting-g{generation}", sequence)
    return database


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the fact model, its state, freshness and tracking, in a stable order."""
    with database.reading() as conn:
        return {
            table.name: sorted(tuple(row) for row in conn.execute(sa.select(table)))
            for table in STATE_TABLES
        }


def views(database: Database) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Each BI view that exists: its columns and its rows."""
    found = {}
    schema = None if database.is_sqlite else database.schema
    inspector_names = set(sa.inspect(database.engine).get_view_names(schema=schema))
    with database.reading() as conn:
        for name in facts.bi_view_names():
            if name not in inspector_names:
                continue
            result = conn.execute(sa.select(sa.text("*")).select_from(sa.table(name)))
            found[name] = (list(result.keys()), sorted(tuple(map(repr, row)) for row in result))
    return found


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases of one kind: the one to migrate, and a reference built from scratch."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}", f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    base: str = request.getfixturevalue("postgres_url")
    with postgres_schema(base) as migrated, postgres_schema(base) as fresh:
        yield migrated, fresh


def test_new_views_are_installed_over_a_populated_read_model_without_a_rebuild(
    database_urls: tuple[str, str],
) -> None:
    migrated_url, fresh_url = database_urls
    database, reference = populated(migrated_url), populated(fresh_url)
    try:
        with database.writing() as conn:
            for statement in PREVIOUS_RELEASE_VIEWS:
                conn.exec_driver_sql(statement)
        before_views = views(database)
        assert before_views["reporting_v_cooperatives"][0] == ["cooperative_id", "name"]
        assert "reporting_v_ambassadors" not in before_views
        before = snapshot(database)
        assert before["reporting_cooperatives"], "the read model holds facts"

        with database.writing() as conn:
            facts.create_schema(conn)  # what the reporting service runs at start-up

        assert snapshot(database) == before, "facts, generation, positions and freshness untouched"
        after_views = views(database)
        assert set(after_views) == set(facts.bi_view_names())
        assert after_views == views(reference), "the views answer as on a database built anew"
        with database.reading() as conn:
            assert facts.active_generation(conn) == facts.INITIAL_GENERATION
    finally:
        database.dispose()
        reference.dispose()


def test_installing_the_views_twice_changes_nothing(tmp_path: Path) -> None:
    database = populated(f"sqlite:///{tmp_path / 'reporting.db'}")
    try:
        before, before_views = snapshot(database), views(database)
        for _ in range(2):
            with database.writing() as conn:
                facts.create_bi_views(conn)
        assert snapshot(database) == before
        assert views(database) == before_views
    finally:
        database.dispose()
