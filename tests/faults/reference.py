"""The indicators of CONTRACT §5 and §12 computed directly from a ledger of accepted commands.

Plain Python over the ledger, sharing no code with the reporting service: the figures the
service must show when it has applied every accepted command exactly once. The ledger holds
the records as corrected, without the withdrawn ones; a voided cooperative, its attendances,
its ambassadors and their actions count nowhere, nor does it as a sector table's member.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tests.faults.workload import (
    ACTIVITY_TYPES,
    REGIONS,
    TABLE_ACTION_KINDS,
    YEAR_START,
    Ledger,
)

PARTNER_KINDS = (
    "developpement_economique",
    "economie_sociale",
    "reseau_cooperatif",
    "recherche",
    "detaillant",
    "institution",
    "autre",
)
NOT_IN_DIRECTORY = "non_repertorie"


def _compared(name: str) -> str:
    """A name as §16.7 compares it, written here again from the contract's words."""
    apostrophes = "".join("'" if c in "\u2019\u2018\u02bc`\u00b4" else c for c in name)
    dashes = "".join(
        "-" if c == "\u2212" or unicodedata.category(c) == "Pd" else c for c in apostrophes
    )
    folded = unicodedata.normalize("NFKC", dashes).casefold()
    return re.sub(r"\s+", " ", folded).strip()


def _active(periods: list[list[date | None]], day: date) -> bool:
    return any(
        start is not None and start <= day and (end is None or day < end) for start, end in periods
    )


