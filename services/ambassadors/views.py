"""The ambassadors service's own tables: ambassadors as listed and filtered.

The stored documents hold no personal information: name and email are merged in at read
time from the erasable table, so erasing them leaves no copy in the list's table.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.ambassadors.application import PersonalDetails, PersonalRecords
from services.ambassadors.domain import Action, Ambassador
from shared.application import CoopApplication
from shared.documents import DocumentView, document_table

metadata = sa.MetaData()

ambassadors = document_table(
    metadata,
    "ambassadors_ambassadors",
    sa.Column("status", sa.String(12), nullable=False, index=True),
    sa.Column("cooperative_id", sa.String(36), nullable=False, index=True),
)

STATUSES = ("active", "retired", "deactivated")

cooperative_names = sa.Table(
    "ambassadors_cooperative_names",
    metadata,
    sa.Column("cooperative_id", sa.String(36), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
)


def keep_cooperative_names(conn: sa.Connection, names: dict[str, str]) -> None:
    """Remember cooperatives' current names (from CoopJoined or CoopProfileUpdated)."""
    if not names:
        return
    table = cooperative_names
    conn.execute(sa.delete(table).where(table.c.cooperative_id.in_(sorted(names))))
    conn.execute(
        sa.insert(table), [{"cooperative_id": k, "name": v} for k, v in sorted(names.items())]
    )


def cooperative_name(app: CoopApplication, cooperative_id: str) -> str | None:
    """A cooperative's name as the membership events last told it, or None if unknown."""
    table = cooperative_names
    with app.database.reading() as conn:
        return conn.execute(
            sa.select(table.c.name).where(table.c.cooperative_id == cooperative_id)
        ).scalar_one_or_none()


def document(ambassador: Ambassador) -> dict[str, Any]:
    """The ambassador's representation without personal information (what the table stores)."""
    return {
        "id": str(ambassador.id),
        "cooperative_id": str(ambassador.cooperative_id),
        "enrolled_on": ambassador.enrolled_on.isoformat(),
        "status": ambassador.status,
        "ended_on": ambassador.ended_on.isoformat() if ambassador.ended_on else None,
        "actions": len(ambassador.actions),
        "version": ambassador.version,
        "external_ref": ambassador.external_ref,
    }


def with_personal(doc: dict[str, Any], details: PersonalDetails | None) -> dict[str, Any]:
    """The public representation (contract §4): the document plus name, email and `erased`."""
    return {
        "id": doc["id"],
        "cooperative_id": doc["cooperative_id"],
        "name": details.name if details else None,
        "email": details.email if details else None,
        "enrolled_on": doc["enrolled_on"],
        "status": doc["status"],
        "ended_on": doc["ended_on"],
        "actions": doc["actions"],
        "version": doc["version"],
        "erased": details is None,
        "external_ref": doc.get("external_ref"),
    }


def represent(ambassador: Ambassador, details: PersonalDetails | None) -> dict[str, Any]:
    """The public representation of an ambassador as recorded now."""
    return with_personal(document(ambassador), details)


def represent_action(ambassador: Ambassador, action: Action) -> dict[str, Any]:
    """An action record (contract §4)."""
    return {
        "id": str(action.id),
        "ambassador_id": str(ambassador.id),
        "kind": action.kind,
        "performed_on": action.performed_on.isoformat(),
        "activity_id": str(action.activity_id) if action.activity_id else None,
        "people_reached": action.people_reached,
        "external_ref": action.external_ref,
    }


def _columns(ambassador: Ambassador) -> dict[str, Any]:
    return {"status": ambassador.status, "cooperative_id": str(ambassador.cooperative_id)}


class AmbassadorList(DocumentView):
    """Ambassadors for lists, with their personal details merged in when read."""

    def __init__(self, app: CoopApplication, personal: PersonalRecords) -> None:
        super().__init__(app, ambassadors, document, _columns, applies_to=Ambassador)
        self.personal = personal

    def list(
        self,
        *,
        status: str | None,
        cooperative_id: str | None,
        after: int,
        limit: int,
        email: str | None = None,
        holder: str | None = None,
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """A page of ambassadors matching the filters, in creation order.

        `holder` is the id of the ambassador an `external_ref` filter named ("" for none).
        """
        self.catch_up()
        where: list[Any] = []
        if holder is not None:
            where.append(ambassadors.c.id == holder)
        if email:
            where.append(ambassadors.c.id.in_(self.personal.with_email(email)))
        if status:
            where.append(ambassadors.c.status == status)
        if cooperative_id:
            where.append(ambassadors.c.cooperative_id == cooperative_id)
        with self.app.database.reading() as conn:
            docs, positions = self.page(conn, where, after, limit)
        details = self.personal.find_many([doc["id"] for doc in docs])
        return [with_personal(doc, details.get(doc["id"])) for doc in docs], positions
