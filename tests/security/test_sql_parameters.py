"""SQL only through bound parameters: hostile strings are refused (4xx) or stored verbatim.

Behaviour: quotes, statement terminators, comment markers, LIKE wildcards, NUL bytes and very
long Unicode go into every filter, path segment and text field of every service, on SQLite and
on PostgreSQL. No answer is a 5xx; what is accepted reads back byte for byte; the reporting
projection applies every one of those events (nothing parked), so the strings also went through
NATS into the reporting service's SQL unharmed.

Code: no SQL statement in services/ or shared/ is built by string formatting, apart from the
documented exceptions listed in `ALLOWED_DYNAMIC_SQL` (identifiers and placeholder styles in
DDL and in the event-store recorders' fixed statements, never a value).
"""

from __future__ import annotations

import ast
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fuzz.platform import Platform, running_platform
from tests.support import ROOT, postgres_schema, wait_for

pytestmark = pytest.mark.e2e

HOSTILE = [
    "'",
    '"',
    "O'Brien & Fils",
    "'; DROP TABLE cooperatives; --",
    "Robert'); DROP TABLE reporting_activities;--",
    "1' OR '1'='1",
    '" OR ""="',
    "%",
    "_%_",
    "\\",
    "\\'; SELECT pg_sleep(5); --",
    "$1 :name ? %s %(x)s",
    "/* */ UNION SELECT * FROM coop_tracking --",
    "\u202egnirts desrever",
    "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522" * 60,
]
NUL = ["\x00", "avant\x00après"]
LONG = "é" * 20_000


def _hostile_paths() -> Iterator[str]:
    for value in [*HOSTILE, *NUL, "é" * 1000]:
        yield urllib.parse.quote(value, safe="")


def _assert_no_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.request.method, response.request.url, response)
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")


# --- behaviour ---------------------------------------------------------------------------------


def _exercise_hostile_strings(platform: Platform) -> None:
    cooperative = platform.seeded["cooperative"][0]
    activity = platform.seeded["activity"][0]
    with (
        platform.client("membership") as members,
        platform.client("events") as events,
        platform.client("ambassadors") as ambassadors,
        platform.client("reporting") as reporting,
    ):
        filters = [
            (members, "/v1/cooperatives", ("status", "region", "sector", "cursor", "limit")),
            (events, "/v1/activities", ("type", "region", "from", "to", "cursor", "limit")),
            (ambassadors, "/v1/ambassadors", ("status", "cooperative_id", "cursor", "limit")),
        ]
        for http, path, names in filters:
            for name in names:
                for value in [*HOSTILE, *NUL, "é" * 1000]:
                    answer = http.get(path, params={name: value})
                    _assert_no_server_error(answer)
                    assert answer.status_code in (200, 422), answer.text
        for segment in _hostile_paths():
            for http, path in [
                (members, f"/v1/cooperatives/{segment}"),
                (members, f"/v1/cooperatives/{segment}/history"),
                (events, f"/v1/activities/{segment}"),
                (ambassadors, f"/v1/ambassadors/{segment}"),
                (ambassadors, f"/v1/ambassadors/{segment}/personal-data"),
                (reporting, f"/v1/indicators/{segment}"),
                (reporting, f"/v1/indicators/{segment}.csv"),
                (reporting, f"/v1/reports/{segment}"),
            ]:
                answer = http.get(path)
                _assert_no_server_error(answer)
                assert answer.status_code in (404, 422), (path, answer.text)
            for name in ("as_of", "lang"):
                answer = reporting.get("/v1/indicators/2023-2024", params={name: segment})
                _assert_no_server_error(answer)

        for value in HOSTILE:
            _stores_verbatim(members, events, ambassadors, cooperative, activity, value)
        for value in [*NUL, LONG]:
            _refuses(members, events, ambassadors, cooperative, activity, value)
        _every_event_projected(reporting)


def _created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    document: dict[str, Any] = answer.json()
    return document


