"""From the membership domain's events to the integration events of `COOP_MEMBERSHIP`."""

from __future__ import annotations

from typing import Any

from services.membership.domain import Cooperative, Sector
from shared.contracts.membership import (
    MEMBERSHIP,
    CoopJoined,
    CoopLeft,
    CoopMembershipCorrected,
    CoopProfileUpdated,
    CoopRejoined,
    CoopRestored,
    CoopVoided,
    PeriodData,
    SectorDefined,
    SectorLabel,
)

__all__ = ["MEMBERSHIP", "to_integration"]


def to_integration(event: Any) -> tuple[str, dict[str, Any]] | None:
    """The integration event type and data of a stored domain event."""
    if isinstance(event, Sector.Defined | Sector.Relabelled):  # type: ignore[attr-defined]
        defined = SectorDefined(slug=event.slug, label=SectorLabel(**event.label))
        return "SectorDefined", defined.model_dump(mode="json")
    cooperative_id = str(event.originator_id)
    if isinstance(event, Cooperative.Joined):  # type: ignore[attr-defined]
        payload: Any = CoopJoined(
            cooperative_id=cooperative_id,
            name=event.name,
            region=event.region,
            sector=event.sector,
            worker_members=event.worker_members,
            joined_on=event.joined_on.isoformat(),
            neq=event.neq,
        )
    elif isinstance(event, Cooperative.ProfileUpdated):  # type: ignore[attr-defined]
        payload = CoopProfileUpdated(cooperative_id=cooperative_id, changes=dict(event.changes))
    elif isinstance(event, Cooperative.Left):  # type: ignore[attr-defined]
        payload = CoopLeft(
            cooperative_id=cooperative_id, left_on=event.left_on.isoformat(), reason=event.reason
        )
    elif isinstance(event, Cooperative.Rejoined):  # type: ignore[attr-defined]
        payload = CoopRejoined(
            cooperative_id=cooperative_id, rejoined_on=event.rejoined_on.isoformat()
        )
    elif isinstance(event, Cooperative.MembershipCorrected):  # type: ignore[attr-defined]
        payload = CoopMembershipCorrected(
            cooperative_id=cooperative_id,
            periods=[
                PeriodData(
                    start=period["start"].isoformat(),
                    end=period["end"].isoformat() if period["end"] else None,
                )
                for period in event.periods
            ],
            reason=event.reason,
        )
    elif isinstance(event, Cooperative.Voided):  # type: ignore[attr-defined]
        payload = CoopVoided(cooperative_id=cooperative_id, reason=event.reason)
    elif isinstance(event, Cooperative.Restored):  # type: ignore[attr-defined]
        payload = CoopRestored(cooperative_id=cooperative_id, reason=event.reason)
    else:
        return None
    return type(payload).__name__, payload.model_dump(mode="json")
