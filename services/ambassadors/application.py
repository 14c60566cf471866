"""Ambassadors use cases: enroll, log an action, retire, deactivate on departure, privacy."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, fields
from datetime import date
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.ambassadors.domain import (
    DEPARTURE_REASON,
    Action,
    Ambassador,
    AmbassadorNotFoundError,
    CooperativeNotMemberError,
    CooperativeRoster,
    end_of_membership_on,
)
from shared.application import CoopApplication
from shared.errors import ConfigurationError
from shared.persistence import CommandContext, Database

POLICY_ATTEMPTS = 10


@dataclass(frozen=True)
class PersonalDetails:
    """An ambassador's personal information (Law 25): never in an event, message or log."""

    name: str | None
    email: str | None = None

    def __repr__(self) -> str:
        return "PersonalDetails(<personal information>)"


@dataclass(frozen=True)
class EnrollmentContext(CommandContext):
    """A command context that also carries the new ambassador's personal details.

    The event store's recorder writes them to the personal-information table in the
    transaction that stores the enrollment, so an event never exists without its details.
    """

    ambassador_id: str = ""
    personal: PersonalDetails | None = None


class Membership(Protocol):
    """Which cooperatives are members, and when, as the membership events told this service."""

    def periods(self, cooperative_id: str) -> list[tuple[date, date | None]]:
        """The cooperative's membership periods [start, end), oldest first."""


class PersonalRecords(Protocol):
    """The erasable table of personal details, keyed by ambassador id."""

    def find(self, ambassador_id: UUID) -> PersonalDetails | None:
        """The ambassador's details, or None once erased."""

    def find_many(self, ambassador_ids: list[str]) -> dict[str, PersonalDetails]:
        """The details of those ambassadors that still have some, by id."""

    def with_email(self, email: str) -> list[str]:
        """The ids of the ambassadors whose email is this one, case aside."""

    def erase(self, ambassador_id: UUID) -> None:
        """Delete the details for good (a repeat does nothing)."""


class Ambassadors(CoopApplication):
    """The ambassadors service's application."""

    name = "ambassadors"

    def __init__(
        self,
        database: Database,
        env: dict[str, str] | None = None,
        *,
        membership: Membership,
        personal: PersonalRecords,
    ) -> None:
        super().__init__(database, env)
        if not getattr(self.recorder, "keeps_personal_details", False):
            raise ConfigurationError(
                "the ambassadors event store needs the recorder that keeps personal details"
            )
        self.membership = membership
        self.personal = personal
        self._roster_lock = threading.Lock()

    def enroll(
        self,
        ambassador_id: UUID,
        *,
        cooperative_id: UUID,
        name: str,
        email: str | None,
        enrolled_on: date,
        context: CommandContext | None = None,
    ) -> Ambassador:
        """Enroll a member cooperative's worker; deactivate at once if the co-op since left."""
        with self._roster_lock:
            roster = self._roster(cooperative_id)
            periods = self.membership.periods(str(cooperative_id))
            member, ends_on = end_of_membership_on(periods, enrolled_on, roster)
            if not member:
                raise CooperativeNotMemberError(
                    f"the cooperative {cooperative_id} is not a member on {enrolled_on}"
                )
            roster = roster or CooperativeRoster.open(cooperative_id)
            ambassador = Ambassador(
                id=ambassador_id, cooperative_id=cooperative_id, enrolled_on=enrolled_on
            )
            roster.add(ambassador_id)
            if ends_on is not None:
                ambassador.deactivate(ends_on, DEPARTURE_REASON)
            details = PersonalDetails(name, email)
            self.record(_with_personal(context, ambassador_id, details), ambassador, roster)
        return ambassador

    def ambassador(self, ambassador_id: UUID) -> Ambassador:
        """The ambassador as recorded now."""
        found: object
        try:
            found = self.repository.get(ambassador_id)
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, Ambassador):
            raise AmbassadorNotFoundError(f"no ambassador {ambassador_id}")
        return found

    def log_action(
        self,
        ambassador_id: UUID,
        *,
        kind: str,
        performed_on: date,
        activity_id: UUID | None = None,
        people_reached: int | None = None,
        action_id: UUID | None = None,
        context: CommandContext | None = None,
    ) -> Action:
        """Record something an ambassador did to promote the model."""
        ambassador = self.ambassador(ambassador_id)
        action = ambassador.log_action(
            action_id or uuid.uuid4(), kind, performed_on, activity_id, people_reached
        )
        self.record(context, ambassador)
        return action

    def retire(
        self, ambassador_id: UUID, *, retired_on: date, context: CommandContext | None = None
    ) -> Ambassador:
        """An active ambassador steps down."""
        ambassador = self.ambassador(ambassador_id)
        ambassador.retire(retired_on)
        self.record(context, ambassador)
        return ambassador

    def apply_departure(
        self,
        cooperative_id: UUID,
        *,
        left_on: date,
        departure_id: str,
        context: CommandContext | None = None,
    ) -> list[UUID]:
        """Deactivate a departed co-op's active ambassadors, once; return the ids deactivated."""
        # Idempotent by state: a departure already noted on the roster changes nothing, and an
        # ambassador who already ended is left alone.
        for _attempt in range(POLICY_ATTEMPTS):
            with self._roster_lock:
                roster = self._roster(cooperative_id) or CooperativeRoster.open(cooperative_id)
                if roster.has_noted(departure_id):
                    return []
                roster.note_departure(departure_id, left_on)
                ambassadors = [self.ambassador(i) for i in roster.ambassador_ids]
                ended = [a for a in ambassadors if a.deactivate(left_on, DEPARTURE_REASON)]
                try:
                    self.record(context, roster, *ended)
                except IntegrityError:
                    continue  # another process changed the roster: look again
                return [a.id for a in ended]
        raise IntegrityError(f"the roster of {cooperative_id} kept changing concurrently")

    def personal_details(self, ambassador_id: UUID) -> PersonalDetails:
        """The ambassador's personal details for export (nulls once erased)."""
        self.ambassador(ambassador_id)
        return self.personal.find(ambassador_id) or PersonalDetails(None, None)

    def erase_personal_details(self, ambassador_id: UUID) -> None:
        """Erase the ambassador's personal details for good; the events stay as they are."""
        self.ambassador(ambassador_id)
        self.personal.erase(ambassador_id)

    def _roster(self, cooperative_id: UUID) -> CooperativeRoster | None:
        try:
            roster: CooperativeRoster = self.repository.get(
                CooperativeRoster.id_for(cooperative_id)
            )
        except AggregateNotFoundError:
            return None
        return roster


def _with_personal(
    context: CommandContext | None, ambassador_id: UUID, details: PersonalDetails
) -> EnrollmentContext:
    base = context or CommandContext(correlation_id=str(uuid.uuid4()))
    values = {f.name: getattr(base, f.name) for f in fields(CommandContext)}
    return EnrollmentContext(**values, ambassador_id=str(ambassador_id), personal=details)
