"""Schema migrations of the tables a service owns, with Alembic, run at start.

Each service keeps its revisions in `services/<name>/migrations/versions/`. At start, the
service creates the tables that are missing (a new install, or a table a release adds), then
Alembic applies every revision the database has not seen — the changes to tables that already
exist (a column added, an index, data moved) — and records the head revision in
`coop_schema_version`. A data dir from the first release (which had no version table) starts at
the baseline revision `<name>_0001`. One log line says where the schema stood and where it is.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

VERSION_TABLE = "coop_schema_version"
SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def script_directory(service: str) -> ScriptDirectory | None:
    """A service's revisions, or None when it has none."""
    location = SERVICES_DIR / service / "migrations"
    if not (location / "versions").is_dir():
        return None
    config = Config()
    config.set_main_option("script_location", str(location))
    return ScriptDirectory.from_config(config)


def upgrade(connection: sa.Connection, service: str, schema: str | None = None) -> None:
    """Apply the service's revisions that the database has not seen, in one transaction."""
    script = script_directory(service)
    if script is None:
        return
    config = Config()
    applied: list[str] = []

    def to_head(revision: str, _context: object) -> list[object]:
        steps = script._upgrade_revs("head", revision)
        applied.extend(str(step.revision.revision) for step in steps)
        return steps  # type: ignore[return-value]

    with EnvironmentContext(config, script, fn=to_head, destination_rev="head") as environment:
        environment.configure(
            connection=connection,
            version_table=VERSION_TABLE,
            version_table_schema=schema,
            transactional_ddl=True,
        )
        before = environment.get_context().get_current_revision()
        with environment.begin_transaction():
            environment.run_migrations()
    head = script.get_current_head()
    if applied:
        log.info(
            "schema of %s migrated from %s to %s (%s)",
            service, before or "no recorded revision", head, ", ".join(applied),
        )  # fmt: skip
    else:
        log.info("schema of %s is at %s", service, head)
