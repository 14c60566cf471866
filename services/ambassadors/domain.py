"""Ambassadors of the model, their actions, and the cooperatives they come from.

Neither aggregate holds an ambassador's name or email: personal information lives in the
service's erasable table, never in an event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.integration import event_id_for
from shared.vocabulary import ActionKind

ACTION_KINDS = tuple(kind.value for kind in ActionKind)
ACTIVE, RETIRED, DEACTIVATED = "active", "retired", "deactivated"
CORRECTABLE_ACTION_FIELDS = ("kind", "performed_on", "activity_id", "people_reached")
# Why the departure policy ended or restored a mandate (contract §10).
DEPARTURE_REASON = "cooperative-left"
CORRECTION_REASON = "membership-corrected"
VOID_REASON = "cooperative-voided"
ROSTER_NAMESPACE = UUID("0f6f4d5e-3c1b-4f7a-9a57-6f3e1d2c8b90")

Period = tuple[date, date | None]


@dataclass(frozen=True)
class Action:
    """One thing an ambassador did to promote the model."""

    id: UUID
    kind: str
    performed_on: date
    activity_id: UUID | None
    people_reached: int | None
    external_ref: str | None = None
    number: int = 0
    """Its place in the order the ambassador's actions were logged (1 for the first), withdrawn
    ones counted: what a list's cursor stands on."""


