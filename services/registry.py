"""The platform's services and their composition roots."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from shared.runtime import Service
from shared.settings import ServiceSettings

COMPOSITION_ROOTS = {
    "membership": "services.membership.main",
    "events": "services.events.main",
    "ambassadors": "services.ambassadors.main",
    "reporting": "services.reporting.main",
    "partnerships": "services.partnerships.main",
    "console": "services.console.main",
}


def available() -> list[str]:
    """The services this installation runs, in start order."""
    return list(COMPOSITION_ROOTS)


def apis() -> list[str]:
    """The services with a JSON API and integration documents (the console is pages for people)."""
    return [name for name in COMPOSITION_ROOTS if name != "console"]


def builder(name: str) -> Callable[[ServiceSettings], Service]:
    """The `build(settings)` function of a service."""
    module = importlib.import_module(COMPOSITION_ROOTS[name])
    build: Callable[[ServiceSettings], Service] = module.build
    return build
