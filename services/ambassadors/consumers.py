"""What the ambassadors service takes from other streams: membership, and its departure policy."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import date
from uuid import UUID

import sqlalchemy as sa
from pydantic import ValidationError

from services.ambassadors.application import Ambassadors
from services.ambassadors.views import keep_cooperative_names
from shared.contracts.membership import (
    MEMBERSHIP,
    CoopJoined,
    CoopLeft,
    CoopMembershipCorrected,
    CoopProfileUpdated,
    CoopRestored,
    CoopVoided,
)
from shared.integration import Envelope
from shared.membership_view import MembershipBatch, MembershipView
from shared.persistence import CommandContext

log = logging.getLogger(__name__)

DURABLE = "ambassadors-membership"


def _uuid_or(value: str | None, fallback: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return fallback


class MembershipWithDeparturePolicy:
    """The membership view, with the policy run on each change of a cooperative's membership
    (a departure, a correction, a void, a restoration) before the view moves.

    `prepare` runs outside the consumer's transaction and may run again for the same message
    (after a crash or a redelivery): the roster notes every change it acted on, by event id,
    in the transaction that records the ambassadors' events, so the second run changes nothing.
    """

    def __init__(self, view: MembershipView, app: Ambassadors) -> None:
        self.view = view
        self.app = app

    def prepare(self, envelope: Envelope) -> None:
        """Run §4's and §10's policy for the cooperative this membership event changed."""
        try:
            payload = MEMBERSHIP.payload(envelope)
            if not isinstance(
                payload, CoopLeft | CoopMembershipCorrected | CoopVoided | CoopRestored
            ):
                return
            cooperative_id = UUID(payload.cooperative_id)
            left_on = date.fromisoformat(payload.left_on) if isinstance(payload, CoopLeft) else None
            periods = (
                [
                    (date.fromisoformat(p.start), date.fromisoformat(p.end) if p.end else None)
                    for p in payload.periods
                ]
                if isinstance(payload, CoopMembershipCorrected)
                else None
            )
        except (ValidationError, ValueError, KeyError):
            return  # `apply` meets the same message and parks it
        event_id = _uuid_or(envelope.event_id, str(uuid.uuid4()))
        context = CommandContext(
            correlation_id=_uuid_or(envelope.correlation_id, event_id), causation_id=event_id
        )
        version = envelope.aggregate_version
        if left_on is not None:
            changed = self.app.apply_departure(
                cooperative_id,
                left_on=left_on,
                departure_id=envelope.event_id,
                version=version,
                context=context,
            )
        else:
            voided = None if periods is not None else isinstance(payload, CoopVoided)
            changed = self.app.apply_membership_change(
                cooperative_id,
                change_id=envelope.event_id,
                version=version,
                periods=periods,
                voided=voided,
                context=context,
            )
        if changed:
            log.info(
                "%s of cooperative %s: %d ambassador(s) changed",
                envelope.event_type,
                cooperative_id,
                len(changed),
            )

    def apply(self, conn: sa.Connection, envelope: Envelope) -> None:
        """Move the membership view and the cooperatives' names by one event (alone)."""
        batch = self.begin(conn, [envelope])
        batch.apply(envelope)
        batch.flush()

    def begin(self, conn: sa.Connection, envelopes: Sequence[Envelope]) -> _Batch:
        """A batch of membership events, applied inside the consumer's transaction."""
        return _Batch(conn, self.view.begin(conn, envelopes))


class _Batch:
    """The view's batch, and the cooperatives' names (`CoopJoined`, `CoopProfileUpdated`) that
    the personal-data export shows, written once per batch."""

    def __init__(self, conn: sa.Connection, view: MembershipBatch) -> None:
        self.conn = conn
        self.view = view
        self.names: dict[str, str] = {}

    def apply(self, envelope: Envelope) -> None:
        """Move the view (a date it could not read back fails here: the message parks)."""
        self.view.apply(envelope)
        payload = MEMBERSHIP.payload(envelope)
        if isinstance(payload, CoopJoined):
            self.names[str(UUID(payload.cooperative_id))] = payload.name
        elif isinstance(payload, CoopProfileUpdated) and isinstance(
            payload.changes.get("name"), str
        ):
            self.names[str(UUID(payload.cooperative_id))] = payload.changes["name"]

    def flush(self) -> None:
        """Write the view's changes and the names."""
        self.view.flush()
        keep_cooperative_names(self.conn, self.names)