def _stores_verbatim(
    members: httpx.Client,
    events: httpx.Client,
    ambassadors: httpx.Client,
    cooperative: str,
    activity: str,
    value: str,
) -> None:
    joined = _created(
        members.post(
            "/v1/cooperatives",
            json={
                "name": value,
                "region": "05",
                "sector": "fabrication",
                "worker_members": 3,
                "joined_on": "2021-02-03",
            },
        )
    )
    assert members.get(f"/v1/cooperatives/{joined['id']}").json()["name"] == value
    renamed = members.patch(f"/v1/cooperatives/{joined['id']}", json={"name": value + "2"})
    assert renamed.status_code == 200 and renamed.json()["name"] == value + "2", renamed.text
    left = members.post(
        f"/v1/cooperatives/{joined['id']}/departure",
        json={"left_on": "2024-02-03", "reason": value},
    )
    assert left.status_code == 200, left.text
    history = members.get(f"/v1/cooperatives/{joined['id']}/history").json()["items"]
    assert history[-1]["data"]["reason"] == value

    scheduled = _created(
        events.post(
            "/v1/activities",
            json={
                "type": "conference",
                "title": value,
                "date": "2023-11-20",
                "format": "remote",
                "partners": [value, f"Partenaire {value}"],
            },
        )
    )
    shown = events.get(f"/v1/activities/{scheduled['id']}").json()
    assert shown["title"] == value and shown["partners"] == [value, f"Partenaire {value}"]
    cancelled = events.post(
        f"/v1/activities/{scheduled['id']}/cancellation", json={"reason": value}
    )
    assert cancelled.status_code == 200, cancelled.text

    enrolled = _created(
        ambassadors.post(
            "/v1/ambassadors",
            json={"cooperative_id": cooperative, "name": value, "enrolled_on": "2022-01-01"},
        )
    )
    personal = ambassadors.get(f"/v1/ambassadors/{enrolled['id']}/personal-data").json()
    assert personal["name"] == value
    assert ambassadors.get(f"/v1/ambassadors/{enrolled['id']}").json()["name"] == value, (
        "the representation reads the name back"
    )


def _refuses(
    members: httpx.Client,
    events: httpx.Client,
    ambassadors: httpx.Client,
    cooperative: str,
    activity: str,
    value: str,
) -> None:
    """Text no store can keep verbatim everywhere (NUL) or too long: refused with a 422."""
    answers = [
        members.post(
            "/v1/cooperatives",
            json={
                "name": value,
                "region": "05",
                "sector": "fabrication",
                "worker_members": 3,
                "joined_on": "2021-02-03",
            },
        ),
        members.patch(f"/v1/cooperatives/{cooperative}", json={"name": value}),
        events.post(
            "/v1/activities",
            json={"type": "autre", "title": value, "date": "2023-11-20", "format": "remote"},
        ),
        events.post(
            "/v1/activities",
            json={
                "type": "autre",
                "title": "Titre",
                "date": "2023-11-20",
                "format": "remote",
                "partners": [value],
            },
        ),
        events.post(f"/v1/activities/{activity}/cancellation", json={"reason": value * 2}),
        ambassadors.post(
            "/v1/ambassadors",
            json={"cooperative_id": cooperative, "name": value, "enrolled_on": "2022-01-01"},
        ),
        ambassadors.post(
            "/v1/ambassadors",
            json={
                "cooperative_id": cooperative,
                "name": "Nom",
                "email": f"a{value}@example.org",
                "enrolled_on": "2022-01-01",
            },
        ),
    ]
    for answer in answers:
        _assert_no_server_error(answer)
        assert answer.status_code == 422, (answer.request.url, answer.text)


def _every_event_projected(reporting: httpx.Client) -> None:
    def caught_up() -> dict[str, Any] | None:
        status: dict[str, Any] = reporting.get("/v1/projections/status").json()
        streams = status["streams"].values()
        return status if all(s["lag"] == 0 for s in streams) else None

    status = wait_for(caught_up, timeout=60)
    assert all(s["parked"] == 0 for s in status["streams"].values()), status
    figures = reporting.get("/v1/indicators/2023-2024")
    assert figures.status_code == 200, figures.text
    assert figures.json()["indicators"]["activities.total"] >= 1


def test_hostile_strings_are_refused_or_stored_verbatim_on_sqlite(secured: Platform) -> None:
    _exercise_hostile_strings(secured)


