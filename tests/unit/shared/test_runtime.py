"""The service runtime's process settings."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.runtime import quiet_garbage_collector


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_a_served_process_freezes_what_start_up_built_and_collects_less_often() -> None:
    built_at_start_up = [object() for _ in range(10)]

    quiet_garbage_collector()

    assert gc.get_freeze_count() >= len(built_at_start_up)
    assert gc.get_threshold()[0] == 20_000
