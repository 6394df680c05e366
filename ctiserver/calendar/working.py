"""Working time: a week of working hours, public holidays and make-up working days, in one time zone.

Deadlines are counted in working time: "0.5 working day" from Friday 16:00 with 09:00-12:00
13:00-18:00 days ends Monday 11:00, not Saturday. A working day is as long as the longest
day of the configured week (8 h for the default), so "3d" is 24 working hours.

Pure and frozen; built from configuration text by :func:`parse_week`, :func:`parse_dates`
and :func:`parse_duration` (ValueError naming what is wrong).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Interval = tuple[dt.time, dt.time]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3660  # how far ahead a deadline may be searched for (ten years of calendar)


@dataclass(frozen=True)
class Duration:
    """An allowance: working time (counted on the calendar) or clock time."""

    amount: dt.timedelta
    working: bool = True

    def __str__(self) -> str:
        return f"{self.amount}{'' if self.working else ' clock'}"


@dataclass(frozen=True)
class WorkCalendar:
    """Working intervals per weekday (Monday first), holidays and extra working days."""

    week: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()  # make-up days (调休): worked with the longest day's hours
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("a week has seven days")
        if not any(self.week):
            raise ValueError("the week has no working hours")
        for day in self.week:
            for start, end in day:
                if not start < end:
                    raise ValueError(f"working hours {start:%H:%M}-{end:%H:%M} end before they start")
            if any(a[1] > b[0] for a, b in zip(day, day[1:])):
                raise ValueError("a day's working hours overlap or are out of order")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def standard_day(self) -> tuple[Interval, ...]:
        """The longest day of the week: a make-up day's hours and the length of "1d"."""
        return max(self.week, key=_length)

    @cached_property
    def day_length(self) -> dt.timedelta:
        return _length(self.standard_day)

    def intervals(self, day: dt.date) -> tuple[Interval, ...]:
        """The working intervals of one local calendar day."""
        if day in self.workdays:
            return self.standard_day
        if day in self.holidays:
            return ()
        return self.week[day.weekday()]

    def _spans(self, start: dt.datetime):
        """Working spans (in UTC, so that differences are real time across DST) from ``start`` on."""
        utc = dt.timezone.utc
        start = start.astimezone(utc)
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(MAX_DAYS):
            for a, b in self.intervals(day):
                lo = dt.datetime.combine(day, a, self.tz).astimezone(utc)
                hi = dt.datetime.combine(day, b, self.tz).astimezone(utc)
                if hi <= start:
                    continue
                yield max(lo, start), hi
            day += dt.timedelta(days=1)
        raise ValueError(f"no working time within {MAX_DAYS} days of {start.isoformat()}")

    def is_working(self, t: dt.datetime) -> bool:
        """True when ``t`` falls inside working hours."""
        local = t.astimezone(self.tz)
        return any(dt.datetime.combine(local.date(), a, self.tz) <= t < dt.datetime.combine(local.date(), b, self.tz)
                   for a, b in self.intervals(local.date()))

    def add(self, start: dt.datetime, work: dt.timedelta) -> dt.datetime:
        """The instant when ``work`` of working time has passed since ``start`` (aware, in UTC)."""
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        if work < dt.timedelta(0):
            raise ValueError("working time to add must not be negative")
        if work == dt.timedelta(0):
            return start.astimezone(dt.timezone.utc)
        left = work
        for lo, hi in self._spans(start):
            if hi - lo >= left:
                return (lo + left).astimezone(dt.timezone.utc)
            left -= hi - lo
        raise AssertionError("unreachable")  # _spans raises first

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time in ``[start, end)`` (zero when end is not after start)."""
        total = dt.timedelta(0)
        if end <= start:
            return total
        for lo, hi in self._spans(start):
            if lo >= end:
                break
            total += min(hi, end) - lo
        return total

    def due(self, start: dt.datetime, allowance: Duration) -> dt.datetime:
        """When an allowance that starts at ``start`` runs out."""
        if allowance.working:
            return self.add(start, allowance.amount)
        return (start + allowance.amount).astimezone(dt.timezone.utc)

    def left(self, now: dt.datetime, due: dt.datetime, working: bool = True) -> dt.timedelta:
        """Time left until ``due`` (negative once past), counted like the allowance."""
        if not working or due <= now:
            return due - now
        return self.between(now, due)


def _length(day: tuple[Interval, ...]) -> dt.timedelta:
    return sum((dt.datetime.combine(dt.date.min, b) - dt.datetime.combine(dt.date.min, a) for a, b in day),
               dt.timedelta(0))


# -- parsing configuration text ------------------------------------------------------------

_SPAN = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])")


def _clock(h: str, m: str) -> dt.time:
    return dt.time.max if (h, m) == ("24", "00") else dt.time(int(h), int(m))


def parse_week(items: tuple[str, ...]) -> tuple[tuple[Interval, ...], ...]:
    """``("mon-fri=09:00-12:00 13:00-18:00", "sat=09:00-12:00")`` -> seven days of intervals."""
    week: list[tuple[Interval, ...]] = [()] * 7
    for item in items:
        days, sep, spans = item.partition("=")
        days = days.strip().lower()
        first, _, last = days.partition("-")
        if not sep or first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{item!r} is not days=hours (e.g. mon-fri=09:00-12:00 13:00-18:00)")
        a, b = DAYS.index(first), DAYS.index(last or first)
        intervals = []
        for span in spans.split():
            m = _SPAN.fullmatch(span)
            if not m:
                raise ValueError(f"{span!r} in {item!r} is not HH:MM-HH:MM")
            intervals.append((_clock(m[1], m[2]), _clock(m[3], m[4])))
        for i in range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]:
            week[i] = tuple(intervals)
    return tuple(week)


def parse_dates(items: tuple[str, ...]) -> frozenset[dt.date]:
    """``("2026-01-01", "2026-10-01..2026-10-07")`` -> the set of days."""
    out: set[dt.date] = set()
    for item in items:
        first, _, last = item.strip().partition("..")
        try:
            a = dt.date.fromisoformat(first)
            b = dt.date.fromisoformat(last) if last else a
        except ValueError:
            raise ValueError(f"{item!r} is not YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD") from None
        if b < a or (b - a).days > 366:
            raise ValueError(f"{item!r}: the range is reversed or longer than a year")
        out.update(a + dt.timedelta(days=i) for i in range((b - a).days + 1))
    return frozenset(out)


_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(d|h|min)(\s+clock)?")


def parse_duration(text: str, day_length: dt.timedelta) -> Duration:
    """``"0.5d"``, ``"3d"``, ``"30min"``, ``"24h"`` (working time) or ``"24h clock"``."""
    m = _DURATION.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a duration like 0.5d, 30min, 24h or 24h clock")
    number, unit, clock = float(m[1]), m[2], bool(m[3])
    if unit == "d":
        amount = dt.timedelta(days=number) if clock else day_length * number
    else:
        amount = dt.timedelta(hours=number) if unit == "h" else dt.timedelta(minutes=number)
    if amount <= dt.timedelta(0):
        raise ValueError(f"{text!r} must be more than zero")
    return Duration(amount, working=not clock)
