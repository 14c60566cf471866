"""The partnerships service on SQLite and on PostgreSQL: its event store and views, races
between creates of one partner, and `COOP_PARTNERSHIPS` in commit order (contract §12, §16.5)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa

from services.partnerships import views
from services.partnerships.application import KnownReference, Partnerships
from services.partnerships.domain import PartnerNameTakenError, PartnerNotFoundError
from shared import membership_view
from shared.persistence import Database
from tests.support import (
    NatsServer,
    ServiceProcess,
    postgres_base_url,
    postgres_schema,
    stream_messages,
    wait_for,
)

NOTIFICATION_HEADER = "Coop-Notification-Id"


@pytest.fixture(scope="module")
def postgres_url() -> str:
    """PostgreSQL for these tests: a loud failure, never a skip, when it is not there."""
    url = postgres_base_url()
    if url is None:
        pytest.fail("COOP_TEST_POSTGRES_URL is not set: the partnerships tests need PostgreSQL")
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL at COOP_TEST_POSTGRES_URL is unreachable: {error}")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'partnerships.sqlite3'}"
        return
    with postgres_schema(request.getfixturevalue("postgres_url")) as url:
        yield url


class Everyone:
    """A membership view in which every cooperative is a member on every day."""

    def is_member_on(self, cooperative_id: str, day: date) -> bool:
        return True


class Store:
    """Opens the partnerships application on one database, as a (re)started process does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opened: list[Partnerships] = []

    def open(self) -> tuple[Partnerships, views.Directory]:
        database = Database(self.url, app_name="partnerships")
        database.create_tables(views.metadata, membership_view.metadata)
        app = Partnerships(database, Everyone(), views.SectorList(database))
        self.opened.append(app)
        return app, views.Directory(app)

    def close(self) -> None:
        for app in self.opened:
            app.close()
            app.database.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url)
    try:
        yield opened
    finally:
        opened.close()


def register(app: Partnerships, name: str, kind: str = "autre", **extra: Any) -> UUID:
    partner_id = uuid4()
    fields: dict[str, Any] = {"region": None, "aliases": [], "website": None, **extra}
    app.register_partner(partner_id, name=name, kind=kind, **fields)
    return partner_id


def test_every_record_saved_by_one_process_loads_in_the_next_and_in_its_lists(
    store: Store,
) -> None:
    app, _ = store.open()
    pole = register(app, "Pôle d’économie sociale", "economie_sociale", region="01",
                    aliases=["PES Bas-Saint-Laurent"], external_ref="crm-1")  # fmt: skip
    udem = register(app, "Université de Montréal", "recherche")
    shop = register(app, "Épicerie Trois-Pistoles", "detaillant", region="01")
    app.update_partner(pole, {"aliases": ["PES BSL"], "website": "https://pes.example"})
    app.deactivate_partner(udem)
    project = uuid4()
    app.start_project(project, title="Coops et territoires", theme=None,
                      partner_ids=[udem, pole, udem], started_on=date(2023, 1, 10))  # fmt: skip
    app.complete_project(project, ended_on=date(2024, 3, 1))
    table = uuid4()
    app.form_table(table, name="Microbrasseries", sector="microbrasserie",
                   formed_on=date(2022, 11, 1), external_ref="table-1")  # fmt: skip
    cooperative = uuid4()
    app.add_member(table, cooperative, joined_on=date(2023, 1, 1))
    action = uuid4()
    app.log_action(table, action, kind="visibilite", title="Salon", performed_on=date(2023, 10, 1),
                   partner_ids=[pole], external_ref="act-1")  # fmt: skip
    placement = uuid4()
    app.secure_placement(table, placement, retailer_id=shop, started_on=date(2023, 9, 1),
                         note="Tablette locale", external_ref="place-1")  # fmt: skip
    app.end_placement(table, placement, ended_on=date(2024, 2, 1))
    app.withdraw_action(table, action, reason="doublon")
    app.remove_member(table, cooperative, left_on=date(2024, 1, 1))

    reopened, directory = store.open()
    loaded = reopened.partner(pole)
    assert (loaded.version, loaded.aliases, loaded.website) == (
        2,
        ["PES BSL"],
        "https://pes.example",
    )
    assert reopened.partner(udem).status == "inactive"
    assert reopened.project(project).partner_ids == [udem, pole]
    assert reopened.project(project).status == "completed"
    loaded_table = reopened.table(table)
    assert loaded_table.version == 7
    assert loaded_table.members[cooperative].left_on == date(2024, 1, 1)
    assert loaded_table.actions[action].withdrawn
    assert loaded_table.placements[placement].ended_on == date(2024, 2, 1)
    assert [type(e).__name__ for e in reopened.history(table, type(loaded_table))] == [
        "Formed", "MemberAdded", "ActionLogged", "PlacementSecured", "PlacementEnded",
        "ActionWithdrawn", "MemberRemoved",
    ]  # fmt: skip

    def partners(**filters: Any) -> list[str]:
        where = {"kind": None, "region": None, "status": None, "q": None, "external_ref": None}
        items, _ = directory.list_partners(**{**where, **filters}, after=0, limit=100)
        return [item["id"] for item in items]

    assert partners() == [str(pole), str(udem), str(shop)]
    assert partners(q="pôle d'ÉCONOMIE") == [str(pole)]
    assert partners(q="pes bsl") == [str(pole)]
    assert partners(q="PES Bas") == []  # the old alias is gone
    assert partners(q="_") == []
    assert partners(kind="detaillant", region="01") == [str(shop)]
    assert partners(status="inactive") == [str(udem)]
    assert partners(external_ref="crm-1") == [str(pole)]
    items, _ = directory.list_partners(
        kind=None, region=None, status=None, q=None, external_ref=None, after=0, limit=1
    )
    assert [i["id"] for i in items] == [str(pole), str(udem)]  # limit + 1 rows
    assert items[0]["version"] == 2
    projects, _ = directory.list_projects(
        status="completed", partner_id=str(pole), external_ref=None, after=0, limit=10
    )
    assert [p["id"] for p in projects] == [str(project)]
    tables, _ = directory.list_tables(
        sector="microbrasserie", status="active", external_ref="table-1", after=0, limit=10
    )
    assert [t["id"] for t in tables] == [str(table)]
    assert tables[0]["members"][0]["left_on"] == "2024-01-01"


