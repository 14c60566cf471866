"""What the partnerships service consumes: `COOP_MEMBERSHIP`, into its membership view and
its knowledge of the sector list."""

from __future__ import annotations

import sqlalchemy as sa

from services.partnerships.views import SectorList
from shared.consumer import StreamConsumer
from shared.contracts.membership import MEMBERSHIP
from shared.integration import Envelope
from shared.membership_view import MembershipView
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.persistence import Database

MEMBERSHIP_DURABLE = "partnerships-membership"


class MembershipAndSectors:
    """Membership events move the membership view; `SectorDefined` adds to the sector list."""

    def __init__(self, view: MembershipView, sectors: SectorList) -> None:
        self.view = view
        self.sectors = sectors

    def prepare(self, envelope: Envelope) -> None:
        """Nothing to do outside the transaction."""

    def apply(self, conn: sa.Connection, envelope: Envelope) -> None:
        """Apply one membership event."""
        if envelope.event_type == "SectorDefined":
            self.sectors.define(conn, str(envelope.data["slug"]))
            return
        self.view.apply(conn, envelope)


def membership_consumer(
    database: Database,
    messaging: Messaging,
    view: MembershipView,
    sectors: SectorList,
    metrics: ServiceMetrics,
) -> StreamConsumer:
    """The durable consumer of `COOP_MEMBERSHIP`, exactly once."""
    return StreamConsumer(
        database,
        messaging,
        MEMBERSHIP,
        MembershipAndSectors(view, sectors),
        metrics,
        durable=MEMBERSHIP_DURABLE,
    )
