"""Ambassadors of the model, their actions, and the cooperatives they come from.

Neither aggregate holds an ambassador's name or email: personal information lives in the
service's erasable table, never in an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

ACTION_KINDS = ("cine_discussion", "presentation", "kiosque", "mentorat", "autre")
ACTIVE, RETIRED, DEACTIVATED = "active", "retired", "deactivated"
DEPARTURE_REASON = "cooperative_left"
ROSTER_NAMESPACE = UUID("0f6f4d5e-3c1b-4f7a-9a57-6f3e1d2c8b90")


@dataclass(frozen=True)
class Action:
    """One thing an ambassador did to promote the model."""

    id: UUID
    kind: str
    performed_on: date
    activity_id: UUID | None
    people_reached: int | None


class Ambassador(Aggregate):
    """A worker of a member cooperative who promotes the worker co-op model."""

    class Enrolled(Aggregate.Created):
        """A member cooperative's worker became an ambassador."""

        cooperative_id: UUID
        enrolled_on: date

    class ActionLogged(Aggregate.Event):
        """The ambassador did something to promote the model."""

        action_id: UUID
        kind: str
        performed_on: date
        activity_id: UUID | None
        people_reached: int | None

    class Retired(Aggregate.Event):
        """The ambassador stepped down."""

        retired_on: date

    class Deactivated(Aggregate.Event):
        """The ambassador's cooperative left the network."""

        effective_on: date
        reason: str

    @event(Enrolled)
    def __init__(self, id: UUID, cooperative_id: UUID, enrolled_on: date) -> None:
        self.cooperative_id = cooperative_id
        self.enrolled_on = enrolled_on
        self.status = ACTIVE
        self.ended_on: date | None = None
        self.actions: list[Action] = []

    @property
    def is_active(self) -> bool:
        """True until the ambassador retires or is deactivated."""
        return self.status == ACTIVE

    def action(self, action_id: UUID) -> Action | None:
        """The logged action with this id, if any."""
        return next((a for a in self.actions if a.id == action_id), None)

    def log_action(
        self,
        action_id: UUID,
        kind: str,
        performed_on: date,
        activity_id: UUID | None = None,
        people_reached: int | None = None,
    ) -> Action:
        """Record an action performed while the ambassador served."""
        self.check_can_log_action(kind, performed_on, people_reached)
        self._log_action(action_id, kind, performed_on, activity_id, people_reached)
        return self.actions[-1]

    def check_can_log_action(
        self, kind: str, performed_on: date, people_reached: int | None
    ) -> None:
        """An action falls between the enrollment and the day the ambassador ended."""
        if self.ended_on is not None and performed_on >= self.ended_on:
            raise AmbassadorEndedError(
                f"the ambassador ended on {self.ended_on}; an action must be performed before"
            )
        if kind not in ACTION_KINDS:
            raise ActionKindError(f"kind must be one of {', '.join(ACTION_KINDS)}")
        if people_reached is not None and people_reached < 0:
            raise PeopleReachedError("people_reached must not be negative")
        if performed_on < self.enrolled_on:
            raise ActionDateError(
                f"performed_on must not be before the enrollment ({self.enrolled_on})"
            )

    @event(ActionLogged)
    def _log_action(
        self,
        action_id: UUID,
        kind: str,
        performed_on: date,
        activity_id: UUID | None,
        people_reached: int | None,
    ) -> None:
        self.actions.append(Action(action_id, kind, performed_on, activity_id, people_reached))

    def retire(self, retired_on: date) -> None:
        """End an active ambassador's mandate on `retired_on`."""
        self.check_can_retire(retired_on)
        self._retire(retired_on)

    def check_can_retire(self, retired_on: date) -> None:
        """Only an active ambassador retires, not before the enrollment."""
        if not self.is_active:
            raise NotActiveError(f"the ambassador is {self.status}")
        if retired_on < self.enrolled_on:
            raise RetirementDateError(
                f"retired_on must not be before the enrollment ({self.enrolled_on})"
            )

    @event(Retired)
    def _retire(self, retired_on: date) -> None:
        self.status = RETIRED
        self.ended_on = retired_on

    def departure_effective_on(self, left_on: date) -> date:
        """When a departure ends this mandate: the co-op's `left_on`, or the later enrollment."""
        return max(left_on, self.enrolled_on)

    def deactivate(self, left_on: date, reason: str = DEPARTURE_REASON) -> bool:
        """End the mandate because the cooperative left; an ended ambassador is left alone."""
        if not self.is_active:
            return False
        self._deactivate(self.departure_effective_on(left_on), reason)
        return True

    @event(Deactivated)
    def _deactivate(self, effective_on: date, reason: str) -> None:
        self.status = DEACTIVATED
        self.ended_on = effective_on


