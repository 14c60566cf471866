"""Fixtures of the ambassadors unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.ambassadors.world import World, build_world


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """A fresh application on its own SQLite file, or on a fresh PostgreSQL schema."""
    url = request.getfixturevalue("postgres_database_url") if request.param == "postgres" else None
    built = build_world(tmp_path, url)
    try:
        yield built
    finally:
        built.app.close()
        built.database.dispose()


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[World]:
    """A fresh application on its own SQLite file (for checks on the files themselves)."""
    built = build_world(tmp_path)
    try:
        yield built
    finally:
        built.app.close()
        built.database.dispose()
