"""Durations as keys take them (``"30s"``, ``"10m"``, ``"1h"``, ``"1d"``, ``"30d"``) and UTC times.

Times are epoch seconds inside the server; they become ISO 8601 UTC strings at the edges.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

__all__ = ["is_date", "iso", "parse_duration", "parse_instant", "window_of"]

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOST_PLUS = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


def parse_duration(text: object) -> float:
    """``"30d"`` -> seconds. ``ValueError`` names what is accepted."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration: use a number and a unit, "
                         "like \"30s\", \"10m\", \"1h\", \"1d\" or \"30d\"")
    return float(match.group(1)) * UNITS[match.group(2)]


def iso(epoch: float | None) -> str | None:
    """Epoch seconds -> ``2025-01-31T12:00:00.123456Z`` (fixed width, so text sorts as time)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str, *, end_of_day: bool = False) -> float:
    """An ISO 8601 date or datetime (UTC unless it says otherwise) -> epoch seconds.

    A bare date is its first instant, or with ``end_of_day`` the first instant of the next day
    (an ``end_date`` given as a date includes that whole day).
    """
    value = text.strip()
    if is_date(value):
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        return day.timestamp() + (86400 if end_of_day else 0)
    # An unescaped "+02:00" in a query string arrives as " 02:00".
    value = _LOST_PLUS.sub(r"\1+\2", value)
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value.replace(" ", "T", 1))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def is_date(text: str) -> bool:
    """``2025-01-31`` (a whole day), as opposed to a datetime."""
    return _DATE.fullmatch(text.strip()) is not None


def window_of(now: float) -> tuple[int, float]:
    """The fixed UTC-minute window of ``now``: its index and the seconds left in it."""
    minute = int(now // 60)
    return minute, (minute + 1) * 60 - now
