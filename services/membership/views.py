"""The membership service's own tables: cooperatives as listed and filtered, the sector list."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.membership.domain import Cooperative, Sector
from shared.application import CoopApplication
from shared.documents import DocumentView, document_table
from shared.names import normalized_name

metadata = sa.MetaData()

cooperatives = document_table(
    metadata,
    "membership_cooperatives_v2",
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("region", sa.String(2), nullable=False, index=True),
    sa.Column("sector", sa.String(100), nullable=False, index=True),
    sa.Column("neq", sa.String(10), index=True),
    sa.Column("name_key", sa.Text, nullable=False),
    sa.Column("external_ref", sa.String(200), index=True),
)
"""Cooperatives as listed. Version 2 of the table (with the normalized name and the external
reference) has a new name, so that a store from before it rebuilds it from the notification
log at start; the version-1 table `membership_cooperatives` is left unused."""

sectors = document_table(
    metadata,
    "membership_sectors",
    sa.Column("slug", sa.String(100), nullable=False, unique=True),
)


def represent(cooperative: Cooperative) -> dict[str, Any]:
    """The public representation of a cooperative (contract §2)."""
    return {
        "id": str(cooperative.id),
        "name": cooperative.name,
        "neq": cooperative.neq,
        "region": cooperative.region,
        "sector": cooperative.sector,
        "worker_members": cooperative.worker_members,
        "joined_on": cooperative.joined_on.isoformat(),
        "left_on": cooperative.left_on.isoformat() if cooperative.left_on else None,
        "external_ref": cooperative.external_ref,
        "periods": [
            {"start": p.start.isoformat(), "end": p.end.isoformat() if p.end else None}
            for p in cooperative.periods
        ],
        "status": cooperative.status,
        "version": cooperative.version,
    }


def _columns(cooperative: Cooperative) -> dict[str, Any]:
    return {
        "status": cooperative.status,
        "region": cooperative.region,
        "sector": cooperative.sector,
        "neq": cooperative.neq,
        "name_key": normalized_name(cooperative.name),
        "external_ref": cooperative.external_ref,
    }


class CooperativeDirectory(DocumentView):
    """Cooperatives as listed and filtered."""

    def __init__(self, app: CoopApplication) -> None:
        super().__init__(app, cooperatives, represent, _columns, applies_to=Cooperative)

    def list(
        self,
        *,
        status: str | None,
        region: str | None,
        sector: str | None,
        after: int,
        limit: int,
        q: str | None = None,
        neq: str | None = None,
        external_ref: str | None = None,
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """A page of cooperatives matching the filters, in creation order.

        Voided cooperatives are left out unless `status` asks for them or `external_ref` is
        given (a reference finds its record whatever its status). `q` matches a substring of
        the name, both normalized as partner names are.
        """
        self.catch_up()
        where = []
        if status:
            where.append(cooperatives.c.status == status)
        elif not external_ref:
            where.append(cooperatives.c.status != "voided")
        if q:
            where.append(cooperatives.c.name_key.contains(normalized_name(q), autoescape=True))
        if neq:
            where.append(cooperatives.c.neq == neq)
        if external_ref:
            where.append(cooperatives.c.external_ref == external_ref)
        if region:
            where.append(cooperatives.c.region == region)
        if sector:
            where.append(cooperatives.c.sector == sector)
        with self.app.database.reading() as conn:
            return self.page(conn, where, after, limit)


def represent_sector(sector: Sector) -> dict[str, Any]:
    """A sector of the list (contract §2): its slug and its labels in French and English."""
    return {"slug": sector.slug, "label": {"fr": sector.label["fr"], "en": sector.label["en"]}}


class SectorList(DocumentView):
    """The sector list, in the order its sectors were defined (the built-in ones first)."""

    def __init__(self, app: CoopApplication) -> None:
        super().__init__(
            app, sectors, represent_sector, lambda s: {"slug": s.slug}, applies_to=Sector
        )

    def list(self, *, after: int, limit: int) -> tuple[list[dict[str, Any]], list[int]]:
        """A page of the sector list."""
        self.catch_up()
        with self.app.database.reading() as conn:
            return self.page(conn, [], after, limit)