def _months(start: date, cutoff: date) -> list[str]:
    months = []
    year, month = start.year, start.month
    while (year, month) <= (cutoff.year, cutoff.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def expected_indicators(ledger: Ledger, cutoff: date, start: date = YEAR_START) -> dict[str, Any]:
    """Every indicator for the fiscal year starting on `start`, cut off on `cutoff`."""

    def in_year(day: date | None) -> bool:
        return day is not None and start <= day <= cutoff

    cooperatives = {i: c for i, c in ledger.cooperatives.items() if not c.voided}
    active = {i: c for i, c in cooperatives.items() if _active(c.periods, cutoff)}
    joined_by_month = dict.fromkeys(_months(start, cutoff), 0)
    left = 0
    for coop in cooperatives.values():
        for period_start, period_end in coop.periods:
            if in_year(period_start):
                assert period_start is not None
                joined_by_month[f"{period_start.year:04d}-{period_start.month:02d}"] += 1
            if in_year(period_end):
                left += 1
    by_region = dict.fromkeys(REGIONS, 0)
    by_sector: dict[str, int] = {}
    for coop in active.values():
        by_region[coop.region] += 1
        by_sector[coop.sector] = by_sector.get(coop.sector, 0) + 1

    counted = {i: a for i, a in ledger.activities.items() if in_year(a.date) and not a.cancelled}
    by_type = dict.fromkeys(ACTIVITY_TYPES, 0)
    for activity in counted.values():
        by_type[activity.type] += 1
    attendances = [
        (a, c, n) for (a, c), n in ledger.attendances.items() if a in counted and c in cooperatives
    ]
    participating = {c for _, c, _ in attendances if c in active}
    participation_by_type = {
        kind: len({c for a, c, _ in attendances if c in active and counted[a].type == kind})
        for kind in ACTIVITY_TYPES
    }
    total = len(active)
    rate = (
        float(
            (Decimal(len(participating)) / Decimal(total)).quantize(
                Decimal("0.0001"), ROUND_HALF_EVEN
            )
        )
        if total
        else 0.0
    )

    def reach(kind: str) -> tuple[int, int]:
        public = [
            (a, n, r)
            for a, n, r in ledger.public.values()
            if a in counted and counted[a].type == kind
        ]
        regions = {r or counted[a].region for a, _, r in public} - {None}
        return sum(n for _, n, _ in public), len(regions)

    cine_people, cine_regions = reach("cine_discussion")
    parcours_people, parcours_regions = reach("parcours_coop")
    names = {
        _compared(p) for a in counted.values() if a.type == "cine_discussion" for p in a.partners
    } - {""}
    directory = {
        _compared(n): (partner_id, partner.kind)
        for partner_id, partner in ledger.partners.items()
        for n in (partner.name, *partner.aliases)
    }
    partners = {directory.get(n, (n, NOT_IN_DIRECTORY)) for n in names}
    partners_by_kind = dict.fromkeys((*PARTNER_KINDS, NOT_IN_DIRECTORY), 0)
    for _, kind in partners:
        partners_by_kind[kind] += 1
    ambassadors = {i: m for i, m in ledger.ambassadors.items() if m.cooperative_id in cooperatives}
    actions = [
        (a.ambassador_id, a.people_reached or 0)
        for a in ledger.actions.values()
        if in_year(a.performed_on) and a.ambassador_id in ambassadors
    ]
    return {
        "members.total": total,
        "members.joined": sum(joined_by_month.values()),
        "members.left": left,
        "members.joined_by_month": joined_by_month,
        "members.by_region": by_region,
        "members.by_sector": dict(sorted(by_sector.items())),
        "members.worker_members": sum(c.worker_members for c in active.values()),
        "participation.participating_members": len(participating),
        "participation.rate": rate,
        "participation.by_activity_type": participation_by_type,
        "activities.total": len(counted),
        "activities.by_type": by_type,
        "attendance.member_attendances": len(attendances),
        "attendance.participants": sum(n for _, _, n in attendances),
        "outreach.cine_discussions": by_type["cine_discussion"],
        "outreach.people_reached": cine_people,
        "outreach.regions": cine_regions,
        "outreach.partners": len(partners),
        "outreach.partners_by_kind": partners_by_kind,
        "parcours.sessions": by_type["parcours_coop"],
        "parcours.participants": parcours_people,
        "parcours.regions": parcours_regions,
        "ambassadors.mobilized": len({m for m, _ in actions}),
        "ambassadors.actions": len(actions),
        "ambassadors.people_reached": sum(n for _, n in actions),
        "ambassadors.active": sum(
            1
            for m in ambassadors.values()
            if m.enrolled_on <= cutoff and (m.ended_on is None or m.ended_on > cutoff)
        ),
        **_partnerships(ledger, active, start, cutoff),
    }


def _partnerships(
    ledger: Ledger, active: dict[str, Any], start: date, cutoff: date
) -> dict[str, Any]:
    """§12's research and sector-table indicators."""

    def open_on(first: date, end: date | None) -> bool:
        return first <= cutoff and (end is None or end > cutoff)

    projects = [
        p
        for p in ledger.projects.values()
        if p.started_on <= cutoff and (p.ended_on is None or p.ended_on >= start)
    ]
    tables = [t for t in ledger.tables.values() if open_on(t.formed_on, t.dissolved_on)]
    actions_by_kind = dict.fromkeys(TABLE_ACTION_KINDS, 0)
    for table in ledger.tables.values():
        for action_id, (kind, performed_on) in table.actions.items():
            if action_id not in table.withdrawn and start <= performed_on <= cutoff:
                actions_by_kind[kind] += 1
    return {
        "research.projects": len(projects),
        "research.partners": len({i for p in projects for i in p.partner_ids}),
        "sector_tables.active": len(tables),
        "sector_tables.member_cooperatives": len(
            {
                coop
                for t in tables
                for coop, (joined_on, left_on) in t.members.items()
                if coop in active and joined_on is not None and open_on(joined_on, left_on)
            }
        ),
        "sector_tables.actions": sum(actions_by_kind.values()),
        "sector_tables.actions_by_kind": actions_by_kind,
        "sector_tables.retailers": len(
            {
                retailer
                for t in ledger.tables.values()
                for retailer, started_on, ended_on in t.placements.values()
                if open_on(started_on, ended_on)
            }
        ),
    }