@pytest.mark.postgres
def test_hostile_strings_are_refused_or_stored_verbatim_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    with (
        postgres_schema(postgres_url) as membership,
        postgres_schema(postgres_url) as events,
        postgres_schema(postgres_url) as ambassadors,
        postgres_schema(postgres_url) as reporting,
    ):
        env = {
            "COOP_MEMBERSHIP_DATABASE_URL": membership,
            "COOP_EVENTS_DATABASE_URL": events,
            "COOP_AMBASSADORS_DATABASE_URL": ambassadors,
            "COOP_REPORTING_DATABASE_URL": reporting,
        }
        with running_platform(tmp_path, env) as platform:
            _exercise_hostile_strings(platform)


# --- code ----------------------------------------------------------------------------------------

# (file, the statement's source) of the SQL built from something other than a literal, and why:
ALLOWED_DYNAMIC_SQL = {
    # An identifier cannot be a bound parameter. The schema name comes from the operator's
    # database URL (`options=-csearch_path=…`), never from a request, and must match
    # [A-Za-z_][A-Za-z0-9_]* (shared/persistence.py, _SEARCH_PATH) before it is quoted here.
    ("shared/persistence.py", "sa.text(f'CREATE SCHEMA IF NOT EXISTS \"{self.schema}\"')"),
    # DDL of the BI views, read from views.sql shipped inside the package; each statement must
    # be a CREATE VIEW or DROP VIEW (facts.bi_view_statements refuses anything else).
    ("services/reporting/facts.py", "conn.exec_driver_sql(statement)"),
    # A figure as recorded copies the current facts into a scratch in-memory database with the
    # driver's executemany: the table and column names are those of the reporting model's own
    # sa.Table objects, and every value is bound (`?`).
    (
        "services/reporting/indicators.py",
        "memory.exec_driver_sql(f'INSERT INTO {table.name} ({names}) VALUES ({marks})', "
        "[(generation, *values) for values in rows])",
    ),
    # The event-store recorders write a command's context (and, for the ambassadors service, the
    # personal details) in the event store's own DB-API transaction. Their statements are module
    # constants; `.format` fills in only the driver's placeholder style (`?` or `%s`) and, on
    # PostgreSQL, the quoted schema identifier from the database URL; every value is bound.
    ("shared/persistence.py", "c.executemany(statement.format(p='?', s=''), rows)"),
    ("shared/persistence.py", "curs.executemany(statement.format(p='%s', s=schema), rows)"),
    ("services/ambassadors/personal_data.py", "c.execute(_INSERT.format(table=TABLE, p='?'), row)"),
    (
        "services/ambassadors/personal_data.py",
        "curs.execute(_INSERT.format(table=table, p='%s'), row)",
    ),
}
SQL_ENTRY_POINTS = ("text", "exec_driver_sql", "execute", "executemany", "executescript")


def _is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.IfExp):
        return _is_literal(node.body) and _is_literal(node.orelse)
    return False


def _is_formatted(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("format", "join", "replace")
    )


def dynamic_sql(root: Path) -> set[tuple[str, str]]:
    """Calls that send SQL text not written as a literal in the code, by file and source."""
    found = set()
    for folder in ("services", "shared"):
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name not in SQL_ENTRY_POINTS:
                    continue
                statement = node.args[0]
                textual = name in ("text", "exec_driver_sql", "executescript")
                if _is_formatted(statement) or (textual and not _is_literal(statement)):
                    found.add((str(path.relative_to(root)), ast.unparse(node)))
    return found


def test_no_sql_is_built_by_string_formatting_except_the_documented_ddl() -> None:
    assert dynamic_sql(ROOT) == ALLOWED_DYNAMIC_SQL


def test_the_static_check_sees_formatted_sql(tmp_path: Path) -> None:
    module = tmp_path / "services" / "leaky.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "import sqlalchemy as sa\n"
        "def find(conn, name):\n"
        "    conn.execute(sa.text(f\"SELECT * FROM t WHERE name = '{name}'\"))\n"
        "    conn.execute('SELECT * FROM t WHERE name = %s' % name)\n"
        "    conn.exec_driver_sql('DELETE FROM t WHERE id = {}'.format(name))\n"
        "    conn.execute(sa.text('SELECT 1 WHERE :n = 1'), {'n': name})\n",
        encoding="utf-8",
    )
    (tmp_path / "shared").mkdir()
    assert len(dynamic_sql(tmp_path)) == 3
