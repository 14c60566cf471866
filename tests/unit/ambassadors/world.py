"""An ambassadors application on a SQLite file, fed membership events in-process."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from services.ambassadors import personal_data, views
from services.ambassadors.application import Ambassadors
from services.ambassadors.consumers import MembershipWithDeparturePolicy
from services.ambassadors.personal_data import PersonalDataStore
from services.ambassadors.views import AmbassadorList
from shared import membership_view
from shared.integration import Envelope, event_id_for
from shared.persistence import Database


@dataclass
class World:
    """The application, its list view and the membership projection, on one database."""

    database: Database
    app: Ambassadors
    listing: AmbassadorList
    projection: MembershipWithDeparturePolicy
    data_dir: Path
    versions: dict[str, int]

    def deliver(self, envelope: Envelope) -> None:
        """What the consumer does with one message: the policy, then the view's transaction."""
        self.projection.prepare(envelope)
        with self.database.writing() as conn:
            self.projection.apply(conn, envelope)

    def membership_event(self, event_type: str, cooperative_id: str, **data: Any) -> Envelope:
        """The next membership event of a cooperative, as it would arrive from NATS."""
        version = self.versions.get(cooperative_id, 0) + 1
        self.versions[cooperative_id] = version
        event_id = event_id_for(cooperative_id, version)
        return Envelope(
            event_id=event_id,
            event_type=event_type,
            schema_version=1,
            aggregate_id=cooperative_id,
            aggregate_version=version,
            occurred_at="2024-01-05T10:00:00Z",
            correlation_id=str(uuid.uuid4()),
            causation_id=None,
            data={"cooperative_id": cooperative_id, **data},
        )

    def join(self, joined_on: date) -> uuid.UUID:
        """A cooperative joins; the view learns it."""
        cooperative_id = uuid.uuid4()
        self.deliver(
            self.membership_event(
                "CoopJoined",
                str(cooperative_id),
                name="Coop",
                region="06",
                sector="microbrasserie",
                worker_members=5,
                joined_on=joined_on.isoformat(),
            )
        )
        return cooperative_id

    def leave(self, cooperative_id: uuid.UUID, left_on: date) -> Envelope:
        """A cooperative leaves; returns the message so a test can deliver it again."""
        envelope = self.membership_event(
            "CoopLeft", str(cooperative_id), left_on=left_on.isoformat(), reason=None
        )
        self.deliver(envelope)
        return envelope

    def rejoin(self, cooperative_id: uuid.UUID, rejoined_on: date) -> None:
        """A cooperative comes back."""
        self.deliver(
            self.membership_event(
                "CoopRejoined", str(cooperative_id), rejoined_on=rejoined_on.isoformat()
            )
        )

    def enroll(
        self,
        cooperative_id: uuid.UUID,
        enrolled_on: date,
        name: str = "Camille Tremblay",
        email: str | None = "camille@example.org",
    ) -> uuid.UUID:
        """Enroll an ambassador; return the id."""
        ambassador_id = uuid.uuid4()
        self.app.enroll(
            ambassador_id,
            cooperative_id=cooperative_id,
            name=name,
            email=email,
            enrolled_on=enrolled_on,
        )
        return ambassador_id


def build_world(data_dir: Path, database_url: str | None = None) -> World:
    """Wire the application as the composition root does, without NATS or HTTP."""
    url = database_url or f"sqlite:///{data_dir / 'ambassadors.sqlite3'}"
    database = Database(url, app_name="ambassadors")
    database.create_tables(views.metadata, personal_data.metadata, membership_view.metadata)
    view = membership_view.MembershipView(database)
    personal = PersonalDataStore(database)
    app = Ambassadors(
        database, personal_data.recorder_env(database), membership=view, personal=personal
    )
    listing = AmbassadorList(app, personal)
    app.on_saved(listing.catch_up)
    return World(database, app, listing, MembershipWithDeparturePolicy(view, app), data_dir, {})


def correct_membership(
    world: World, cooperative_id: uuid.UUID, periods: list[tuple[date, date | None]]
) -> Envelope:
    """The membership service corrects a cooperative's periods; returns the message."""
    envelope = world.membership_event(
        "CoopMembershipCorrected",
        str(cooperative_id),
        periods=[
            {"start": start.isoformat(), "end": end.isoformat() if end else None}
            for start, end in periods
        ],
        reason="saisie en double",
    )
    world.deliver(envelope)
    return envelope


def void(world: World, cooperative_id: uuid.UUID) -> Envelope:
    """The membership service voids a cooperative (a record made by mistake)."""
    envelope = world.membership_event("CoopVoided", str(cooperative_id), reason="doublon")
    world.deliver(envelope)
    return envelope


def restore(world: World, cooperative_id: uuid.UUID) -> Envelope:
    """The membership service undoes a void."""
    envelope = world.membership_event("CoopRestored", str(cooperative_id), reason=None)
    world.deliver(envelope)
    return envelope
