"""The network's calendar: "today" is the date in Québec (America/Toronto), everywhere (§16.19)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

QUEBEC_TIME_ZONE = ZoneInfo("America/Toronto")


def today_in_quebec(now: datetime | None = None) -> date:
    """Today's date in Québec (America/Toronto), from an aware ``now`` or the clock."""
    if now is None:
        return datetime.now(QUEBEC_TIME_ZONE).date()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(QUEBEC_TIME_ZONE).date()
