"""The console's own rules: sessions, CSRF, the English catalog (contract §14)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.console.app import create_console
from services.console.i18n import catalog
from services.console.pages.base import written_date, written_number
from services.console.sessions import Sessions
from services.console.settings import ConsoleSettings

TEMPLATES = Path(__file__).resolve().parents[3] / "services" / "console" / "templates"
SOURCE = re.compile(r"""_\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""")


def test_every_french_sentence_of_the_pages_has_its_english_translation() -> None:
    english = catalog("en")
    missing = {
        found[0] or found[1]
        for page in TEMPLATES.glob("*.html")
        for found in SOURCE.findall(page.read_text(encoding="utf-8"))
    } - set(english)
    assert not missing


def test_a_session_expires_after_its_idle_time(tmp_path: Path) -> None:
    sessions = Sessions(f"sqlite:///{tmp_path / 's.db'}", "key", idle_seconds=0.2)
    _session, cookie = sessions.open("token", ["read"])
    assert sessions.find(cookie) is not None
    time.sleep(0.3)
    assert sessions.find(cookie) is None


def test_a_session_cookie_signed_with_another_key_names_no_session(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    _session, cookie = Sessions(url, "key", 60).open("token", ["read"])
    assert Sessions(url, "other key", 60).find(cookie) is None
    assert Sessions(url, "key", 60).find(cookie + "x") is None


def test_signing_out_ends_the_session(tmp_path: Path) -> None:
    sessions = Sessions(f"sqlite:///{tmp_path / 's.db'}", "key", 60)
    session, cookie = sessions.open("token", ["read", "events:write"])
    assert session.can("events:write") and not session.can("membership:write")
    sessions.close(session)
    assert sessions.find(cookie) is None


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("COOP_DATA_DIR", str(tmp_path))
    return TestClient(create_console(ConsoleSettings()))


def test_pages_send_a_visitor_without_session_to_sign_in_and_back(console: TestClient) -> None:
    response = console.get("/activities?type=formation", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/activities%3Ftype%3Dformation"


def test_a_form_posted_without_its_csrf_token_is_refused(console: TestClient) -> None:
    page = console.get("/sign-in")
    assert page.status_code == 200
    response = console.post("/sign-in", data={"token": "dev-admin-token", "next": "/"})
    assert response.status_code == 403


def test_sign_in_page_is_french_by_default_and_english_at_a_click(console: TestClient) -> None:
    assert "Se connecter" in console.get("/sign-in").text
    english = console.get("/sign-in?lang=en")
    assert "Sign in" in english.text and "Se connecter" not in english.text
    assert english.headers["content-language"] == "en"
    assert "Se connecter" not in console.get("/sign-in").text  # the choice is kept


def test_pages_forbid_framing_and_foreign_scripts(console: TestClient) -> None:
    headers = console.get("/sign-in").headers
    assert headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in headers["content-security-policy"]


def test_the_console_serves_its_openapi_and_offline_docs(console: TestClient) -> None:
    document = console.get("/openapi.json").json()
    docs = console.get("/docs")

    assert document["info"]["title"].isascii()
    assert document["paths"]["/v1/whoami"]["get"]["operationId"] == "get_whoami"
    assert docs.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in docs.text
    assert console.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_whoami_without_a_bearer_token_is_401_as_a_problem(console: TestClient) -> None:
    answered = console.get("/v1/whoami")

    assert answered.status_code == 401
    assert answered.headers["content-type"].startswith("application/problem+json")
    assert answered.headers["www-authenticate"].lower().startswith("bearer")


def test_dates_are_written_as_people_read_them_in_the_page_s_language() -> None:
    assert written_date("2023-10-12", "fr") == "12 oct. 2023"
    assert written_date("2023-10-12", "en") == "Oct 12, 2023"
    # an instant is shown as its date in Québec: 02:00 UTC is still the evening before there
    assert written_date("2024-09-02T02:00:00Z", "fr") == "1 sept. 2024"
    assert written_date(None, "fr") == ""


def test_numbers_are_written_as_people_read_them_in_the_page_s_language() -> None:
    assert written_number(1000, "fr") == "1\xa0000"
    assert written_number(1000, "en") == "1,000"
    assert written_number(0.912, "fr") == "0,912"
    assert written_number(None, "fr") == ""
