"""Deadlines from configuration: the seeds' defaults, when each step is due, and the colours."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from ctiserver import config as config_mod
from ctiserver.config import ConfigError
from ctiserver.workorders.lifecycle import Record, Status
from ctiserver.workorders.settings import build

SH = dt.timezone(dt.timedelta(hours=8))
S = Status
SETTINGS = build(config_mod.load(env={}).workorders)
D = SETTINGS.deadlines


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SH)


def test_the_seed_defaults() -> None:
    day = dt.timedelta(hours=8)
    a = D.allowances
    assert [a[("complaint", s)].amount / day for s in ("forward", "answer", "review", "callback", "repeat")] \
        == [0.5, 3, 2, 0.5, 5]
    assert a[("consultation", "forward")].amount == dt.timedelta(minutes=30)
    assert not a[("consultation", "answer")].working and a[("consultation", "answer")].amount == dt.timedelta(hours=24)
    assert a[("fault_report", "answer")].amount == 5 * day and a[("business_request", "answer")].amount == 10 * day
    assert a[("business_request", "deferred")].amount == 30 * day
    assert SETTINGS.departments_of("1003") == {"cards", "audit"} and SETTINGS.repeat_department == "audit"


def test_each_step_has_its_clock() -> None:
    t0 = at("2026-11-23T09:00")  # a Monday
    draft, submitted = Record(), Record(S.SUBMITTED, 1)
    start, due = D.schedule(draft, submitted, "complaint", t0, None)
    assert (start, due) == (t0, at("2026-11-23T14:00"))  # 0.5 working day, lunch skipped
    accepted = dataclasses.replace(submitted, status=S.ACCEPTED)
    assert D.schedule(submitted, accepted, "complaint", t0 + dt.timedelta(hours=1), start, due) == (start, due)
    assigned = dataclasses.replace(accepted, status=S.ASSIGNED)
    t1 = at("2026-11-23T10:00")
    start, due = D.schedule(accepted, assigned, "complaint", t1, start, due)
    assert (start, due) == (t1, at("2026-11-26T10:00"))  # 3 working days
    completed = dataclasses.replace(assigned, status=S.COMPLETED)
    start, due = D.schedule(assigned, completed, "complaint", t1, start, due)
    assert due == D.calendar.add(t1, dt.timedelta(hours=20))  # review 2d + callback 0.5d
    closed = dataclasses.replace(completed, status=S.CLOSED)
    assert D.schedule(completed, closed, "complaint", t1, start, due) == (start, due)  # kept for reports
    # A repeat complaint gets its own clock and allowance.
    repeat = Record(S.SUBMITTED, 9, repeats=1)
    assigned_again = dataclasses.replace(repeat, status=S.ASSIGNED)
    start, due = D.schedule(repeat, assigned_again, "complaint", t1, t0, None)
    assert due == D.calendar.add(t1, dt.timedelta(hours=40))
    # No deadline for a category without one; a draft has none.
    assert D.schedule(draft, submitted, "praise", t0, None)[1] is None
    assert D.schedule(draft, draft, "complaint", t0, None)[1] is None


def test_deferring_moves_the_due_time_from_the_step_start() -> None:
    t0 = at("2026-11-23T09:00")
    working = Record(S.IN_PROGRESS, 3)
    _, due = D.schedule(Record(S.ASSIGNED, 2), working, "fault_report", t0, None)
    assert due == D.calendar.add(t0, dt.timedelta(hours=40))
    deferred = dataclasses.replace(working, deferred=True)
    start, due = D.schedule(working, deferred, "fault_report", t0 + dt.timedelta(days=2), t0, due)
    assert start == t0 and due == D.calendar.add(t0, dt.timedelta(hours=240))
    assert D.can_defer("fault_report") and not D.can_defer("complaint")


def test_colours() -> None:
    t0 = at("2026-11-23T09:00")
    due = at("2026-11-23T14:00")  # 4 working hours; amber in the last hour
    open_ = Record(S.SUBMITTED, 1)
    colour = lambda status, now, **kw: D.colour(status, "complaint", dataclasses.replace(open_, status=S(status)),
                                                 kw.get("due", due), t0, now)
    assert colour("submitted", at("2026-11-23T10:00")) == "orange"
    assert colour("submitted", at("2026-11-23T13:30")) == "amber"
    assert colour("submitted", at("2026-11-23T12:00")) == "amber"  # one working hour left: lunch does not count
    assert colour("submitted", at("2026-11-23T11:30")) == "orange"
    assert colour("submitted", at("2026-11-23T14:00")) == "red"
    assert colour("closed", at("2026-11-30T13:00")) == "black"
    assert colour("withdrawn", at("2026-11-30T13:00")) == "black"
    assert colour("in_progress", t0, due=None) == "orange"
    assert D.colour(None, None, Record(), None, None, t0) == "grey"


@pytest.mark.parametrize("key,value,needle", [
    ("workorders.categories", ("complaint=a/b", "complaint"), "twice"),
    ("workorders.categories", (), "at least one"),
    ("workorders.departments", ("cards",), "name=a/b"),
    ("workorders.repeat_department", "nowhere", "not a department"),
    ("workorders.deadlines", ("complaint.forward=soon",), "duration"),
    ("workorders.deadlines", ("nosuch.answer=1d",), "category.step"),
    ("workorders.deadlines", ("complaint.lunch=1d",), "category.step"),
    ("workorders.hours", ("mon=9-5",), "HH:MM"),
    ("workorders.holidays", ("2026-02-30",), "YYYY-MM-DD"),
    ("workorders.timezone", "Nowhere/Place", "time zone"),
    ("workorders.required", ("category", "colour"), "colour"),
    ("workorders.amber_fraction", 1.5, "amber_fraction"),
])
def test_bad_settings_fail_at_start_naming_the_setting(key: str, value, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_mod.load(env={}, overrides={key: value})
    assert needle in str(info.value) and key.split(".")[0] in str(info.value)


def test_settings_from_the_environment() -> None:
    cfg = config_mod.load(env={"CTI_WORKORDERS_DEPARTMENTS": "it=2001/2002,hr=2003",
                               "CTI_WORKORDERS_REPEAT_DEPARTMENT": "",
                               "CTI_WORKORDERS_HOURS": "mon-fri=08:30-12:00 14:30-17:30"})
    s = build(cfg.workorders)
    assert dict(s.departments) == {"it": {"2001", "2002"}, "hr": {"2003"}}
    assert s.deadlines.calendar.day_length == dt.timedelta(hours=6, minutes=30)
    assert s.form()["departments"] == ["hr", "it"]
