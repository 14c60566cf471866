"""RFC 9457 problem documents."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from shared.http import validation_problem
from shared.problems import TITLES, Problem, invalid


@pytest.mark.parametrize("status", sorted(TITLES))
def test_every_problem_has_an_absolute_type_a_title_its_status_and_a_detail(status: int) -> None:
    document = Problem(status, "something the catalog does not know").body()

    assert {"type", "title", "status", "detail"} <= document.keys()
    assert urlparse(document["type"]).scheme == "https"
    assert urlparse(document["type"]).netloc
    assert document["status"] == status
    assert document["detail"] and document["detail"] != "something the catalog does not know"
    assert document["title"]


def test_titles_are_french_by_default_and_english_on_request() -> None:
    problem = Problem(404, "no cooperative")

    assert problem.body()["title"] == "Ressource introuvable"
    assert problem.body("en")["title"] == "Not found"


def test_a_named_slug_ends_the_type() -> None:
    document = Problem(422, "not a member", slug="cooperative-not-member").body()

    assert document["type"].endswith("/cooperative-not-member")


def test_every_422_carries_field_errors() -> None:
    bare = Problem(422, "invalid").body("en")
    about_a_field = invalid("region", "must be 01 to 17").body("en")

    assert bare["errors"] == [{"field": "", "message": "invalid"}]
    assert about_a_field["errors"] == [{"field": "region", "message": "must be 01 to 17"}]


def test_other_statuses_carry_no_field_errors() -> None:
    assert "errors" not in Problem(409, "already left").body()


def test_the_instance_is_the_request_path_when_given() -> None:
    assert Problem(404, "x").body(instance="/v1/cooperatives/1")["instance"] == (
        "/v1/cooperatives/1"
    )


def test_pydantic_errors_become_field_and_message_pairs() -> None:
    problem = validation_problem(
        [
            {"loc": ("body", "region"), "msg": "bad region"},
            {"loc": ("query", "limit"), "msg": "too big"},
            {"loc": ("path", "cooperative_id"), "msg": "not a UUID"},
        ]
    )

    assert problem.status == 422
    assert problem.errors == [
        {"field": "region", "message": "bad region"},
        {"field": "limit", "message": "too big"},
        {"field": "cooperative_id", "message": "not a UUID"},
    ]
    assert "region: bad region" in problem.detail
