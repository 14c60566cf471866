"""What the ambassadors service takes from other streams: membership, and its departure policy."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from uuid import UUID

import sqlalchemy as sa
from pydantic import ValidationError

from services.ambassadors.application import Ambassadors
from services.ambassadors.views import keep_cooperative_name
from shared.contracts.membership import MEMBERSHIP, CoopJoined, CoopLeft, CoopProfileUpdated
from shared.integration import Envelope
from shared.membership_view import MembershipView
from shared.persistence import CommandContext

log = logging.getLogger(__name__)

DURABLE = "ambassadors-membership"


def _uuid_or(value: str | None, fallback: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return fallback


class MembershipWithDeparturePolicy:
    """The membership view, with the policy run on each `CoopLeft` before the view moves.

    `prepare` runs outside the consumer's transaction and may run again for the same message
    (after a crash or a redelivery): the policy is idempotent by state, so it changes nothing
    the second time.
    """

    def __init__(self, view: MembershipView, app: Ambassadors) -> None:
        self.view = view
        self.app = app

    def prepare(self, envelope: Envelope) -> None:
        """Deactivate the active ambassadors of a cooperative that left."""
        try:
            payload = MEMBERSHIP.payload(envelope)
            if not isinstance(payload, CoopLeft):
                return
            cooperative_id = UUID(payload.cooperative_id)
            left_on = date.fromisoformat(payload.left_on)
        except (ValidationError, ValueError, KeyError):
            return  # `apply` meets the same message and parks it
        event_id = _uuid_or(envelope.event_id, str(uuid.uuid4()))
        context = CommandContext(
            correlation_id=_uuid_or(envelope.correlation_id, event_id), causation_id=event_id
        )
        ended = self.app.apply_departure(
            cooperative_id, left_on=left_on, departure_id=envelope.event_id, context=context
        )
        if ended:
            log.info(
                "cooperative %s left on %s: %d ambassador(s) deactivated",
                cooperative_id,
                left_on,
                len(ended),
            )

    def apply(self, conn: sa.Connection, envelope: Envelope) -> None:
        """Move the membership view by one event, in the consumer's transaction.

        A date the view could not read back (`"2024-13-45"`) fails here, so the consumer parks
        the message rather than letting it break every later check of its cooperative.
        """
        payload = MEMBERSHIP.payload(envelope)
        for field in ("joined_on", "left_on", "rejoined_on"):
            value = getattr(payload, field, None)
            if value is not None:
                date.fromisoformat(value)
        if isinstance(payload, CoopJoined):
            keep_cooperative_name(conn, str(UUID(payload.cooperative_id)), payload.name)
        elif isinstance(payload, CoopProfileUpdated) and isinstance(
            payload.changes.get("name"), str
        ):
            keep_cooperative_name(conn, str(UUID(payload.cooperative_id)), payload.changes["name"])
        self.view.apply(conn, envelope)
