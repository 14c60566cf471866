"""Fixtures shared by every tier of tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import NatsServer, postgres_base_url, postgres_schema


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A real nats-server with JetStream on a free port, its store under the test's tmp dir."""
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server for tests; loud failure in CI when it is missing or unreachable."""
    url = postgres_base_url()
    if url is None:
        if os.environ.get("CI"):
            pytest.fail("COOP_TEST_POSTGRES_URL is not set in CI")
        pytest.skip("COOP_TEST_POSTGRES_URL is not set")
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL at COOP_TEST_POSTGRES_URL is unreachable: {error}")
    return url


@pytest.fixture
def postgres_database_url(postgres_url: str) -> Iterator[str]:
    """A database URL on a fresh PostgreSQL schema, dropped after the test."""
    with postgres_schema(postgres_url) as url:
        yield url
