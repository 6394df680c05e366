"""Threshold arithmetic, pure: the day, week and month a moment falls in, and whether a count crosses.

Periods are the center's calendar periods in its time zone (``workorders.timezone``): a day
from local midnight, a week from Monday's midnight, a month from the 1st. A complaint made at
23:59 local time on a Sunday belongs to that week, one at 00:00 on Monday to the next, however
UTC writes them. The rate is complaints per answered call; with no answered call (or fewer than
the threshold's ``min_answered``) there is no rate, and a rate threshold cannot fire.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

PERIODS = ("day", "week", "month")
MEASURES = ("count", "rate")


def period_bounds(
    period: str, at: dt.datetime, tz: ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """The ``[start, end)`` of the day, week (Monday first) or month holding ``at``, as aware UTC times."""
    if at.tzinfo is None:
        raise ValueError("a period needs an aware time")
    local = at.astimezone(tz).date()
    if period == "day":
        first, after = local, local + dt.timedelta(days=1)
    elif period == "week":
        first = local - dt.timedelta(days=local.weekday())
        after = first + dt.timedelta(days=7)
    elif period == "month":
        first = local.replace(day=1)
        after = (first + dt.timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(
            f"unknown period {period!r} (expected one of {', '.join(PERIODS)})"
        )
    return _midnight(first, tz), _midnight(after, tz)


def _midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)


def periods_between(
    period: str, start: dt.date, end: dt.date, tz: ZoneInfo
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Every period that overlaps the local dates ``[start, end]``, oldest first (for statistics)."""
    out: list[tuple[dt.datetime, dt.datetime]] = []
    if end < start:
        return out
    stop = _midnight(end + dt.timedelta(days=1), tz)
    cursor = _midnight(start, tz)
    while cursor < stop:
        bounds = period_bounds(period, cursor, tz)
        out.append(bounds)
        cursor = bounds[1]
    return out


def rate(complaints: int, answered: int, min_answered: int = 0) -> float | None:
    """Complaints per answered call; None when there is no answered call or fewer than ``min_answered``."""
    if answered <= 0 or answered < min_answered:
        return None
    return complaints / answered


@dataclass(frozen=True)
class Reading:
    """What one threshold measured over one period."""

    complaints: int
    answered: int
    value: float | None  # the count, or the rate (None: no rate yet)
    crossed: bool


def measure(
    kind: str, limit: float, complaints: int, answered: int, min_answered: int = 0
) -> Reading:
    """Read one threshold: a count crosses when it reaches the limit, a rate when it reaches it too.

    "Reaching" (>=) is what an admin means by "warn at 5 complaints a day": the fifth fires it.
    """
    if kind == "count":
        value: float | None = float(complaints)
    elif kind == "rate":
        value = rate(complaints, answered, min_answered)
    else:
        raise ValueError(f"unknown measure {kind!r}")
    return Reading(complaints, answered, value, value is not None and value >= limit)
