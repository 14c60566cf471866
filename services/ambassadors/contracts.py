"""From the ambassadors domain's events to the integration events of `COOP_AMBASSADORS`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from services.ambassadors.domain import Ambassador
from shared.contracts.ambassadors import (
    AMBASSADORS,
    AmbassadorActionCorrected,
    AmbassadorActionLogged,
    AmbassadorActionWithdrawn,
    AmbassadorDeactivated,
    AmbassadorEnrolled,
    AmbassadorEnrollmentCorrected,
    AmbassadorReactivated,
    AmbassadorRetired,
)

__all__ = ["AMBASSADORS", "to_integration"]


def _id(value: object | None) -> str | None:
    return str(value) if value else None


def to_integration(event: Any) -> tuple[str, dict[str, Any]] | None:
    """The integration event type and data of a stored domain event (None: not published)."""
    # The rosters' events are the service's own bookkeeping and stay off the stream.
    ambassador_id = str(event.originator_id)
    payload: BaseModel
    if isinstance(event, Ambassador.Enrolled):
        payload = AmbassadorEnrolled(
            ambassador_id=ambassador_id,
            cooperative_id=str(event.cooperative_id),
            enrolled_on=event.enrolled_on.isoformat(),
        )
    elif isinstance(event, Ambassador.ActionLogged | Ambassador.ActionCorrected):
        model = (
            AmbassadorActionLogged
            if isinstance(event, Ambassador.ActionLogged)
            else AmbassadorActionCorrected
        )
        payload = model(
            ambassador_id=ambassador_id,
            action_id=str(event.action_id),
            kind=event.kind,
            performed_on=event.performed_on.isoformat(),
            activity_id=_id(event.activity_id),
            people_reached=event.people_reached,
            **({"reason": event.reason} if isinstance(event, Ambassador.ActionCorrected) else {}),
        )
    elif isinstance(event, Ambassador.ActionWithdrawn):
        payload = AmbassadorActionWithdrawn(
            ambassador_id=ambassador_id, action_id=str(event.action_id), reason=event.reason
        )
    elif isinstance(event, Ambassador.EnrollmentCorrected):
        payload = AmbassadorEnrollmentCorrected(
            ambassador_id=ambassador_id,
            enrolled_on=event.enrolled_on.isoformat(),
            reason=event.reason,
        )
    elif isinstance(event, Ambassador.Retired):
        payload = AmbassadorRetired(
            ambassador_id=ambassador_id, retired_on=event.retired_on.isoformat()
        )
    elif isinstance(event, Ambassador.Deactivated):
        payload = AmbassadorDeactivated(
            ambassador_id=ambassador_id,
            effective_on=event.effective_on.isoformat(),
            reason=event.reason,
        )
    elif isinstance(event, Ambassador.Reactivated):
        payload = AmbassadorReactivated(ambassador_id=ambassador_id, reason=event.reason)
    else:
        return None
    return type(payload).__name__, payload.model_dump(mode="json")
