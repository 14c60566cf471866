"""deploy/postgres/init-databases.sh on a real PostgreSQL: a database per service, BI read-only."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services import registry
from shared.settings import SERVICES, ServiceSettings
from tests.deploy.deployfiles import DEPLOY, ci_requires, dashboard_sql

pytestmark = pytest.mark.postgres

SCRIPT = DEPLOY / "postgres" / "init-databases.sh"
VIEWS = (
    "reporting_v_cooperatives",
    "reporting_v_membership_periods",
    "reporting_v_activities",
    "reporting_v_activity_partners",
    "reporting_v_attendance",
    "reporting_v_public_attendance",
    "reporting_v_ambassadors",
    "reporting_v_ambassador_actions",
)


class Cluster:
    """The roles and databases the script made under one prefix, and how to reach them."""

    def __init__(self, admin: sa.URL, prefix: str) -> None:
        self.admin = admin
        self.prefix = prefix
        self.passwords = {name: secrets.token_hex(12) for name in (*SERVICES, "bi")}

    def url(self, role: str, database: str) -> sa.URL:
        """A URL as `role` (membership, …, bi) on `database` (membership, …)."""
        return self.admin.set(
            username=f"{self.prefix}_{role}",
            password=self.passwords[role],
            database=f"{self.prefix}_{database}",
        )

    def environment(self) -> dict[str, str]:
        """What the postgres image hands the script, pointed at the test server."""
        env = {
            **os.environ,
            "PGHOST": self.admin.host or "127.0.0.1",
            "PGPORT": str(self.admin.port or 5432),
            "POSTGRES_USER": self.admin.username or "postgres",
            "POSTGRES_DB": self.admin.database or "postgres",
            "COOP_DB_NAME_PREFIX": self.prefix,
            "COOP_BI_DB_PASSWORD": self.passwords["bi"],
        }
        for service in SERVICES:
            env[f"COOP_{service.upper()}_DB_PASSWORD"] = self.passwords[service]
        if self.admin.password:
            env["PGPASSWORD"] = self.admin.password
        return env

    def run_script(self) -> subprocess.CompletedProcess[str]:
        """Run the init script as the postgres image would."""
        return subprocess.run(
            [str(SCRIPT)], env=self.environment(), capture_output=True, text=True, timeout=60
        )

    def drop(self) -> None:
        """Drop every database and role of the prefix."""
        engine = sa.create_engine(self.admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for service in SERVICES:
                conn.execute(
                    sa.text(f'DROP DATABASE IF EXISTS "{self.prefix}_{service}" WITH (FORCE)')
                )
            for role in (*SERVICES, "bi"):
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{self.prefix}_{role}"'))
        engine.dispose()


@pytest.fixture
def cluster(postgres_url: str) -> Iterator[Cluster]:
    """The init script's databases and roles under a fresh prefix, dropped afterwards."""
    if shutil.which("psql") is None:
        ci_requires("psql (PostgreSQL client)")
    created = Cluster(sa.engine.make_url(postgres_url), f"t{uuid.uuid4().hex[:10]}")
    try:
        yield created
    finally:
        created.drop()


def _start_reporting_schema(cluster: Cluster, data_dir: Path) -> None:
    """What the reporting service does at start: create its tables and (re)create its views."""
    url = cluster.url("reporting", "reporting").render_as_string(hide_password=False)
    settings = ServiceSettings.from_env(
        "reporting", {"COOP_DATA_DIR": str(data_dir), "COOP_REPORTING_DATABASE_URL": url}
    )
    service = registry.builder("reporting")(settings)
    for close in service.closers:
        close()
    service.database.dispose()


def test_each_service_gets_its_database_and_bi_reads_the_reporting_views(
    cluster: Cluster, tmp_path: Path
) -> None:
    result = cluster.run_script()
    assert result.returncode == 0, result.stderr
    assert cluster.run_script().returncode == 0, "the script must be safe to run again"

    for service in SERVICES:
        engine = sa.create_engine(cluster.url(service, service))
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE probe (id integer)"))
        engine.dispose()

    _start_reporting_schema(cluster, tmp_path)
    _start_reporting_schema(cluster, tmp_path)  # a restart drops and re-creates the views

    bi = sa.create_engine(cluster.url("bi", "reporting"))
    try:
        with bi.connect() as conn:
            for view in VIEWS:
                conn.execute(sa.text(f"SELECT * FROM {view} LIMIT 1")).all()
            for title, sql in dashboard_sql():
                try:
                    conn.execute(sa.text(sql)).all()
                except sa.exc.DBAPIError as error:
                    pytest.fail(f"dashboard panel {title!r}: {error}")
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"), bi.begin() as conn:
            conn.execute(sa.text("UPDATE reporting_state SET active_generation = 2"))
        with pytest.raises(sa.exc.DBAPIError), bi.begin() as conn:
            conn.execute(sa.text("SET TRANSACTION READ WRITE"))
            conn.execute(sa.text("UPDATE reporting_state SET active_generation = 2"))
    finally:
        bi.dispose()

    for role, database in [
        ("bi", "membership"),
        ("membership", "reporting"),
        ("events", "membership"),
    ]:
        other = sa.create_engine(cluster.url(role, database))
        with pytest.raises(sa.exc.OperationalError, match="permission denied"):
            other.connect().close()
        other.dispose()
