"""How the network compares names that people type (contract §5 `outreach.partners`, §16.7)."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc`\u00b4", "'"))
_WHITE_SPACE = re.compile(r"\s+")


def _is_dash(char: str) -> bool:
    return char == "\u2212" or unicodedata.category(char) == "Pd"


def normalized_name(name: str) -> str:
    """A name as compared: apostrophes and dashes unified, NFKC, case-folded, spaces collapsed.

    The order is the contract's (§16.7): the listed apostrophes (’ ‘ ʼ ` ´) become `'` and every
    Unicode dash (category Pd, and −) becomes `-`; then NFKC; then case-folding; then every run
    of white space (no-break spaces included) becomes one space; then the ends are trimmed.
    Double quotes are not apostrophes.
    """
    unified = "".join("-" if _is_dash(c) else c for c in name.translate(_APOSTROPHES))
    folded = unicodedata.normalize("NFKC", unified).casefold()
    return _WHITE_SPACE.sub(" ", folded).strip()
