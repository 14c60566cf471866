"""The partnerships service's own tables and representations (contract §12)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.partnerships.domain import (
    Partner,
    ResearchProject,
    RetailPlacement,
    SectorTable,
    TableAction,
    TableMember,
)
from shared.application import CoopApplication
from shared.documents import DocumentView, document_table
from shared.names import normalized_name
from shared.persistence import Database
from shared.vocabulary import Sector

metadata = sa.MetaData()

partners = document_table(
    metadata,
    "partnerships_partners",
    sa.Column("kind", sa.String(40), nullable=False, index=True),
    sa.Column("region", sa.String(2), index=True),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("names", sa.Text, nullable=False),
    sa.Column("external_ref", sa.String(200), index=True),
)
projects = document_table(
    metadata,
    "partnerships_research_projects",
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("partner_ids", sa.Text, nullable=False),
    sa.Column("external_ref", sa.String(200), index=True),
)
tables = document_table(
    metadata,
    "partnerships_sector_tables",
    sa.Column("sector", sa.String(100), nullable=False, index=True),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("external_ref", sa.String(200), index=True),
)
sectors_table = sa.Table(
    "partnerships_sectors",
    metadata,
    sa.Column("slug", sa.String(100), primary_key=True),
)
"""Sectors defined after the built-in list (`SectorDefined` on `COOP_MEMBERSHIP`)."""


def represent_partner(partner: Partner) -> dict[str, Any]:
    """A partner as answered."""
    return {
        "id": str(partner.id),
        "name": partner.name,
        "kind": partner.kind,
        "region": partner.region,
        "aliases": list(partner.aliases),
        "website": partner.website,
        "status": partner.status,
        "external_ref": partner.external_ref,
        "version": partner.version,
    }


def represent_project(project: ResearchProject) -> dict[str, Any]:
    """A research project as answered."""
    return {
        "id": str(project.id),
        "title": project.title,
        "theme": project.theme,
        "partner_ids": [str(p) for p in project.partner_ids],
        "started_on": project.started_on.isoformat(),
        "ended_on": project.ended_on.isoformat() if project.ended_on else None,
        "status": project.status,
        "external_ref": project.external_ref,
        "version": project.version,
    }


def represent_table(table: SectorTable) -> dict[str, Any]:
    """A sector table as answered, with its members."""
    return {
        "id": str(table.id),
        "name": table.name,
        "sector": table.sector,
        "formed_on": table.formed_on.isoformat(),
        "status": table.status,
        "dissolved_on": table.dissolved_on.isoformat() if table.dissolved_on else None,
        "members": [represent_member(m) for m in table.periods],
        "external_ref": table.external_ref,
        "version": table.version,
    }


def represent_member(member: TableMember) -> dict[str, Any]:
    """A table member as answered."""
    return {
        "cooperative_id": str(member.cooperative_id),
        "joined_on": member.joined_on.isoformat(),
        "left_on": member.left_on.isoformat() if member.left_on else None,
    }


def represent_action(action: TableAction) -> dict[str, Any]:
    """A table action as answered."""
    return {
        "id": str(action.id),
        "kind": action.kind,
        "title": action.title,
        "performed_on": action.performed_on.isoformat(),
        "partner_ids": [str(p) for p in action.partner_ids],
        "external_ref": action.external_ref,
    }


def represent_placement(placement: RetailPlacement) -> dict[str, Any]:
    """A retail placement as answered."""
    return {
        "id": str(placement.id),
        "retailer_id": str(placement.retailer_id),
        "started_on": placement.started_on.isoformat(),
        "ended_on": placement.ended_on.isoformat() if placement.ended_on else None,
        "note": placement.note,
        "external_ref": placement.external_ref,
    }


def _partner_columns(partner: Partner) -> dict[str, Any]:
    names = "\n".join(sorted(partner.names))
    return {
        "kind": partner.kind,
        "region": partner.region,
        "status": partner.status,
        "names": f"\n{names}\n",
        "external_ref": partner.external_ref,
    }


def _project_columns(project: ResearchProject) -> dict[str, Any]:
    return {
        "status": project.status,
        "partner_ids": " ".join(str(p) for p in project.partner_ids),
        "external_ref": project.external_ref,
    }


def _table_columns(table: SectorTable) -> dict[str, Any]:
    return {"sector": table.sector, "status": table.status, "external_ref": table.external_ref}


def _like(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Directory:
    """Partners, research projects and sector tables for lists and filters."""

    def __init__(self, app: CoopApplication) -> None:
        self.app = app
        self.partners = DocumentView(
            app, partners, represent_partner, _partner_columns, applies_to=Partner
        )
        self.projects = DocumentView(
            app, projects, represent_project, _project_columns, applies_to=ResearchProject
        )
        self.tables = DocumentView(
            app, tables, represent_table, _table_columns, applies_to=SectorTable
        )

    def catch_up(self) -> None:
        """Bring every table up to the event store."""
        for view in (self.partners, self.projects, self.tables):
            view.catch_up()

    def list_partners(
        self, *, kind: str | None, region: str | None, status: str | None, q: str | None,
        external_ref: str | None, after: int, limit: int,
    ) -> tuple[list[dict[str, Any]], list[int]]:  # fmt: skip
        """A page of partners; `q` matches a normalized substring of a name or alias."""
        self.partners.catch_up()
        table = partners
        where: list[Any] = []
        if kind:
            where.append(table.c.kind == kind)
        if region:
            where.append(table.c.region == region)
        if status:
            where.append(table.c.status == status)
        if q and (needle := normalized_name(q)):
            where.append(table.c.names.like(_like(needle), escape="\\"))
        if external_ref:
            where.append(table.c.external_ref == external_ref)
        with self.app.database.reading() as conn:
            return self.partners.page(conn, where, after, limit)

    def list_projects(
        self, *, status: str | None, partner_id: str | None, external_ref: str | None,
        after: int, limit: int,
    ) -> tuple[list[dict[str, Any]], list[int]]:  # fmt: skip
        """A page of research projects."""
        self.projects.catch_up()
        table = projects
        where: list[Any] = []
        if status:
            where.append(table.c.status == status)
        if partner_id:
            where.append(table.c.partner_ids.like(_like(partner_id), escape="\\"))
        if external_ref:
            where.append(table.c.external_ref == external_ref)
        with self.app.database.reading() as conn:
            return self.projects.page(conn, where, after, limit)

    def list_tables(
        self, *, sector: str | None, status: str | None, external_ref: str | None,
        after: int, limit: int,
    ) -> tuple[list[dict[str, Any]], list[int]]:  # fmt: skip
        """A page of sector tables."""
        self.tables.catch_up()
        table = tables
        where: list[Any] = []
        if sector:
            where.append(table.c.sector == sector)
        if status:
            where.append(table.c.status == status)
        if external_ref:
            where.append(table.c.external_ref == external_ref)
        with self.app.database.reading() as conn:
            return self.tables.page(conn, where, after, limit)


class SectorList:
    """The sector list as this service knows it: the built-in slugs and those defined later."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def is_listed(self, slug: str) -> bool:
        """True for a built-in slug or one a `SectorDefined` message brought."""
        if slug in {s.value for s in Sector}:
            return True
        with self.database.reading() as conn:
            found = conn.execute(
                sa.select(sectors_table.c.slug).where(sectors_table.c.slug == slug)
            ).first()
        return found is not None

    def define(self, conn: sa.Connection, slug: str) -> None:
        """Remember a sector the membership service defined (in the consumer's transaction)."""
        exists = conn.execute(
            sa.select(sectors_table.c.slug).where(sectors_table.c.slug == slug)
        ).first()
        if exists is None:
            conn.execute(sa.insert(sectors_table).values(slug=slug))
