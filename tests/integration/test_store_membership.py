"""The membership store on SQLite and on PostgreSQL: events, context, idempotency, lists."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError as EventStoreConflict

from services.membership import views
from services.membership.application import Membership
from services.membership.domain import CooperativeNotFoundError
from shared.persistence import (
    CommandContext,
    Database,
    IdempotencyRecord,
    event_context_table,
    idempotency_table,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'membership.sqlite3'}"
    url: str = request.getfixturevalue("postgres_database_url")
    return url


class Store:
    """Opens the membership application on one database, as a (re)started process does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opened: list[tuple[Membership, Database]] = []

    def open(self) -> tuple[Membership, views.CooperativeDirectory]:
        database = Database(self.url, app_name="membership")
        database.create_tables(views.metadata)
        app = Membership(database)
        directory = views.CooperativeDirectory(app)
        app.directory = directory
        app.on_saved(directory.catch_up)
        self.opened.append((app, database))
        return app, directory

    def close(self) -> None:
        for app, database in self.opened:
            app.close()
            database.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url)
    try:
        yield opened
    finally:
        opened.close()


def join(
    app: Membership,
    *,
    region: str = "06",
    sector: str = "microbrasserie",
    context: CommandContext | None = None,
) -> UUID:
    cooperative_id = uuid4()
    app.join(
        cooperative_id,
        name=f"Coop {cooperative_id.hex[:6]}",
        region=region,
        sector=sector,
        worker_members=5,
        joined_on=date(2023, 5, 14),
        neq=None,
        context=context,
    )
    return cooperative_id


def idempotent(key: str) -> CommandContext:
    record = IdempotencyRecord(key, "fingerprint", 201, "resource", 1_700_000_000.0)
    return CommandContext(correlation_id=str(uuid4()), idempotency=record)


def test_a_cooperative_saved_by_one_process_loads_in_the_next(store: Store) -> None:
    app, _ = store.open()
    cooperative_id = join(app)
    app.update_profile(cooperative_id, {"name": "Renommée", "worker_members": 8})
    app.leave(cooperative_id, left_on=date(2024, 1, 31), reason="fusion")
    app.rejoin(cooperative_id, rejoined_on=date(2024, 3, 1))

    reopened, _ = store.open()
    cooperative = reopened.cooperative(cooperative_id)

    assert cooperative.version == 4
    assert (cooperative.name, cooperative.worker_members) == ("Renommée", 8)
    assert [(p.start, p.end) for p in cooperative.periods] == [
        (date(2023, 5, 14), date(2024, 1, 31)),
        (date(2024, 3, 1), None),
    ]
    assert [type(e).__name__ for e in reopened.history(cooperative_id)] == [
        "Joined",
        "ProfileUpdated",
        "Left",
        "Rejoined",
    ]


def test_the_idempotency_record_commits_with_the_events(store: Store) -> None:
    app, _ = store.open()
    first = join(app, context=idempotent("key-1"))

    with app.database.reading() as conn:
        rows = conn.execute(sa.select(idempotency_table)).all()
    assert [(r.key_hash, r.status, r.resource) for r in rows] == [("key-1", 201, "resource")]

    twin = uuid4()
    with pytest.raises(EventStoreConflict):
        app.join(
            twin,
            name="Twin",
            region="06",
            sector="microbrasserie",
            worker_members=1,
            joined_on=date(2023, 1, 1),
            neq=None,
            context=idempotent("key-1"),
        )

    reopened, _ = store.open()
    assert reopened.recorder.max_notification_id() == 1
    assert reopened.cooperative(first).version == 1
    with pytest.raises(CooperativeNotFoundError):
        reopened.cooperative(twin)
    with reopened.database.reading() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(idempotency_table)).scalar() == 1
        contexts = conn.execute(sa.select(event_context_table.c.originator_id)).scalars().all()
    assert contexts == [str(first)]


