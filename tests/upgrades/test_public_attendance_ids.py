"""Public attendance recorded by the first release: its id is its message's `event_id` (§16.1)."""

# ruff: noqa: F811  (pytest fixtures imported from test_release_upgrade)
from __future__ import annotations

import httpx
import pytest

from shared.integration import event_id_for
from tests.support import AUTH
from tests.upgrades.test_release_upgrade import _items, upgraded  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e


def test_a_first_release_public_attendance_has_its_message_s_event_id_as_id(
    upgraded: dict[str, str],
) -> None:
    base = upgraded["events"]
    activity = next(a for a in _items(base, "/v1/activities") if a["public_attendance"] > 0)
    path = f"{base}/v1/activities/{activity['id']}"
    records = httpx.get(f"{path}/public-attendance", headers=AUTH, timeout=10).json()["items"]
    history = httpx.get(f"{path}/history", headers=AUTH, timeout=10).json()["items"]
    recorded = [h for h in history if h["type"] == "PublicAttendanceRecorded"]
    expected = [event_id_for(activity["id"], h["version"]) for h in recorded]
    assert [r["id"] for r in records] == expected
    assert [h["data"]["record_id"] for h in recorded] == expected
    corrected = httpx.patch(
        f"{path}/public-attendance/{expected[0]}",
        json={"count": records[0]["count"] + 1},
        headers=AUTH,
        timeout=10,
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["id"] == expected[0]
