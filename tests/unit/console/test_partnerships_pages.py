"""The partnerships' pages against a stand-in platform: what they ask, what they show (§12, §14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.console.app import create_console
from services.console.platform import Answer
from services.console.sessions import Sessions
from services.console.settings import ConsoleSettings

TABLE = {
    "id": "t1", "name": "Table <b>test</b>", "sector": "alimentation", "formed_on": "2023-01-15",
    "status": "active", "dissolved_on": None, "version": 3, "external_ref": None,
    "members": [{"cooperative_id": "c1", "joined_on": "2023-02-01", "left_on": None}],
}  # fmt: skip


class StandIn:
    """Answers the console's calls from a table of canned answers, and remembers them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any] | None, Any, dict[str, str]]] = []
        self.refusal: Answer | None = None

    async def call(self, service: str, method: str, path: str, **kw: Any) -> Answer:
        self.calls.append((method, path, kw.get("params"), kw.get("json"), kw.get("headers", {})))
        if method != "GET":
            return self.refusal or Answer(204, None)
        if path == "/v1/sector-tables/t1":
            return Answer(200, TABLE)
        if path == "/v1/partners":
            return Answer(200, {"items": [{"id": "p1", "name": "Épicerie", "kind": "detaillant"}]})
        if path == "/v1/cooperatives":
            return Answer(200, {"items": [{"id": "c1", "name": "Coop Un", "status": "active"}]})
        return Answer(200, {"items": []})

    async def close(self) -> None:
        """Nothing to close."""


def client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scopes: list[str]
) -> tuple[TestClient, str, StandIn]:
    """A signed-in staff member with these scopes, its CSRF token, and the stand-in platform."""
    monkeypatch.setenv("COOP_DATA_DIR", str(tmp_path))
    app = create_console(ConsoleSettings())
    console = app.state.console
    platform = StandIn()
    console.platform = platform
    session, cookie = console.sessions.open("token", scopes)
    http = TestClient(app)
    http.cookies.set(Sessions.COOKIE, cookie)
    return http, session.csrf, platform


def test_a_table_page_shows_its_members_escaped_and_the_forms_to_a_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http, _csrf, _platform = client(tmp_path, monkeypatch, ["read", "partnerships:write"])
    page = http.get("/sector-tables/t1")
    assert page.status_code == 200
    assert "Table &lt;b&gt;test&lt;/b&gt;" in page.text
    assert "Coop Un" in page.text
    assert 'action="/sector-tables/t1/members/c1/removal"' in page.text
    assert 'action="/sector-tables/t1/placements"' in page.text


def test_a_reader_sees_the_table_without_any_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http, csrf, platform = client(tmp_path, monkeypatch, ["read"])
    page = http.get("/sector-tables/t1")
    assert page.status_code == 200 and '<form method="post" action="/sector-tables' not in page.text
    refused = http.post(
        "/sector-tables/t1/actions",
        data={"csrf_token": csrf, "kind": "autre"},
    )
    assert refused.status_code == 403
    assert [c for c in platform.calls if c[0] != "GET"] == []


def test_a_member_leaves_the_table_on_the_day_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http, csrf, platform = client(tmp_path, monkeypatch, ["read", "partnerships:write"])
    answer = http.post(
        "/sector-tables/t1/members/c1/removal",
        data={"csrf_token": csrf, "left_on": "2023-06-01", "idempotency_key": "k"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/sector-tables/t1"
    sent = [c for c in platform.calls if c[0] == "DELETE"]
    assert sent == [
        ("DELETE", "/v1/sector-tables/t1/members/c1", {"reason": "", "left_on": "2023-06-01"},
         None, {})
    ]  # fmt: skip


def test_a_refused_placement_shows_next_to_the_retailer_with_what_was_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http, csrf, platform = client(tmp_path, monkeypatch, ["read", "partnerships:write"])
    platform.refusal = Answer(
        409, {"type": "https://coop/problems/placement-open", "detail": "déjà une place ouverte"}
    )
    page = http.post(
        "/sector-tables/t1/placements",
        data={"csrf_token": csrf, "retailer_id": "p1", "started_on": "2023-03-01",
              "note": "Étagère", "idempotency_key": "key-1"},
    )  # fmt: skip
    assert page.status_code == 200
    assert 'id="retailer_id-error">déjà une place ouverte' in page.text
    assert 'value="Étagère"' in page.text and 'value="2023-03-01"' in page.text
    posted = [c for c in platform.calls if c[0] == "POST"]
    assert posted[0][4] == {"Idempotency-Key": "key-1"}


def test_a_partner_with_several_partners_ticked_sends_them_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http, csrf, platform = client(tmp_path, monkeypatch, ["read", "partnerships:write"])
    platform.refusal = Answer(201, {"id": "r1"})
    answer = http.post(
        "/research-projects",
        data={"csrf_token": csrf, "title": "Étude", "started_on": "2023-01-01",
              "partner_ids": ["p1", "p2"]},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.headers["location"] == "/research-projects/r1"
    posted = [c for c in platform.calls if c[0] == "POST"]
    assert posted[0][3] == {
        "title": "Étude",
        "started_on": "2023-01-01",
        "partner_ids": ["p1", "p2"],
    }


def test_a_partner_change_clears_the_region_and_website_emptied_in_the_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http, csrf, platform = client(tmp_path, monkeypatch, ["read", "partnerships:write"])
    platform.refusal = Answer(200, {})
    http.post(
        "/partners/p1/revision",
        data={"csrf_token": csrf, "name": "Épicerie", "kind": "detaillant", "region": "",
              "website": "", "aliases": "Un\n\n Deux ", "version": "4"},
        follow_redirects=False,
    )  # fmt: skip
    (method, path, _params, body, headers) = platform.calls[-1]
    assert (method, path, headers) == ("PATCH", "/v1/partners/p1", {"If-Match": '"4"'})
    assert body == {"name": "Épicerie", "kind": "detaillant", "region": None, "website": None,
                    "aliases": ["Un", "Deux"]}  # fmt: skip


def test_the_table_page_answers_in_english_at_a_click(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http, _csrf, _platform = client(tmp_path, monkeypatch, ["read", "partnerships:write"])
    page = http.get("/sector-tables/t1?lang=en")
    assert "Retail placements" in page.text and "First day off the table" in page.text
    assert "Places chez les détaillants" not in page.text
