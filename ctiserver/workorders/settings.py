"""The ``[workorders]`` configuration as typed, frozen objects: category tree, departments, deadlines.

Configuration text (see ctiserver/config.py ``WorkOrderConfig``) is parsed once at start;
:func:`build` raises ValueError naming the setting and the item that is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ctiserver.apischema import INT, STR, array, mapping, obj
from ctiserver.calendar import WorkCalendar, parse_dates, parse_duration, parse_week
from ctiserver.workorders.deadlines import STEPS, Deadlines

NAME = re.compile(r"[^\s/=,.]{1,40}")  # a category, sub-category or department name
FORM_FIELDS = ("category", "subcategory", "urgency", "request", "answer", "notes", "department", "summary")
MAX_DEFERRAL_DAYS = 30  # seed 003: a deferred problem is answered within 30 working days at most


# The schema of WorkOrderSettings.form().
FORM_CHOICES = obj(
    {"categories": array(obj({"name": STR, "subcategories": array(STR)}, closed=True)), "urgencies": array(STR),
     "departments": array(STR), "required": array(STR), "wrapup_required": array(STR),
     "deferrable": mapping(INT),  # category -> the longest deferral in working days
     "text_max": INT},
    closed=True,
)


@dataclass(frozen=True)
class WorkOrderSettings:
    categories: Mapping[str, tuple[str, ...]]  # category -> its sub-categories (may be none)
    urgencies: tuple[str, ...]
    departments: Mapping[str, frozenset[str]]  # department -> the accounts that handle its work
    repeat_department: str | None               # where repeat complaints go (None: back to the same)
    required: tuple[str, ...]                   # fields a submit needs
    wrapup_required: tuple[str, ...]            # fields the call's work order needs before the agent ends wrap-up
    deadlines: Deadlines
    text_max: int

    def departments_of(self, account_id: str) -> frozenset[str]:
        """The departments an account handles work for."""
        return frozenset(d for d, members in self.departments.items() if account_id in members)

    def deferrable(self) -> dict[str, int]:
        """Category -> the longest deferral it allows, in whole working days (only categories that allow one)."""
        day = self.deadlines.calendar.day_length
        out = {}
        for (category, step), allowance in self.deadlines.allowances.items():
            if step == "deferred":
                out[category] = max(1, int(allowance.amount / (day if allowance.working else dt.timedelta(days=1))))
        return out

    def form(self) -> dict[str, Any]:
        """What the wrap-up form offers (JSON-ready)."""
        return {"categories": [{"name": c, "subcategories": list(subs)} for c, subs in self.categories.items()],
                "urgencies": list(self.urgencies), "departments": sorted(self.departments),
                "required": list(self.required), "wrapup_required": list(self.wrapup_required),
                "deferrable": self.deferrable(), "text_max": self.text_max}


def _named_lists(setting: str, items: tuple[str, ...], *, need_members: bool) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for item in items:
        name, _, rest = item.partition("=")
        name = name.strip()
        members = tuple(m.strip() for m in rest.split("/") if m.strip())
        if not NAME.fullmatch(name) or (need_members and not members):
            example = "cards=1003/1004" if need_members else "complaint=service/fees/other"
            raise ValueError(f"{setting}: {item!r} is not name=a/b (e.g. {example})")
        bad = [m for m in members if not NAME.fullmatch(m)]
        if bad:
            raise ValueError(f"{setting}: {bad[0]!r} in {item!r} is not a name")
        if name in out:
            raise ValueError(f"{setting}: {name!r} is given twice")
        out[name] = members
    return out


def build(cfg: Any) -> WorkOrderSettings:
    """Typed settings from the ``workorders`` configuration section."""
    categories = _named_lists("workorders.categories", cfg.categories, need_members=False)
    if not categories:
        raise ValueError("workorders.categories: at least one category is needed")
    departments = _named_lists("workorders.departments", cfg.departments, need_members=True)
    if cfg.repeat_department and cfg.repeat_department not in departments:
        raise ValueError(f"workorders.repeat_department: {cfg.repeat_department!r} is not a department")
    bad = [u for u in cfg.urgencies if not NAME.fullmatch(u)]
    if not cfg.urgencies or bad:
        raise ValueError("workorders.urgencies: give at least one, each a single word")
    for setting, names in (("required", cfg.required), ("wrapup_required", cfg.wrapup_required)):
        unknown = set(names) - set(FORM_FIELDS)
        if unknown:
            raise ValueError(f"workorders.{setting}: {', '.join(sorted(unknown))} is not one of "
                             f"{', '.join(FORM_FIELDS)}")
    try:
        calendar = WorkCalendar(parse_week(cfg.hours), parse_dates(cfg.holidays), parse_dates(cfg.workdays),
                                cfg.timezone)
    except ValueError as exc:
        raise ValueError(f"workorders calendar (hours, holidays, workdays, timezone): {exc}") from None
    allowances = {}
    for item in cfg.deadlines:
        key, sep, value = item.partition("=")
        category, _, step = key.strip().partition(".")
        if not sep or category not in categories or step not in STEPS:
            raise ValueError(f"workorders.deadlines: {item!r} is not category.step=duration with a configured "
                             f"category and a step among {', '.join(STEPS)}")
        try:
            allowances[(category, step)] = parse_duration(value, calendar.day_length)
        except ValueError as exc:
            raise ValueError(f"workorders.deadlines: {exc}") from None
        longest = calendar.day_length * MAX_DEFERRAL_DAYS
        if step == "deferred" and allowances[(category, step)].amount > longest:
            raise ValueError(f"workorders.deadlines: {item!r}: a deferral is at most {MAX_DEFERRAL_DAYS} working days")
    if not 0 <= cfg.amber_fraction < 1:
        raise ValueError("workorders.amber_fraction: must be from 0 up to (not including) 1")
    if not 1 <= cfg.overdue_scan_seconds <= 3600:
        raise ValueError("workorders.overdue_scan_seconds: must be 1 to 3600")
    if not 100 <= cfg.text_max <= 100_000:
        raise ValueError("workorders.text_max: must be 100 to 100000 characters")
    return WorkOrderSettings(
        categories=MappingProxyType(categories), urgencies=tuple(cfg.urgencies),
        departments=MappingProxyType({d: frozenset(m) for d, m in departments.items()}),
        repeat_department=cfg.repeat_department or None, required=tuple(cfg.required),
        wrapup_required=tuple(cfg.wrapup_required),
        deadlines=Deadlines(calendar, MappingProxyType(allowances), cfg.amber_fraction), text_max=cfg.text_max)
