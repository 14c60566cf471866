"""Group commit: concurrent saves share one store transaction, and one refusal loses no other."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError, StoredEvent

from services.membership import views
from services.membership.application import Membership
from services.membership.domain import NeqTakenError
from shared.persistence import (
    CommandContext,
    Database,
    GroupCommit,
    PendingWrite,
    event_context_table,
    unique_claims_table,
)


def stored(name: str) -> list[StoredEvent]:
    return [StoredEvent(originator_id=uuid4(), originator_version=1, topic=name, state=b"{}")]


class Store:
    """A fake store: records each transaction's saves; the first one waits until released."""

    def __init__(self, refuse: str | None = None) -> None:
        self.transactions: list[list[str]] = []
        self.committed: list[str] = []
        self.refuse = refuse
        self.first_started = threading.Event()
        self.release_first = threading.Event()

    def write_together(self, batch: Sequence[PendingWrite]) -> list[Sequence[int] | None]:
        names = [p.stored_events[0].topic for p in batch]
        self.transactions.append(names)
        if len(self.transactions) == 1:
            self.first_started.set()
            assert self.release_first.wait(10)
        if self.refuse in names:
            raise IntegrityError(f"{self.refuse} is refused")
        self.committed += names
        return [[len(self.committed) - len(names) + i + 1] for i in range(len(names))]


def run_concurrently(group: GroupCommit, store: Store, names: list[str]) -> dict[str, Any]:
    """Save `names[0]`, hold its transaction until the others wait, then let every save finish."""
    outcomes: dict[str, Any] = {}

    def save(name: str) -> None:
        try:
            outcomes[name] = group.write(stored(name), {})
        except IntegrityError as error:
            outcomes[name] = error

    with ThreadPoolExecutor(len(names)) as pool:
        pool.submit(save, names[0])
        assert store.first_started.wait(10)
        for name in names[1:]:
            pool.submit(save, name)
        deadline = time.monotonic() + 10
        while len(group._waiting) < len(names) - 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        store.release_first.set()
    return outcomes


def test_saves_that_arrive_during_a_transaction_share_the_next_one() -> None:
    store = Store()
    group = GroupCommit(store.write_together)

    outcomes = run_concurrently(group, store, ["a", "b", "c", "d", "e"])

    assert store.transactions[0] == ["a"]
    assert sorted(store.transactions[1]) == ["b", "c", "d", "e"]
    assert len(store.transactions) == 2
    ids = {name: list(result) for name, result in outcomes.items()}
    assert sorted(i for result in ids.values() for i in result) == [1, 2, 3, 4, 5]
    assert ids["a"] == [1]


def test_a_refused_save_is_retried_alone_and_loses_no_other() -> None:
    store = Store(refuse="c")
    group = GroupCommit(store.write_together)

    outcomes = run_concurrently(group, store, ["a", "b", "c", "d"])

    assert isinstance(outcomes["c"], IntegrityError)
    assert sorted(store.committed) == ["a", "b", "d"]
    assert all(not isinstance(outcomes[n], Exception) for n in ("a", "b", "d"))
    shared = store.transactions[1]
    assert len(shared) == 3  # b, c and d together, refused as a whole
    assert sorted(store.transactions[2:]) == sorted([[n] for n in shared])  # then one by one


def test_the_batch_is_bounded_and_the_lead_passes_on() -> None:
    store = Store()
    group = GroupCommit(store.write_together, limit=2)

    outcomes = run_concurrently(group, store, ["a", "b", "c", "d", "e"])

    assert [len(t) for t in store.transactions] == [1, 2, 2]
    assert len(outcomes) == 5
    assert sorted(store.committed) == ["a", "b", "c", "d", "e"]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A membership database on SQLite, and on PostgreSQL when one is configured."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'membership.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
    db = Database(url, app_name="membership")
    db.create_tables(views.metadata)
    try:
        yield db
    finally:
        db.dispose()


def test_concurrent_commands_commit_with_their_context_and_a_taken_neq_is_refused(
    database: Database,
) -> None:
    app = Membership(database)
    batches: list[int] = []
    recorder: Any = app.recorder
    write_together = recorder._write_together

    def counting(batch: Sequence[PendingWrite]) -> list[Sequence[int] | None]:
        batches.append(len(batch))
        time.sleep(0.005)  # a slow commit, so that saves queue behind it
        result: list[Sequence[int] | None] = write_together(batch)
        return result

    recorder._group._write_together = counting
    neqs = [f"{n:010d}" for n in range(40)] + ["0000000007"]

    def join(neq: str) -> UUID | Exception:
        cooperative_id = uuid4()
        try:
            app.join(
                cooperative_id,
                name="Coop",
                region="06",
                sector="alimentation",
                worker_members=3,
                joined_on=date(2023, 5, 1),
                neq=neq,
                context=CommandContext(correlation_id=str(uuid4())),
            )
        except NeqTakenError as error:
            return error
        return cooperative_id

    try:
        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(join, neqs))
        joined = [o for o in outcomes if isinstance(o, UUID)]
        refused = [o for o in outcomes if isinstance(o, NeqTakenError)]

        assert (len(joined), len(refused)) == (40, 1)
        assert max(batches) > 1
        assert app.recorder.max_notification_id() == 40
        with database.reading() as conn:
            contexts = conn.execute(sa.select(event_context_table.c.originator_id)).scalars()
            claims = conn.execute(sa.select(unique_claims_table.c.owner)).scalars()
            assert sorted(contexts) == sorted(str(i) for i in joined)
            assert sorted(claims) == sorted(str(i) for i in joined)
        assert {app.cooperative(i).version for i in joined} == {1}
    finally:
        app.close()
