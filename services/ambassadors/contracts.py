"""From the ambassadors domain's events to the integration events of `COOP_AMBASSADORS`."""

from __future__ import annotations

from typing import Any

from services.ambassadors.domain import Ambassador
from shared.contracts.ambassadors import (
    AMBASSADORS,
    AmbassadorActionLogged,
    AmbassadorDeactivated,
    AmbassadorEnrolled,
    AmbassadorRetired,
)

__all__ = ["AMBASSADORS", "to_integration"]


def to_integration(event: Any) -> tuple[str, dict[str, Any]] | None:
    """The integration event type and data of a stored domain event (None: not published)."""
    # The rosters' events are the service's own bookkeeping and stay off the stream.
    ambassador_id = str(event.originator_id)
    if isinstance(event, Ambassador.Enrolled):
        payload: Any = AmbassadorEnrolled(
            ambassador_id=ambassador_id,
            cooperative_id=str(event.cooperative_id),
            enrolled_on=event.enrolled_on.isoformat(),
        )
    elif isinstance(event, Ambassador.ActionLogged):
        payload = AmbassadorActionLogged(
            ambassador_id=ambassador_id,
            kind=event.kind,
            performed_on=event.performed_on.isoformat(),
            activity_id=str(event.activity_id) if event.activity_id else None,
            people_reached=event.people_reached,
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
    else:
        return None
    return type(payload).__name__, payload.model_dump(mode="json")