def test_a_restarted_directory_catches_up_with_what_it_missed(store: Store) -> None:
    app, directory = store.open()
    first = register(app, "Premier partenaire")
    assert len(directory.list_projects(status=None, partner_id=None, external_ref=None,
                                       after=0, limit=10)[0]) == 0  # fmt: skip
    other = Partnerships(Database(store.url, app_name="partnerships"), Everyone(),
                         views.SectorList(app.database))  # fmt: skip
    second = register(other, "Second partenaire")  # saved by another process
    other.close()
    other.database.dispose()

    _, reopened = store.open()
    items, _ = reopened.list_partners(kind=None, region=None, status=None, q="partenaire",
                                      external_ref=None, after=0, limit=10)  # fmt: skip
    assert [i["id"] for i in items] == [str(first), str(second)]


def race(*attempts: Callable[[], Any]) -> list[Any]:
    """Run the attempts at once, each in its thread; their results or exceptions."""
    barrier = threading.Barrier(len(attempts))

    def run(attempt: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return attempt()
        except Exception as error:
            return error

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(run, attempts))


def register_as(
    app: Partnerships, partner_id: UUID, name: str, external_ref: str | None = None
) -> None:
    app.register_partner(partner_id, name=name, kind="autre", region=None, aliases=[],
                         website=None, external_ref=external_ref)  # fmt: skip


def test_two_processes_creating_one_normalized_name_at_once_record_one_partner(
    store: Store,
) -> None:
    first, _ = store.open()
    second, directory = store.open()  # another process's application on the same database
    for round_ in range(10):
        ids = [uuid4(), uuid4()]
        outcomes = race(
            partial(register_as, first, ids[0], f"Pôle d’économie  sociale {round_}"),
            partial(register_as, second, ids[1], f"PÔLE D'ÉCONOMIE SOCIALE {round_} "),
        )
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert len(refused) == 1, outcomes
        assert isinstance(refused[0], PartnerNameTakenError), refused
        winner = ids[outcomes.index(next(o for o in outcomes if not isinstance(o, Exception)))]
        loser = ids[1 - ids.index(winner)]
        assert refused[0].existing_id == str(winner)
        with pytest.raises(PartnerNotFoundError):
            first.partner(loser)
        items, _ = directory.list_partners(kind=None, region=None, status=None,
                                           q=f"sociale {round_}", external_ref=None, after=0,
                                           limit=10)  # fmt: skip
        assert [i["id"] for i in items] == [str(winner)]
    assert first.recorder.max_notification_id() == 10


def test_two_processes_creating_with_one_external_ref_at_once_record_one_partner(
    store: Store,
) -> None:
    first, _ = store.open()
    second, directory = store.open()
    for round_ in range(10):
        ids = [uuid4(), uuid4()]
        outcomes = race(
            *(
                partial(register_as, app, ids[i], f"Partenaire {round_}-{i}", f"crm-{round_}")
                for i, app in enumerate((first, second))
            )
        )
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert len(refused) == 1, outcomes
        assert isinstance(refused[0], KnownReference), refused
        winner = ids[outcomes.index(next(o for o in outcomes if not isinstance(o, Exception)))]
        assert refused[0].holder == winner
        items, _ = directory.list_partners(kind=None, region=None, status=None, q=None,
                                           external_ref=f"crm-{round_}", after=0,
                                           limit=10)  # fmt: skip
        assert [i["id"] for i in items] == [str(winner)]
    assert first.recorder.max_notification_id() == 10


# --- real processes ----------------------------------------------------------------------


