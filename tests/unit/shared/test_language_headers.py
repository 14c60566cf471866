"""Every answer names its language and varies on Accept-Language (contract §16.13)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.testclient import TestClient

from shared.i18n import LanguageHeaders


def app() -> FastAPI:
    api = FastAPI()

    @api.get("/page")
    def page() -> HTMLResponse:
        return HTMLResponse("<p>x</p>", headers={"Vary": "Accept-Encoding"})

    @api.get("/csv")
    def csv() -> PlainTextResponse:
        return PlainTextResponse("a,b", media_type="text/csv")

    @api.get("/labelled")
    def labelled() -> HTMLResponse:
        return HTMLResponse("<p>x</p>", headers={"Content-Language": "en"})

    @api.get("/data")
    def data() -> dict[str, int]:
        return {"n": 1}

    api.add_middleware(LanguageHeaders)
    return api


def test_a_page_carries_the_negotiated_language_and_varies_on_accept_language() -> None:
    client = TestClient(app())

    french = client.get("/page")
    english = client.get("/page", headers={"Accept-Language": "en-CA,fr;q=0.5"})
    asked = client.get("/csv?lang=en", headers={"Accept-Language": "fr"})

    assert french.headers["Content-Language"] == "fr"
    assert english.headers["Content-Language"] == "en"
    assert english.headers["Vary"] == "Accept-Encoding, Accept-Language"
    assert asked.headers["Content-Language"] == "en"
    assert asked.headers["Vary"] == "Accept-Language"


def test_an_answer_that_names_its_language_keeps_it() -> None:
    client = TestClient(app())

    labelled = client.get("/labelled", headers={"Accept-Language": "fr"})

    assert labelled.headers["Content-Language"] == "en"


def test_json_data_answers_carry_the_negotiated_language_too() -> None:
    client = TestClient(app())

    answered = client.get("/data", headers={"Accept-Language": "en-CA"})

    assert answered.headers["Content-Language"] == "en"
    assert answered.headers["Vary"] == "Accept-Language"
