"""The reporting model's databases: SQLite (memory, file) and, when configured, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from services.reporting.facts import create_schema


def _engines() -> list[Any]:
    params: list[Any] = ["sqlite-memory", "sqlite-file"]
    params.append(
        pytest.param(
            "postgresql",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(
                    not os.environ.get("COOP_TEST_POSTGRES_URL"),
                    reason="needs COOP_TEST_POSTGRES_URL",
                ),
            ],
        )
    )
    return params


@pytest.fixture(params=_engines())
def engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[sa.Engine]:
    """A database with the reporting schema: SQLite (memory, file) or a fresh PostgreSQL schema."""
    if request.param == "sqlite-memory":
        engine = sa.create_engine("sqlite://")
    elif request.param == "sqlite-file":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'reporting.db'}")
    else:
        schema = f"reporting_test_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(os.environ["COOP_TEST_POSTGRES_URL"])
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        engine = sa.create_engine(
            os.environ["COOP_TEST_POSTGRES_URL"],
            connect_args={"options": f"-csearch_path={schema}"},
        )
    with engine.begin() as conn:
        create_schema(conn)
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