@pytest.fixture
def instances(
    database_url: str, tmp_path: Path, nats_server: NatsServer
) -> Iterator[list[ServiceProcess]]:
    """Two `coop serve partnerships` on one PostgreSQL database; one process on SQLite (the
    embedded store runs one instance per data dir), which gets both requests of a race."""
    env = {"COOP_PARTNERSHIPS_DATABASE_URL": database_url}
    count = 1 if database_url.startswith("sqlite") else 2
    started = [
        ServiceProcess("partnerships", tmp_path / f"partnerships-{n}", nats_server.url, **env)
        for n in range(count)
    ]
    try:
        for process in started:
            process.start()
        yield started * (3 - count)
    finally:
        for process in started:
            process.stop()


def race_http(*requests: tuple[ServiceProcess, str, dict[str, Any]]) -> list[httpx.Response]:
    clients = [process.client() for process, _, _ in requests]
    try:
        return race(
            *(
                lambda c=client, path=path, body=body: c.post(path, json=body)
                for client, (_, path, body) in zip(clients, requests, strict=True)
            )
        )
    finally:
        for client in clients:
            client.close()


def test_concurrent_creates_over_http_record_one_partner_and_every_event_is_published_in_commit_order(  # noqa: E501
    instances: list[ServiceProcess], database_url: str, nats_server: NatsServer
) -> None:
    a, b = instances
    winners: list[str] = []
    for round_ in range(6):
        same_name = race_http(
            (a, "/v1/partners", {"name": f"Cinéma Paraloeil {round_}", "kind": "autre"}),
            (b, "/v1/partners", {"name": f"  CINÉMA  paraloeil {round_}", "kind": "detaillant"}),
        )
        assert sorted(r.status_code for r in same_name) == [201, 409], [r.text for r in same_name]
        created = next(r for r in same_name if r.status_code == 201).json()
        refused = next(r for r in same_name if r.status_code == 409).json()
        assert refused["type"].endswith("/partner-name-taken")
        assert refused["existing_id"] == created["id"]
        winners.append(created["id"])

        same_ref = race_http(
            *(
                (process, "/v1/partners", {"name": f"Détaillant {round_}-{n}",
                                           "kind": "detaillant", "external_ref": f"erp-{round_}"})
                for n, process in enumerate((a, b))
            )
        )  # fmt: skip
        assert sorted(r.status_code for r in same_ref) == [200, 201], [r.text for r in same_ref]
        first = next(r for r in same_ref if r.status_code == 201).json()
        assert next(r for r in same_ref if r.status_code == 200).json() == first
        winners.append(first["id"])

    http = a.client()
    listed = http.get("/v1/partners", params={"limit": 100}).json()["items"]
    assert [p["id"] for p in listed] == winners
    retailer = winners[1]
    table_body = {"name": "Table", "sector": "microbrasserie", "formed_on": "2022-11-01"}
    table = http.post("/v1/sector-tables", json=table_body).json()["id"]
    placement = http.post(f"/v1/sector-tables/{table}/retail-placements",
                          json={"retailer_id": retailer, "started_on": "2023-09-01"})  # fmt: skip
    assert placement.status_code == 201, placement.text
    project = http.post("/v1/research-projects", json={"title": "Étude", "partner_ids": winners[:2],
                                                       "started_on": "2023-01-01"})  # fmt: skip
    assert project.status_code == 201, project.text
    ended = http.post(
        f"/v1/sector-tables/{table}/retail-placements/{placement.json()['id']}/end",
        json={"ended_on": "2024-01-31"},
    )
    assert ended.status_code == 200, ended.text
    assert b.client().patch(f"/v1/partners/{winners[0]}", json={"region": "01"}).status_code == 200

    database = Database(database_url, app_name="partnerships")
    reader = Partnerships(database, Everyone(), views.SectorList(database))
    try:
        notifications = reader.recorder.select_notifications(1, 1000)
    finally:
        reader.close()
        database.dispose()
    assert len(notifications) == len(winners) + 5

    def on_stream() -> list[dict[str, Any]] | None:
        try:
            found = asyncio.run(stream_messages(nats_server.url, "COOP_PARTNERSHIPS"))
        except Exception:
            return None
        return found if len(found) >= len(notifications) else None

    messages = wait_for(on_stream, timeout=30)
    assert len(messages) == len(notifications)
    assert [int(m["headers"][NOTIFICATION_HEADER]) for m in messages] == [
        n.id for n in notifications
    ]
    assert [(m["body"]["aggregate_id"], m["body"]["aggregate_version"]) for m in messages] == [
        (str(n.originator_id), n.originator_version) for n in notifications
    ]
    assert [m["body"]["event_type"] for m in messages] == [
        *["PartnerRegistered"] * len(winners), "SectorTableFormed", "RetailPlacementSecured",
        "ResearchProjectStarted", "RetailPlacementEnded", "PartnerUpdated",
    ]  # fmt: skip
    assert len({m["body"]["event_id"] for m in messages}) == len(messages)
