"""The membership service's own tables: cooperatives as listed and filtered, the sector list."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.membership.domain import Cooperative, Sector
from shared.application import CoopApplication
from shared.documents import DocumentView, document_table

metadata = sa.MetaData()

cooperatives = document_table(
    metadata,
    "membership_cooperatives",
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("region", sa.String(2), nullable=False, index=True),
    sa.Column("sector", sa.String(100), nullable=False, index=True),
    sa.Column("neq", sa.String(10), index=True),
)

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
    }


class CooperativeDirectory(DocumentView):
    """Cooperatives as listed and filtered."""

    def __init__(self, app: CoopApplication) -> None:
        super().__init__(app, cooperatives, represent, _columns, applies_to=Cooperative)

    def list(
        self, *, status: str | None, region: str | None, sector: str | None, after: int, limit: int
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """A page of cooperatives matching the filters, in creation order.

        Voided cooperatives are left out unless `status` asks for them.
        """
        self.catch_up()
        where = []
        if status:
            where.append(cooperatives.c.status == status)
        else:
            where.append(cooperatives.c.status != "voided")
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