def test_each_event_has_its_commands_context_row(store: Store) -> None:
    app, _ = store.open()
    joined = CommandContext(
        correlation_id=str(uuid4()),
        causation_id=str(uuid4()),
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    cooperative_id = join(app, context=joined)
    left = CommandContext(correlation_id=str(uuid4()))
    app.leave(cooperative_id, left_on=date(2024, 1, 1), reason=None, context=left)
    app.rejoin(cooperative_id, rejoined_on=date(2024, 2, 1))  # no context: a fresh correlation

    with app.database.reading() as conn:
        rows = conn.execute(
            sa.select(event_context_table).order_by(event_context_table.c.originator_version)
        ).all()

    assert [tuple(r) for r in rows[:2]] == [
        (str(cooperative_id), 1, joined.correlation_id, joined.causation_id, joined.traceparent),
        (str(cooperative_id), 2, left.correlation_id, None, None),
    ]
    fresh = rows[2]
    assert fresh.originator_version == 3
    assert fresh.correlation_id not in (joined.correlation_id, left.correlation_id)
    assert fresh.causation_id is None


def test_notifications_are_numbered_in_commit_order(store: Store) -> None:
    app, _ = store.open()

    def lives(count: int) -> None:
        for _ in range(count):
            cooperative_id = join(app)
            app.update_profile(cooperative_id, {"worker_members": 9})
            app.leave(cooperative_id, left_on=date(2024, 1, 1), reason=None)

    threads = [threading.Thread(target=lives, args=(5,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    notifications = app.recorder.select_notifications(1, 1000)
    ids = [n.id for n in notifications]
    assert len(notifications) == 60
    assert ids == sorted(ids)
    assert len(set(ids)) == 60
    seen: dict[UUID | str, list[int]] = {}
    for notification in notifications:
        seen.setdefault(notification.originator_id, []).append(notification.originator_version)
    assert all(versions == [1, 2, 3] for versions in seen.values())
    assert len(seen) == 20


def test_the_directory_lists_in_creation_order_with_filters_and_pages(store: Store) -> None:
    app, directory = store.open()
    a = join(app, region="06", sector="microbrasserie")
    b = join(app, region="01", sector="alimentation")
    c = join(app, region="06", sector="alimentation")
    app.leave(b, left_on=date(2024, 1, 1), reason=None)
    app.update_profile(a, {"region": "03"})

    def listed(after: int = 0, limit: int = 100, **filters: str | None) -> list[str]:
        where = {"status": None, "region": None, "sector": None, **filters}
        items, _ = directory.list(after=after, limit=limit, **where)
        return [item["id"] for item in items]

    assert listed() == [str(a), str(b), str(c)]
    assert listed(status="active") == [str(a), str(c)]
    assert listed(status="left") == [str(b)]
    assert listed(region="06") == [str(c)]
    assert listed(region="03") == [str(a)]
    assert listed(sector="alimentation", status="active") == [str(c)]

    first_page, positions = directory.list(status=None, region=None, sector=None, after=0, limit=2)
    assert [d["id"] for d in first_page] == [str(a), str(b), str(c)]  # limit + 1 rows
    assert listed(after=positions[1]) == [str(c)]
    assert first_page[0]["region"] == "03"
    assert first_page[0]["version"] == 2


def test_the_directory_filters_on_name_neq_and_reference_and_leaves_voided_out(
    store: Store,
) -> None:
    app, directory = store.open()

    def named(name: str, neq: str | None = None, ref: str | None = None) -> UUID:
        cooperative_id = uuid4()
        app.join(
            cooperative_id,
            name=name,
            region="06",
            sector="microbrasserie",
            worker_members=None,
            joined_on=date(2023, 5, 14),
            neq=neq,
            external_ref=ref,
        )
        return cooperative_id

    atelier = named("Coop L’Atelier 100% bio", neq="1170000000")
    underscore = named("Coop_Atelier", ref="crm-1")
    voided = named("Atelier annulé", ref="crm-2")
    app.void(voided, reason="doublon")

    def listed(**filters: str | None) -> list[str]:
        where: dict[str, str | None] = {"status": None, "region": None, "sector": None}
        items, _ = directory.list(after=0, limit=100, **{**where, **filters})
        return [item["id"] for item in items]

    assert listed(q="l'ATELIER") == [str(atelier)]
    assert listed(q="100%") == [str(atelier)]
    assert listed(q="0% b") == [str(atelier)]
    assert listed(q="p_a") == [str(underscore)]
    assert listed(q="atelier") == [str(atelier), str(underscore)]
    assert listed(q="atelier", status="voided") == [str(voided)]
    assert listed(neq="1170000000") == [str(atelier)]
    assert listed(external_ref="crm-1") == [str(underscore)]
    assert listed(external_ref="crm-2") == [str(voided)]
    assert listed(external_ref="crm-2", status="active") == []


def test_a_restarted_directory_catches_up_with_events_it_missed(store: Store) -> None:
    app, _ = store.open()
    first = join(app)
    crashed = Membership(Database(store.url, app_name="membership"))  # saved, view not updated
    second = join(crashed)
    crashed.close()
    crashed.database.dispose()

    _, reopened = store.open()
    items, _ = reopened.list(status=None, region=None, sector=None, after=0, limit=10)

    assert [item["id"] for item in items] == [str(first), str(second)]


def test_every_postgres_table_lives_in_the_schema_the_url_names(
    postgres_database_url: str,
) -> None:
    store = Store(postgres_database_url)
    try:
        app, _ = store.open()
        join(app)
        database = app.database
        tables = set(sa.inspect(database.engine).get_table_names(schema=database.schema))
        public = set(sa.inspect(database.engine).get_table_names(schema="public"))
    finally:
        store.close()

    assert database.schema != "public"
    assert {
        "coop_tracking",
        "coop_idempotency",
        "coop_event_context",
        "membership_cooperatives_v2",
    } <= tables
    assert any(name.endswith("events") for name in tables), tables
    assert not {"coop_idempotency", "membership_cooperatives_v2"} & public


def test_commands_do_not_stall_while_a_view_reads_the_store_in_its_write_transaction(
    store: Store,
) -> None:
    app, _ = store.open()
    existing = join(app)
    outcomes: list[str] = []

    def command(run: Callable[[], object]) -> None:
        try:
            run()
            outcomes.append("ok")
        except Exception as error:
            outcomes.append(type(error).__name__)

    commands = [
        threading.Thread(
            target=command,
            args=(lambda: app.leave(existing, left_on=date(2024, 1, 1), reason=None),),
        ),
        threading.Thread(target=command, args=(lambda: join(app),)),
        threading.Thread(target=command, args=(lambda: join(app),)),
    ]
    with app.database.writing() as conn:  # what a local view does while it catches up
        conn.execute(sa.select(idempotency_table)).all()
        for thread in commands:
            thread.start()
        time.sleep(0.3)  # the commands now wait for the write lock
        started = time.monotonic()
        app.recorder.select_notifications(1, 10)
        app.repository.get(existing)
        waited = time.monotonic() - started
    for thread in commands:
        thread.join(30)

    assert waited < 2, f"the view waited {waited:.1f} s for the event store"
    assert outcomes == ["ok", "ok", "ok"]
    assert app.recorder.max_notification_id() == 4