class Ambassador(Aggregate):
    """A worker of a member cooperative who promotes the worker co-op model."""

    class Enrolled(Aggregate.Created):
        """A member cooperative's worker became an ambassador.

        Version 2 adds `external_ref` (none for an enrollment recorded before).
        """

        class_version = 2

        cooperative_id: UUID
        enrolled_on: date
        external_ref: str | None = None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """An enrollment recorded before version 2 has no external reference."""
            state["external_ref"] = None

    class ActionLogged(Aggregate.Event):
        """The ambassador did something to promote the model.

        Version 2: an action logged by a version-1 event has as its id the `event_id` of the
        message that published it (contract §16.1), as every consumer's upcaster reads it, and
        no external reference.
        """

        class_version = 2

        action_id: UUID
        kind: str
        performed_on: date
        activity_id: UUID | None
        people_reached: int | None
        external_ref: str | None = None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """A version-1 action's id is its message's `event_id`."""
            state["action_id"] = UUID(
                event_id_for(state["originator_id"], state["originator_version"])
            )
            state["external_ref"] = None

    class EnrollmentCorrected(Aggregate.Event):
        """The enrollment date was corrected."""

        enrolled_on: date
        reason: str | None

    class ActionCorrected(Aggregate.Event):
        """An action's fields were corrected: the event holds the action as corrected."""

        action_id: UUID
        kind: str
        performed_on: date
        activity_id: UUID | None
        people_reached: int | None
        reason: str | None

    class ActionWithdrawn(Aggregate.Event):
        """An action was logged by mistake and withdrawn: it counts nowhere."""

        action_id: UUID
        reason: str | None

    class Reactivated(Aggregate.Event):
        """A retirement or deactivation was undone, as if the mandate had never ended."""

        reason: str | None

    class Retired(Aggregate.Event):
        """The ambassador stepped down."""

        retired_on: date

    class Deactivated(Aggregate.Event):
        """The ambassador's cooperative left the network."""

        effective_on: date
        reason: str

    @event(Enrolled)
    def __init__(
        self,
        id: UUID,
        cooperative_id: UUID,
        enrolled_on: date,
        external_ref: str | None = None,
    ) -> None:
        self.cooperative_id = cooperative_id
        self.enrolled_on = enrolled_on
        self.external_ref = external_ref
        self.status = ACTIVE
        self.ended_on: date | None = None
        self.actions: list[Action] = []
        self.withdrawn_actions: dict[UUID, Action] = {}

    @property
    def is_active(self) -> bool:
        """True until the ambassador retires or is deactivated."""
        return self.status == ACTIVE

    def action(self, action_id: UUID) -> Action | None:
        """The logged action with this id (withdrawn ones too: their reference still names them)."""
        found = next((a for a in self.actions if a.id == action_id), None)
        return found or self.withdrawn_actions.get(action_id)

    def logged_action(self, action_id: UUID) -> Action:
        """An action that counts; 404 when none, `already-withdrawn` when withdrawn."""
        found = next((a for a in self.actions if a.id == action_id), None)
        if found is not None:
            return found
        if action_id in self.withdrawn_actions:
            raise AlreadyWithdrawnError(f"the action {action_id} was withdrawn")
        raise ActionNotFoundError(f"no action {action_id} of the ambassador {self.id}")

    def log_action(
        self,
        action_id: UUID,
        kind: str,
        performed_on: date,
        activity_id: UUID | None = None,
        people_reached: int | None = None,
        external_ref: str | None = None,
    ) -> Action:
        """Record an action performed while the ambassador served."""
        self.check_can_log_action(kind, performed_on, people_reached)
        self._log_action(action_id, kind, performed_on, activity_id, people_reached, external_ref)
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
        external_ref: str | None = None,
    ) -> None:
        number = len(self.actions) + len(self.withdrawn_actions) + 1
        self.actions.append(
            Action(action_id, kind, performed_on, activity_id, people_reached, external_ref, number)
        )

    def correct_action(
        self, action_id: UUID, proposed: dict[str, Any], reason: str | None = None
    ) -> bool:
        """Correct some of an action's fields (§4's rules hold on the result); True if changed."""
        action = self.logged_action(action_id)
        corrected = replace(
            action, **{f: proposed[f] for f in CORRECTABLE_ACTION_FIELDS if f in proposed}
        )
        # The rules first, then the no-op (contract §16.3's order).
        self.check_can_log_action(corrected.kind, corrected.performed_on, corrected.people_reached)
        if corrected == action:
            return False
        self._correct_action(
            action_id,
            corrected.kind,
            corrected.performed_on,
            corrected.activity_id,
            corrected.people_reached,
            reason,
        )
        return True

    @event(ActionCorrected)
    def _correct_action(
        self,
        action_id: UUID,
        kind: str,
        performed_on: date,
        activity_id: UUID | None,
        people_reached: int | None,
        reason: str | None,
    ) -> None:
        self.actions = [
            replace(
                a,
                kind=kind,
                performed_on=performed_on,
                activity_id=activity_id,
                people_reached=people_reached,
            )
            if a.id == action_id
            else a
            for a in self.actions
        ]

    def withdraw_action(self, action_id: UUID, reason: str | None = None) -> None:
        """Withdraw an action logged by mistake."""
        self.logged_action(action_id)
        self._withdraw_action(action_id, reason)

    @event(ActionWithdrawn)
    def _withdraw_action(self, action_id: UUID, reason: str | None) -> None:
        withdrawn = next(a for a in self.actions if a.id == action_id)
        self.actions = [a for a in self.actions if a.id != action_id]
        self.withdrawn_actions[action_id] = withdrawn

    def correct_enrollment(self, enrolled_on: date, reason: str | None = None) -> bool:
        """Move the enrollment date; True if it changed.

        It may not fall after one of the ambassador's actions, nor on or after its end.
        (Whether the cooperative was a member that day is the application's check.)
        """
        self.check_enrollment(enrolled_on)
        if enrolled_on == self.enrolled_on:
            return False
        self._correct_enrollment(enrolled_on, reason)
        return True

    def check_enrollment(self, enrolled_on: date) -> None:
        """An enrollment falls on or before every action, and before the mandate's end."""
        first_action = min((a.performed_on for a in self.actions), default=None)
        if first_action is not None and enrolled_on > first_action:
            raise EnrollmentDateError(
                f"enrolled_on must not be after the ambassador's first action ({first_action})"
            )
        if self.ended_on is not None and enrolled_on >= self.ended_on:
            raise EnrollmentDateError(
                f"enrolled_on must be before the day the ambassador ended ({self.ended_on})"
            )

    @event(EnrollmentCorrected)
    def _correct_enrollment(self, enrolled_on: date, reason: str | None) -> None:
        self.enrolled_on = enrolled_on

    def reactivate(self, reason: str | None = None) -> None:
        """Undo a retirement or a deactivation: the mandate runs as if it had never ended."""
        if self.is_active:
            raise AlreadyActiveError("the ambassador is active")
        self._reactivate(reason)

    @event(Reactivated)
    def _reactivate(self, reason: str | None) -> None:
        self.status = ACTIVE
        self.ended_on = None

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

    def follow_membership(self, periods: list[Period], voided: bool, reason: str) -> bool:
        """Leave the mandate as §4 would have, had the corrected membership always been true.

        Contract §10 and §16.20: a retired ambassador is left alone; otherwise it is
        deactivated on its enrollment while the cooperative is voided or when the enrollment
        falls in no period, else on max(enrollment, E) where E is the earliest period end on
        or after the enrollment, and active when there is no such end. True if it changed.
        """
        if self.status == RETIRED:
            return False
        ends_on = mandate_end(periods, voided, self.enrolled_on)
        if ends_on is None:
            if self.is_active:
                return False
            self._reactivate(CORRECTION_REASON)
            return True
        if self.status == DEACTIVATED and self.ended_on == ends_on:
            return False
        self._deactivate(ends_on, reason)
        return True

    @event(Deactivated)
    def _deactivate(self, effective_on: date, reason: str) -> None:
        self.status = DEACTIVATED
        self.ended_on = effective_on