class CooperativeRoster(Aggregate):
    """One cooperative's ambassadors and the departures this service has acted on.

    Enrollments and the departure policy both change the roster, so the event store's
    optimistic concurrency orders them, even across processes: an enrollment that races a
    departure is retried and then sees it.
    """

    @staticmethod
    def id_for(cooperative_id: UUID) -> UUID:
        """The roster id of a cooperative (one roster per cooperative)."""
        return uuid5(ROSTER_NAMESPACE, str(cooperative_id))

    @event("Opened")
    def __init__(self, id: UUID, cooperative_id: UUID) -> None:
        self.cooperative_id = cooperative_id
        self.ambassador_ids: list[UUID] = []
        self.departures: dict[str, date] = {}

    @classmethod
    def open(cls, cooperative_id: UUID) -> CooperativeRoster:
        """The roster of a cooperative seen for the first time."""
        return cls(id=cls.id_for(cooperative_id), cooperative_id=cooperative_id)

    @event("AmbassadorAdded")
    def add(self, ambassador_id: UUID) -> None:
        """Count a newly enrolled ambassador among the cooperative's."""
        self.ambassador_ids.append(ambassador_id)

    def has_noted(self, departure_id: str) -> bool:
        """True when this departure (a `CoopLeft` event id) was already acted on."""
        return departure_id in self.departures

    @event("DepartureNoted")
    def note_departure(self, departure_id: str, left_on: date) -> None:
        """Remember a departure acted on, by its event id."""
        self.departures[departure_id] = left_on

    def departure_after(self, start: date) -> date | None:
        """The earliest departure noted after `start` (the end of a period that began then)."""
        later = [left_on for left_on in self.departures.values() if left_on > start]
        return min(later) if later else None


def end_of_membership_on(
    periods: list[tuple[date, date | None]], day: date, roster: CooperativeRoster | None
) -> tuple[bool, date | None]:
    """Whether the cooperative is a member on `day`, and the day that membership ends if known."""
    # `periods` come from the membership events this service has applied; the roster may know
    # a departure those periods do not show yet (the policy runs just before the view moves).
    for start, end in periods:
        if start <= day and (end is None or day < end):
            if end is None and roster is not None:
                end = roster.departure_after(start)
                if end is not None and day >= end:
                    return False, None
            return True, end
    return False, None


class AmbassadorsError(Exception):
    """Base of the ambassadors service's refusals."""


class AmbassadorNotFoundError(AmbassadorsError):
    """No ambassador has this id."""


class CooperativeNotMemberError(AmbassadorsError):
    """The cooperative is not a member on the enrollment date, as far as this service knows."""


class ActionDateError(AmbassadorsError):
    """The action is dated before the enrollment."""


class ActionKindError(AmbassadorsError):
    """The action's kind is not one of the network's."""


class PeopleReachedError(AmbassadorsError):
    """The number of people reached is negative."""


class AmbassadorEndedError(AmbassadorsError):
    """The action is dated on or after the day the ambassador ended."""


class RetirementDateError(AmbassadorsError):
    """The retirement is dated before the enrollment."""


class NotActiveError(AmbassadorsError):
    """The ambassador has already retired or been deactivated."""
