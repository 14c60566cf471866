"""The console's words: French source strings in the templates, English from the catalog."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

from fastapi import Request

CATALOG_DIR = Path(__file__).resolve().parent / "locales"
LANG_COOKIE = "coop_lang"


@cache
def catalog(lang: str) -> dict[str, str]:
    """French source → translation, for a language other than French."""
    path = CATALOG_DIR / f"{lang}.json"
    if lang == "fr" or not path.exists():
        return {}
    translations: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return translations


def translator(lang: str) -> Callable[..., str]:
    """`_("Texte {x}", x=…)`: the text in the page's language, parameters filled in."""
    words = catalog(lang)

    def translate(text: str, **params: object) -> str:
        translated = words.get(text, text)
        return translated.format(**params) if params else translated

    return translate


def page_language(request: Request) -> str:
    """`?lang=` when given, else the language cookie, else French."""
    asked = request.query_params.get("lang")
    if asked in ("fr", "en"):
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    return kept if kept in ("fr", "en") else "fr"
