"""Ambassadors use cases: enroll, log and correct actions, retire, reactivate, follow the
membership of the ambassadors' cooperatives (the departure policy of §4 and §10), privacy."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError

from services.ambassadors.domain import (
    CORRECTION_REASON,
    DEPARTURE_REASON,
    VOID_REASON,
    Action,
    Ambassador,
    AmbassadorNotFoundError,
    CooperativeNotMemberError,
    CooperativeRoster,
    ExternalRefTakenError,
    Period,
    PersonalDataErasedError,
    Standing,
)
from shared.application import CoopApplication, check_version
from shared.calendar import today_in_quebec
from shared.errors import ConfigurationError
from shared.external_refs import KnownReference, holder_of, reference_claims
from shared.persistence import CommandContext, Database

AMBASSADOR_REF = "ambassador"
ACTION_REF = "ambassador_action"
T = TypeVar("T")

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

    def standing(self, cooperative_id: str) -> tuple[list[Period], bool, int]:
        """The periods [start, end) oldest first, whether voided, and the last version applied."""


class PersonalRecords(Protocol):
    """The erasable table of personal details, keyed by ambassador id."""

    def find(self, ambassador_id: UUID) -> PersonalDetails | None:
        """The ambassador's details, or None once erased."""

    def find_many(self, ambassador_ids: list[str]) -> dict[str, PersonalDetails]:
        """The details of those ambassadors that still have some, by id."""

    def with_email(self, email: str) -> list[str]:
        """The ids of the ambassadors whose email is this one, case aside."""

    def replace(self, ambassador_id: UUID, details: PersonalDetails) -> bool:
        """Replace the details of an ambassador that has some; False once erased."""

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

    # --- the membership of the ambassadors' cooperatives ---------------------------------

    def standing(self, cooperative_id: UUID, roster: CooperativeRoster | None = None) -> Standing:
        """The cooperative's membership as this service knows it now (the roster's when newer)."""
        periods, voided, version = self.membership.standing(str(cooperative_id))
        known = Standing(periods, voided, version)
        return roster.newer_standing(known) if roster is not None else known

    def _check_member(self, standing: Standing, cooperative_id: UUID, day: date) -> date | None:
        """422 unless the cooperative is a member on `day`; the end of that membership if known."""
        member, ends_on = standing.membership_on(day)
        if not member:
            raise CooperativeNotMemberError(
                f"the cooperative {cooperative_id} is not a member on {day}"
                " as far as the ambassadors service knows"
            )
        return ends_on

    # --- ambassadors ------------------------------------------------------------------------

    def enroll(
        self,
        ambassador_id: UUID,
        *,
        cooperative_id: UUID,
        name: str,
        email: str | None,
        enrolled_on: date,
        external_ref: str | None = None,
        context: CommandContext | None = None,
    ) -> Ambassador:
        """Enroll a member cooperative's worker; deactivate at once if the co-op since left.

        A known `external_ref` raises `KnownReference` before anything else is checked.
        """
        holder = holder_of(self.database, AMBASSADOR_REF, external_ref)
        if holder is not None:
            raise KnownReference(holder)
        claims = reference_claims(AMBASSADOR_REF, external_ref, ambassador_id)
        details = PersonalDetails(name, email)

        def attempt() -> Ambassador:
            roster = self._roster(cooperative_id)
            standing = self.standing(cooperative_id, roster)
            ends_on = self._check_member(standing, cooperative_id, enrolled_on)
            roster = roster or CooperativeRoster.open(cooperative_id)
            ambassador = Ambassador(
                id=ambassador_id,
                cooperative_id=cooperative_id,
                enrolled_on=enrolled_on,
                external_ref=external_ref,
            )
            roster.add(ambassador_id)
            if ends_on is not None:
                ambassador.deactivate(ends_on, DEPARTURE_REASON)
            recorded = _with_personal(context, ambassador_id, details).claiming(claims, ())
            self.record(recorded, ambassador, roster)
            return ambassador

        try:
            return self._on_roster(cooperative_id, attempt)
        except IntegrityError:
            holder = holder_of(self.database, AMBASSADOR_REF, external_ref)
            if holder is not None and holder != str(ambassador_id):
                raise KnownReference(holder) from None
            raise

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

    def update(
        self,
        ambassador_id: UUID,
        proposed: dict[str, Any],
        *,
        reason: str | None = None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> Ambassador:
        """Change personal details (no event) and correct the enrollment date (an event).

        Checks, in order: the ambassador exists, `If-Match`, personal details not erased (409),
        then the enrollment's rules and its cooperative a member on the new date (422).
        """
        ambassador = self.ambassador(ambassador_id)
        check_version(ambassador.version, expected_version)
        details = self.personal.find(ambassador_id)
        personal = {k: proposed[k] for k in ("name", "email") if k in proposed}
        if personal and details is None:
            raise PersonalDataErasedError(
                "the ambassador's personal information was erased: it cannot be changed"
            )
        enrolled_on = proposed.get("enrolled_on")
        if enrolled_on is not None:
            # The rules first, then the no-op (contract §16.3's order).
            ambassador.check_enrollment(enrolled_on)
            cooperative_id = ambassador.cooperative_id
            standing = self.standing(cooperative_id, self._roster(cooperative_id))
            self._check_member(standing, cooperative_id, enrolled_on)
            if ambassador.correct_enrollment(enrolled_on, reason):
                self.record(context, ambassador)
        if personal and details is not None:
            changed = PersonalDetails(
                personal.get("name", details.name), personal.get("email", details.email)
            )
            if changed != details and not self.personal.replace(ambassador_id, changed):
                raise PersonalDataErasedError(
                    "the ambassador's personal information was erased: it cannot be changed"
                )
        return ambassador

    def retire(
        self,
        ambassador_id: UUID,
        *,
        retired_on: date,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> Ambassador:
        """An active ambassador steps down."""
        ambassador = self.ambassador(ambassador_id)
        check_version(ambassador.version, expected_version)
        ambassador.retire(retired_on)
        self.record(context, ambassador)
        return ambassador

    def reactivate(
        self,
        ambassador_id: UUID,
        *,
        reason: str | None = None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> Ambassador:
        """Undo a retirement or deactivation; the cooperative must be a member today."""
        ambassador = self.ambassador(ambassador_id)
        check_version(ambassador.version, expected_version)
        ambassador.reactivate(reason)
        cooperative_id = ambassador.cooperative_id
        standing = self.standing(cooperative_id, self._roster(cooperative_id))
        self._check_member(standing, cooperative_id, today_in_quebec())
        self.record(context, ambassador)
        return ambassador

    def history(self, ambassador_id: UUID) -> list[DomainEventProtocol[UUID]]:
        """Every recorded event of the ambassador, oldest first."""
        self.ambassador(ambassador_id)
        return list(self.events.get(ambassador_id))

    # --- actions --------------------------------------------------------------------------

    def log_action(
        self,
        ambassador_id: UUID,
        *,
        kind: str,
        performed_on: date,
        activity_id: UUID | None = None,
        people_reached: int | None = None,
        action_id: UUID | None = None,
        external_ref: str | None = None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> Action:
        """Record something an ambassador did to promote the model.

        Checks, in order: the ambassador exists; a known `external_ref` answers with its
        action (`KnownReference`), or 409 when that action is another ambassador's; then
        `If-Match` and §4's rules.
        """
        ambassador = self.ambassador(ambassador_id)
        self.check_action_reference(ambassador_id, external_ref)
        check_version(ambassador.version, expected_version)
        new_id = action_id or uuid.uuid4()
        action = ambassador.log_action(
            new_id, kind, performed_on, activity_id, people_reached, external_ref
        )
        # The claim's owner names both ids in 64 characters: ambassador, then action, in hex.
        claims = reference_claims(ACTION_REF, external_ref, ambassador_id.hex + new_id.hex)
        recorded = (context or CommandContext(correlation_id=str(uuid.uuid4()))).claiming(
            claims, ()
        )
        try:
            self.record(recorded, ambassador)
        except IntegrityError:
            self.check_action_reference(ambassador_id, external_ref)
            raise
        return action

    def check_action_reference(self, ambassador_id: UUID, external_ref: str | None) -> None:
        """A held reference: `KnownReference` (`<ambassador id>/<action id>`), or 409 elsewhere."""
        holder = holder_of(self.database, ACTION_REF, external_ref)
        if holder is None:
            return
        holder_ambassador, holder_action = UUID(holder[:32]), UUID(holder[32:])
        if holder_ambassador != ambassador_id:
            raise ExternalRefTakenError(
                "this external_ref belongs to an action of another ambassador"
            )
        raise KnownReference(f"{holder_ambassador}/{holder_action}")

    def action(self, ambassador_id: UUID, action_id: UUID) -> Action:
        """An action of the ambassador (a withdrawn one too: its external_ref still names it)."""
        ambassador = self.ambassador(ambassador_id)
        return ambassador.action(action_id) or ambassador.logged_action(action_id)

    def correct_action(
        self,
        ambassador_id: UUID,
        action_id: UUID,
        proposed: dict[str, Any],
        *,
        reason: str | None = None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> tuple[Ambassador, Action]:
        """Correct some of an action's fields; a correction that changes nothing records nothing."""
        ambassador = self.ambassador(ambassador_id)
        ambassador.logged_action(action_id)
        check_version(ambassador.version, expected_version)
        if ambassador.correct_action(action_id, proposed, reason):
            self.record(context, ambassador)
        return ambassador, ambassador.logged_action(action_id)

    def withdraw_action(
        self,
        ambassador_id: UUID,
        action_id: UUID,
        *,
        reason: str | None = None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> Ambassador:
        """Withdraw an action logged by mistake."""
        ambassador = self.ambassador(ambassador_id)
        ambassador.logged_action(action_id)
        check_version(ambassador.version, expected_version)
        ambassador.withdraw_action(action_id, reason)
        self.record(context, ambassador)
        return ambassador

    # --- the departure policy (contract §4 and §10) ------------------------------------

    def apply_departure(
        self,
        cooperative_id: UUID,
        *,
        left_on: date,
        departure_id: str,
        version: int = 0,
        context: CommandContext | None = None,
    ) -> list[UUID]:
        """Deactivate a departed co-op's active ambassadors, once; return the ids changed.

        §4: each active ambassador ends on the cooperative's `left_on`, or its enrollment when
        that is later. Idempotent: a departure already noted on the roster changes nothing.
        """

        def after_departure(standing: Standing) -> Standing:
            periods = list(standing.periods)
            if periods and periods[-1][1] is None:
                periods[-1] = (periods[-1][0], left_on)
            return Standing(periods, standing.voided, version)

        return self._follow(
            cooperative_id,
            departure_id,
            after_departure,
            lambda ambassador, _standing: ambassador.deactivate(left_on, DEPARTURE_REASON),
            context,
        )

    def apply_membership_change(
        self,
        cooperative_id: UUID,
        *,
        change_id: str,
        version: int,
        periods: list[Period] | None = None,
        voided: bool | None = None,
        context: CommandContext | None = None,
    ) -> list[UUID]:
        """Follow a correction, a void or a restoration of a cooperative's membership, once.

        §10: each ambassador that is not retired ends up as §4 would have left it had the
        corrected history always been true. `periods` replaces the known periods (a
        correction); `voided` sets or lifts the void. Returns the ids changed.
        """

        def after_change(standing: Standing) -> Standing:
            return Standing(
                standing.periods if periods is None else periods,
                standing.voided if voided is None else voided,
                version,
            )

        def follow(ambassador: Ambassador, standing: Standing) -> bool:
            reason = VOID_REASON if standing.voided else CORRECTION_REASON
            return ambassador.follow_membership(standing.periods, standing.voided, reason)

        return self._follow(cooperative_id, change_id, after_change, follow, context)

    def _follow(
        self,
        cooperative_id: UUID,
        change_id: str,
        changed: Callable[[Standing], Standing],
        policy: Callable[[Ambassador, Standing], bool],
        context: CommandContext | None,
    ) -> list[UUID]:
        def attempt() -> list[UUID]:
            roster = self._roster(cooperative_id) or CooperativeRoster.open(cooperative_id)
            if roster.has_noted(change_id):
                return []
            standing = changed(self.standing(cooperative_id, roster))
            roster.note_change(change_id, standing)
            ambassadors = [self.ambassador(i) for i in roster.ambassador_ids]
            moved = [a for a in ambassadors if policy(a, standing)]
            self.record(context, roster, *moved)
            return [a.id for a in moved]

        return self._on_roster(cooperative_id, attempt)

    def _on_roster(self, cooperative_id: UUID, attempt: Callable[[], T]) -> T:
        """Run a change of the roster again while another process changes it concurrently."""
        for _attempt in range(POLICY_ATTEMPTS):
            with self._roster_lock:
                try:
                    return attempt()
                except IntegrityError:
                    continue  # another process changed the roster or an ambassador: look again
        raise IntegrityError(f"the roster of {cooperative_id} kept changing concurrently")

    # --- personal information ------------------------------------------------------------

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
