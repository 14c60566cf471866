"""`COOP_AMBASSADORS`: what the ambassadors service publishes.

No payload carries an ambassador's name or email (contract §6): those stay in the ambassadors
service's own erasable table.
"""

from __future__ import annotations

from typing import Any

from shared.integration import Payload, StreamContract

AMBASSADORS = StreamContract(
    stream="COOP_AMBASSADORS",
    service="ambassadors",
    record_ids={"AmbassadorActionLogged": "action_id"},
)


@AMBASSADORS.event
class AmbassadorEnrolled(Payload):
    """A member cooperative's worker became an ambassador on `enrolled_on`."""

    ambassador_id: str
    cooperative_id: str
    enrolled_on: str


class AmbassadorActionLoggedV1(Payload):
    """Version 1 of `AmbassadorActionLogged`: without `action_id`."""

    ambassador_id: str
    kind: str
    performed_on: str
    activity_id: str | None = None
    people_reached: int | None = None


class AmbassadorActionLogged(Payload):
    """An ambassador promoted the model (a film-discussion, a presentation, a kiosk…).

    Version 2: `action_id` names the action that later corrections and withdrawals refer to.
    """

    ambassador_id: str
    action_id: str
    kind: str
    performed_on: str
    activity_id: str | None = None
    people_reached: int | None = None


AMBASSADORS.event(AmbassadorActionLogged, version=2)


@AMBASSADORS.upcaster("AmbassadorActionLogged", 1)
def _action_logged_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """A version-1 action's id is the `event_id` of the message that logged it (§16.1).

    `AMBASSADORS.upcast` puts that id in the data; data without it (read outside an
    envelope) keeps none.
    """
    return {**data, "action_id": data.get("action_id", "")}


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


@AMBASSADORS.event
class AmbassadorEnrollmentCorrected(Payload):
    """An ambassador's enrollment date was corrected."""

    ambassador_id: str
    enrolled_on: str
    reason: str | None = None


@AMBASSADORS.event
class AmbassadorActionCorrected(Payload):
    """An action's fields were corrected: the payload holds the action as corrected."""

    ambassador_id: str
    action_id: str
    kind: str
    performed_on: str
    activity_id: str | None = None
    people_reached: int | None = None
    reason: str | None = None


@AMBASSADORS.event
class AmbassadorActionWithdrawn(Payload):
    """An action was logged by mistake and withdrawn: it counts nowhere."""

    ambassador_id: str
    action_id: str
    reason: str | None = None


@AMBASSADORS.event
class AmbassadorReactivated(Payload):
    """An ambassador's retirement or deactivation was undone: active, as if never ended."""

    ambassador_id: str
    reason: str | None = None
