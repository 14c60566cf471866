"""Québec administrative regions and activity types as the reports name them.

The words come from `shared/vocabulary.py`, the network's one list of labels; this module
keeps the names the reporting code reads them by.
"""

from __future__ import annotations

from typing import Final

from shared import vocabulary

REGIONS: Final[dict[str, str]] = dict(vocabulary.REGION_NAMES)
"""Region code → official French name (used in every language), in code order."""

ACTIVITY_TYPES: Final[tuple[str, ...]] = tuple(kind.value for kind in vocabulary.ActivityType)
"""The network's activity types, in the order the report lists them."""

ACTIVITY_TYPE_LABELS: Final[dict[str, dict[str, str]]] = {
    lang: dict(labels) for lang, labels in vocabulary.ACTIVITY_TYPE_LABELS.items()
}
"""Language → activity type → label; the network's proper names stay in French."""

LANGUAGES: Final[tuple[str, ...]] = ("fr", "en")
"""Supported languages, French first."""


def region_name(code: str) -> str:
    """Return the official French name of a region code, or the code itself when unknown."""
    return vocabulary.region_name(code)


def activity_type_label(activity_type: str, lang: str = "fr") -> str:
    """Return the label of an activity type in a language, or the type itself when unknown."""
    return vocabulary.label(vocabulary.ACTIVITY_TYPE_LABELS, activity_type, lang)
