"""Languages of the answers (contract §16.13): negotiation and the Babel message catalogs.

French is the source language: the messages in the code are French, `shared/locales/` holds their
English translation (`shared/locales/en/LC_MESSAGES/messages.po`, compiled to `.mo` by
`make locales`). `N_` marks a message for `pybabel extract` without translating it.
"""

from __future__ import annotations

import gettext
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"

_RANGE = re.compile(
    r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$"
)


def N_(message: str) -> str:
    """Mark a French message for the catalog; it is translated where it is shown."""
    return message


def negotiate(accept_language: str | None, lang: str | None = None) -> str:
    """`fr` or `en`: a valid `lang` parameter wins, else Accept-Language's preferred match.

    Ranges are weighed by their q-values (RFC 9110 §12.5.4) and match by prefix (`en-CA` is
    English); `*` stands for the default; ties keep the header's order.
    """
    if lang in LANGUAGES:
        return lang  # type: ignore[return-value]
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for part in (accept_language or "").split(","):
        matched = _RANGE.match(part)
        if not matched:
            continue
        tag, weight = matched.group(1).lower(), matched.group(2)
        try:
            q = 1.0 if weight is None else float(weight)
        except ValueError:
            continue
        if not 0 < q <= 1:
            continue
        primary = tag.split("-")[0]
        candidate = DEFAULT_LANGUAGE if primary == "*" else primary
        if candidate in LANGUAGES and q > best_q:
            best, best_q = candidate, q
    return best


def scope_language(scope: Any) -> str:
    """The language an ASGI request prefers (its `lang` parameter, then Accept-Language)."""
    headers = dict(scope.get("headers") or [])
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return negotiate(accept, (query.get("lang") or [None])[0])


def language_headers(lang: str) -> dict[str, str]:
    """`Content-Language` of an answer in `lang`, and `Vary` on what chose it."""
    return {"Content-Language": lang, "Vary": "Accept-Language"}


@cache
def _translations(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALES, languages=[lang], fallback=True)


def translate(message: str, lang: str) -> str:
    """The catalog's translation of a French message (the message itself in French)."""
    if lang == DEFAULT_LANGUAGE:
        return message
    return _translations(lang).gettext(message)


def is_catalog_message(message: str) -> bool:
    """True for a French message of the catalog (one that `locales/` translates)."""
    return translate(message, "en") != message


class LanguageHeaders:
    """ASGI middleware: every answer carries `Content-Language` and `Vary: Accept-Language`
    (contract §16.13).

    An answer that does not name its language gets the negotiated one (`lang` parameter, then
    Accept-Language): the language of its problems and labels, also for JSON data that holds
    none; problem answers name theirs already.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def label(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {name.lower(): value for name, value in headers}
                if b"content-language" not in names:
                    headers.append((b"content-language", scope_language(scope).encode()))
                    vary = names.get(b"vary", b"")
                    if b"accept-language" not in vary.lower():
                        headers = [(n, v) for n, v in headers if n.lower() != b"vary"]
                        joined = vary + b", Accept-Language" if vary else b"Accept-Language"
                        headers.append((b"vary", joined))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, label)
