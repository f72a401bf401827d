"""When to look again: adaptive revisit intervals for pages, discovery intervals for sites.

A page that just changed is checked again soon; one that stays unchanged is checked less and less
often (after NewsDiffs' tiers). Times are ISO 8601 UTC strings, as everywhere in the archive.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# (age of the latest change, interval until the next check)
TIERS = (
    (3 * HOUR, 15 * MINUTE),  # still being edited: every 15 minutes
    (1 * DAY, 1 * HOUR),  # hourly for a day
    (7 * DAY, 4 * HOUR),  # every few hours for a week
    (30 * DAY, 3 * DAY),  # every few days for a month
    (365 * DAY, 30 * DAY),  # monthly for a year
)
OLD_PAGE_INTERVAL = 90 * DAY
ERROR_RETRY = 1 * HOUR  # a failed check is retried soon, whatever the tier
GONE_RECHECK = 1 * DAY  # a gone page is looked at again, in case it comes back
DEFAULT_DISCOVERY = 6 * HOUR


def parse_time(value: str) -> datetime:
    """Parse an archive timestamp (``2026-11-29T16:18:00Z``)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def format_time(value: datetime) -> str:
    """Format a datetime as an archive timestamp."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_seconds(value: str, seconds: float) -> str:
    """``value`` plus ``seconds``, as an archive timestamp.

    >>> add_seconds("2026-11-29T23:50:00Z", 900)
    '2026-11-30T00:05:00Z'
    """
    return format_time(parse_time(value) + timedelta(seconds=seconds))


def revisit_interval(now: str, last_changed_at: str | None, outcome: str) -> int:
    """Seconds until a page should be checked again, given what this check found.

    >>> revisit_interval("2026-11-29T12:00:00Z", "2026-11-29T11:00:00Z", "unchanged")
    900
    >>> revisit_interval("2026-11-29T12:00:00Z", "2026-11-25T12:00:00Z", "not_modified")
    14400
    >>> revisit_interval("2026-11-29T12:00:00Z", "2024-01-01T00:00:00Z", "unchanged")
    7776000
    >>> revisit_interval("2026-11-29T12:00:00Z", "2026-11-01T00:00:00Z", "error")
    3600
    """
    if outcome == "error":
        return ERROR_RETRY
    if outcome == "gone":
        return GONE_RECHECK
    age = (parse_time(now) - parse_time(last_changed_at or now)).total_seconds()
    for limit, interval in TIERS:
        if age < limit:
            return interval
    return OLD_PAGE_INTERVAL


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": MINUTE, "h": HOUR, "d": DAY, "w": 7 * DAY}


def parse_duration(text: str) -> int:
    """Seconds in a duration such as ``90s``, ``15m``, ``6h``, ``2d`` or ``1w``.

    >>> parse_duration("6h"), parse_duration("15m"), parse_duration("1w")
    (21600, 900, 604800)
    """
    match = _DURATION.match(text)
    if not match or float(match[1]) <= 0:
        raise ValueError(f"not a duration: {text!r} (try 15m, 6h, 2d)")
    return int(float(match[1]) * _UNITS[match[2].lower()])


def format_duration(seconds: int) -> str:
    """The shortest exact form of a duration.

    >>> format_duration(21600), format_duration(900), format_duration(90)
    ('6h', '15m', '90s')
    """
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"