@dataclass(frozen=True)
class Standing:
    """A cooperative's membership as known at one point: its periods, voided or not, and the
    `aggregate_version` of the membership event that made it so (0: nothing known)."""

    periods: list[Period]
    voided: bool = False
    version: int = 0

    def membership_on(self, day: date) -> tuple[bool, date | None]:
        """Whether the cooperative is a member on `day`, and the day that membership ends."""
        if self.voided:
            return False, None
        for period in self.periods:
            if _within(period, day):
                return True, period[1]
        return False, None


class CooperativeRoster(Aggregate):
    """One cooperative's ambassadors and the membership changes this service has acted on.

    Enrollments and the departure policy both change the roster, so the event store's
    optimistic concurrency orders them, even across processes: an enrollment that races a
    departure or a correction is retried and then sees it. The policy runs just before the
    membership view moves, so the roster keeps the standing it acted on: for that short while
    it is newer than the view, and enrollments judge on it.
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
        self.noted: set[str] = set()
        self.standing: Standing | None = None

    @classmethod
    def open(cls, cooperative_id: UUID) -> CooperativeRoster:
        """The roster of a cooperative seen for the first time."""
        return cls(id=cls.id_for(cooperative_id), cooperative_id=cooperative_id)

    @event("AmbassadorAdded")
    def add(self, ambassador_id: UUID) -> None:
        """Count a newly enrolled ambassador among the cooperative's."""
        self.ambassador_ids.append(ambassador_id)

    def has_noted(self, change_id: str) -> bool:
        """True when this membership change (its event id) was already acted on."""
        return change_id in self.noted or change_id in self.departures

    @event("DepartureNoted")
    def note_departure(self, departure_id: str, left_on: date) -> None:
        """A departure acted on, by its event id (how the first release noted departures)."""
        self.departures[departure_id] = left_on

    def note_change(self, change_id: str, standing: Standing) -> None:
        """Remember a membership change acted on, by its event id, and the standing it made."""
        periods = [
            [start.isoformat(), end.isoformat() if end else None] for start, end in standing.periods
        ]
        self._note_change(change_id, standing.version, periods, standing.voided)

    @event("MembershipChangeNoted")
    def _note_change(
        self, change_id: str, version: int, periods: list[list[str | None]], voided: bool
    ) -> None:
        self.noted.add(change_id)
        self.standing = Standing(
            [
                (date.fromisoformat(str(s)), date.fromisoformat(e) if e else None)
                for s, e in periods
            ],
            voided,
            version,
        )

    def newer_standing(self, known: Standing) -> Standing:
        """The roster's standing when it is newer than `known` (the view's), else `known`."""
        if self.standing is not None and self.standing.version > known.version:
            return self.standing
        return known


def mandate_end(periods: list[Period], voided: bool, enrolled_on: date) -> date | None:
    """The day §10's policy ends a mandate that began on `enrolled_on`, or None if it runs on."""
    if voided or not any(_within(period, enrolled_on) for period in periods):
        return enrolled_on
    later_ends = [end for _, end in periods if end is not None and end >= enrolled_on]
    return max(enrolled_on, min(later_ends)) if later_ends else None


def _within(period: Period, day: date) -> bool:
    start, end = period
    return start <= day and (end is None or day < end)


class AmbassadorsError(Exception):
    """Base of the ambassadors service's refusals."""


class AmbassadorNotFoundError(AmbassadorsError):
    """No ambassador has this id."""


class ActionNotFoundError(AmbassadorsError):
    """The ambassador has no action with this id."""


class AlreadyWithdrawnError(AmbassadorsError):
    """The action was already withdrawn."""


class AlreadyActiveError(AmbassadorsError):
    """A reactivation of an ambassador who is active."""


class EnrollmentDateError(AmbassadorsError):
    """A corrected enrollment falls after an action or on or after the mandate's end."""


class PersonalDataErasedError(AmbassadorsError):
    """The ambassador's personal information was erased: there is nothing left to change."""


class ExternalRefTakenError(AmbassadorsError):
    """The external reference names an action of another ambassador."""


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
