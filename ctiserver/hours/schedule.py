"""When a hotline takes calls: its week of opening hours on the one working calendar.

``hours.hotlines`` gives each hotline (the IVR menu's name) its week, e.g.
``"hotline: mon-fri=08:00-20:00; sat=09:00-12:00"``; the public holidays, make-up working
days and time zone are the working calendar's (``workorders.holidays``, ``workdays``,
``timezone``), the one definition the work orders' deadlines count on. A hotline not listed is
always open (and the IVR does not ask). Pure: the caller of :func:`decide` brings the switch.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ctiserver.calendar import WorkCalendar, parse_dates, parse_week

HOTLINE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # as the IVR's menu names
# Why a hotline is closed: the supervisor's switch, a public holiday, outside its hours.
CLOSED_NOW, HOLIDAY, AFTER_HOURS = "closed_now", "holiday", "after_hours"
REASONS = (CLOSED_NOW, HOLIDAY, AFTER_HOURS)


@dataclass(frozen=True)
class ServiceHours:
    """Each listed hotline's calendar (its week, the shared holidays)."""

    calendars: Mapping[str, WorkCalendar]

    def listed(self, hotline: str) -> bool:
        return hotline in self.calendars

    def closed_reason(
        self, hotline: str, now: dt.datetime, *, switched_closed: bool = False
    ) -> str | None:
        """Why ``hotline`` does not take calls at ``now`` (aware), or None when it is open."""
        if switched_closed:
            return CLOSED_NOW
        cal = self.calendars.get(hotline)
        if cal is None or cal.is_working(now):
            return None
        day = now.astimezone(cal.tz).date()
        return (
            HOLIDAY if day in cal.holidays and day not in cal.workdays else AFTER_HOURS
        )

    def week_json(self, hotline: str) -> list[dict[str, Any]] | None:
        """The hotline's opening hours per weekday (None: always open)."""
        cal = self.calendars.get(hotline)
        if cal is None:
            return None
        names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        return [
            {
                "day": d,
                "hours": [
                    f"{a:%H:%M}-{'24:00' if b == dt.time.max else f'{b:%H:%M}'}"
                    for a, b in spans
                ],
            }
            for d, spans in zip(names, cal.week, strict=True)
        ]


def build(
    hotlines: tuple[str, ...],
    holidays: tuple[str, ...],
    workdays: tuple[str, ...],
    timezone: str,
) -> ServiceHours:
    """Typed hours from configuration text; ValueError naming the item that is wrong."""
    try:
        shared = (parse_dates(holidays), parse_dates(workdays))
    except ValueError as exc:
        raise ValueError(f"workorders.holidays/workdays: {exc}") from None
    calendars: dict[str, WorkCalendar] = {}
    for item in hotlines:
        name, sep, week = item.partition(":")
        name = name.strip()
        if not sep or not HOTLINE.match(name):
            raise ValueError(
                f"hours.hotlines: {item!r} is not hotline: days=HH:MM-HH:MM; days=... "
                "(e.g. hotline: mon-fri=08:00-20:00; sat=09:00-12:00)"
            )
        if name in calendars:
            raise ValueError(f"hours.hotlines: {name!r} is given twice")
        try:
            days = tuple(d.strip() for d in week.split(";") if d.strip())
            calendars[name] = WorkCalendar(parse_week(days), *shared, timezone)
        except ValueError as exc:
            raise ValueError(f"hours.hotlines: {name}: {exc}") from None
    return ServiceHours(MappingProxyType(calendars))


def from_config(cfg: Any) -> ServiceHours:
    """The service hours of a loaded configuration (``cfg.hours`` and the working calendar's dates)."""
    wo = cfg.workorders
    return build(cfg.hours.hotlines, wo.holidays, wo.workdays, wo.timezone)


def priorities(items: tuple[str, ...]) -> Mapping[str, int]:
    """``("vip=10", "gold=5")`` -> {class: QUEUE_PRIO}; ValueError naming the item."""
    out: dict[str, int] = {}
    for item in items:
        klass, sep, value = item.partition("=")
        klass = klass.strip()
        try:
            prio = int(value)
        except ValueError:
            prio = -1
        if not sep or not HOTLINE.match(klass) or not 0 <= prio <= 1000:
            raise ValueError(
                f"ivr.priorities: {item!r} is not class=priority (0-1000, e.g. vip=10)"
            )
        out[klass] = prio
    return MappingProxyType(out)
