"""`COOP_AMBASSADORS`: what the ambassadors service publishes.

No payload carries an ambassador's name or email (contract §6): those stay in the ambassadors
service's own erasable table.
"""

from __future__ import annotations

from shared.integration import Payload, StreamContract

AMBASSADORS = StreamContract(stream="COOP_AMBASSADORS", service="ambassadors")


@AMBASSADORS.event
class AmbassadorEnrolled(Payload):
    """A member cooperative's worker became an ambassador on `enrolled_on`."""

    ambassador_id: str
    cooperative_id: str
    enrolled_on: str


@AMBASSADORS.event
class AmbassadorActionLogged(Payload):
    """An ambassador promoted the model (a film-discussion, a presentation, a kiosk…)."""

    ambassador_id: str
    kind: str
    performed_on: str
    activity_id: str | None = None
    people_reached: int | None = None


@AMBASSADORS.event
class AmbassadorRetired(Payload):
    """An ambassador stepped down; `retired_on` is the day the mandate ended."""

    ambassador_id: str
    retired_on: str


@AMBASSADORS.event
class AmbassadorDeactivated(Payload):
    """An ambassador's cooperative left the network; the mandate ended on `effective_on`."""

    ambassador_id: str
    effective_on: str
    reason: str | None = None
