"""The import check's pure rules: what two rows of a file may not share, the names a partner
goes by, the key a row is recorded with, and how a refusal at recording reads (§13, §16.17)."""

from __future__ import annotations

import asyncio

import httpx

from services.importer.kinds import KINDS
from services.importer.messages import CATALOG
from services.importer.run import (
    Check,
    CheckedRow,
    Endpoints,
    import_key,
    partner_names_of,
    record_rows,
    row_key,
    same_in_file,
)
from services.importer.table import Row


def _row(line: int, **body: object) -> CheckedRow:
    return CheckedRow(line, "/v1/x", dict(body))


def test_both_languages_have_every_message() -> None:
    assert set(CATALOG["fr"]) == set(CATALOG["en"])


def test_a_neq_given_twice_names_the_first_line() -> None:
    rows = [_row(2, neq="1199999901"), None, _row(4, neq="1199999902"), _row(5, neq="1199999901")]
    [problem] = same_in_file(KINDS["cooperatives"], rows)
    assert (problem.line, problem.column, problem.key) == (5, "neq", "neq-in-file")
    assert problem.params["other"] == 2


def test_rows_without_neq_are_not_compared() -> None:
    assert same_in_file(KINDS["cooperatives"], [_row(2), _row(3), _row(4, neq=None)]) == []


def test_partner_names_are_compared_normalized_across_rows_names_and_aliases() -> None:
    rows = [
        _row(2, name="Pôle d’économie sociale", aliases=["PÉS"]),
        _row(3, name="POLE D'ÉCONOMIE  SOCIALE"),
        _row(4, name="Pôle d'économie sociale"),
        _row(5, name="Autre", aliases=["pés", "Autre"]),
    ]
    problems = same_in_file(KINDS["partners"], rows)
    assert [(p.line, p.column, p.params["other"]) for p in problems] == [
        (4, "name", 2),
        (5, "aliases", 2),
    ]


def test_the_names_of_a_partner_drop_the_empty_and_keep_the_name_first() -> None:
    names = partner_names_of({"name": "Centre – Nord", "aliases": ["centre - nord", " ", "CN"]})
    assert names == {"centre - nord": "name", "cn": "aliases"}


def test_other_kinds_share_nothing_checked_across_rows() -> None:
    rows = [_row(2, name="Même", neq="1199999901"), _row(3, name="Même", neq="1199999901")]
    assert same_in_file(KINDS["activities"], rows) == []


def test_a_row_is_keyed_by_its_reference_else_by_its_cells() -> None:
    kind = KINDS["partners"]
    assert row_key(kind, Row(2, {"name": "A", "external_ref": "p-1"})) == "p-1"
    row = Row(3, {"name": "A"})
    assert row_key(kind, row) == import_key(kind, row)


def test_the_client_asks_for_the_imports_language() -> None:
    endpoints = Endpoints({}, "token")
    assert endpoints.client("en").headers["Accept-Language"] == "en"
    assert endpoints.client("fr").headers["Accept-Language"] == "fr"
    assert endpoints.client().headers["Accept-Language"] == "fr"


def test_a_refusal_names_the_rows_column_for_the_field_the_service_names() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Accept-Language"])
        problem = {
            "title": "Unprocessable",
            "detail": "the cooperative is not a member on that day",
            "errors": [{"field": "cooperative_id", "message": "not a member"}],
        }
        return httpx.Response(422, json=problem)

    kind = KINDS["attendances"]
    row = CheckedRow(
        7, "/v1/activities/a/attendances", {"cooperative_id": "c"},
        columns={"cooperative_id": "cooperative_neq"},
    )  # fmt: skip
    endpoints = Endpoints({"events": "http://events"}, "token")

    async def run() -> list[str]:
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(answer), headers={"Accept-Language": "en"}
        ) as client:
            summary = await record_rows(Check(kind, rows=[row]), endpoints, client)
        return [p.describe("en") for p in summary.refused]

    assert asyncio.run(run()) == [
        "line 7, column cooperative_neq: the service refused: "
        "the cooperative is not a member on that day"
    ]
    assert seen == ["en"]


def test_a_refusal_without_errors_is_placed_at_the_field_its_type_is_about() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        problem = {"type": "https://coop.example/problems/activity-cancelled", "detail": "gone"}
        return httpx.Response(409, json=problem)

    row = CheckedRow(
        3, "/v1/activities/a/public-attendance", {"count": 2},
        columns={"activity_id": "activity_external_ref"},
    )  # fmt: skip
    endpoints = Endpoints({"events": "http://events"}, "token")

    async def run() -> list[str]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            check = Check(KINDS["public-attendance"], rows=[row])
            summary = await record_rows(check, endpoints, client)
        return [p.describe("fr") for p in summary.refused]

    assert asyncio.run(run()) == [
        "ligne 3, colonne activity_external_ref : le service a refusé : gone"
    ]


def test_an_attendance_given_twice_in_a_file_names_the_first_line() -> None:
    def attendance(line: int, activity: str, cooperative: str) -> CheckedRow:
        return CheckedRow(
            line, f"/v1/activities/{activity}/attendances", {"cooperative_id": cooperative},
            columns={"cooperative_id": "cooperative_external_ref"},
        )  # fmt: skip

    rows = [attendance(2, "a", "c"), attendance(3, "b", "c"), attendance(4, "a", "c")]
    [problem] = same_in_file(KINDS["attendances"], rows)
    assert problem.describe("en") == (
        "line 4, column cooperative_external_ref: "
        "this cooperative's attendance at this activity is already on line 2"
    )
