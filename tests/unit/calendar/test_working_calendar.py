"""Working time: examples from the seeds' deadlines, then properties over random instants and amounts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctiserver.calendar import (Duration, WorkCalendar, parse_dates, parse_duration, parse_week)

SH = dt.timezone(dt.timedelta(hours=8))
WEEK = parse_week(("mon-fri=09:00-12:00 13:00-18:00",))
# 2026-10-01..07: National Day; Sunday 2026-09-27 a make-up working day.
CAL = WorkCalendar(WEEK, parse_dates(("2026-10-01..2026-10-07",)), parse_dates(("2026-09-27",)), "Asia/Shanghai")
H = dt.timedelta(hours=1)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SH)


def test_half_a_working_day_from_friday_afternoon_ends_monday_morning() -> None:
    assert CAL.day_length == 8 * H
    half = parse_duration("0.5d", CAL.day_length)
    assert CAL.due(at("2026-11-20T16:00"), half) == at("2026-11-23T11:00")  # Fri 16-18, Mon 9-11
    # A start in the lunch break or at night counts from the next working hour.
    assert CAL.due(at("2026-11-23T12:30"), parse_duration("30min", CAL.day_length)) == at("2026-11-23T13:30")
    assert CAL.due(at("2026-11-23T22:00"), Duration(H)) == at("2026-11-24T10:00")


def test_holidays_are_skipped_and_make_up_days_worked() -> None:
    three = parse_duration("3d", CAL.day_length)
    # Wednesday 2026-09-30 09:00 + 3 working days: 30 Sep, then the holiday week, then 8 and 9 Oct.
    assert CAL.due(at("2026-09-30T09:00"), three) == at("2026-10-09T18:00")
    # The make-up Sunday counts as a working day.
    assert CAL.due(at("2026-09-26T10:00"), Duration(2 * H)) == at("2026-09-27T11:00")


def test_clock_time_is_plain_time() -> None:
    clock = parse_duration("24h clock", CAL.day_length)
    assert clock == Duration(24 * H, working=False)
    assert CAL.due(at("2026-11-20T16:00"), clock) == at("2026-11-21T16:00")


@pytest.mark.parametrize("text", ["", "3", "3 days", "-1d", "0d", "1.d", "2w", "3d clock clock"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text, 8 * H)


@pytest.mark.parametrize("items", [("mon=09:00",), ("xyz=09:00-10:00",), ("mon=10:00-09:00",),
                                   ("mon=09:00-12:00 11:00-13:00",), ("mon-fri 09:00-12:00",)])
def test_bad_weeks_are_refused(items: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        WorkCalendar(parse_week(items))


def test_a_week_without_hours_and_an_unknown_zone_are_refused() -> None:
    with pytest.raises(ValueError):
        WorkCalendar(((),) * 7)
    with pytest.raises(ValueError):
        WorkCalendar(WEEK, timezone="Mars/Olympus")


def test_a_week_that_wraps_and_a_day_to_midnight() -> None:
    week = parse_week(("sat-mon=20:00-24:00",))
    assert [bool(d) for d in week] == [True, False, False, False, False, True, True]
    cal = WorkCalendar(week, timezone="UTC")
    start = dt.datetime(2026, 11, 21, 23, 0, tzinfo=dt.timezone.utc)  # a Saturday
    assert cal.add(start, 2 * H) - dt.datetime(2026, 11, 22, 21, 0, tzinfo=dt.timezone.utc) < dt.timedelta(
        milliseconds=1)


# -- properties ---------------------------------------------------------------------------------

instants = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31),
                        timezones=st.just(dt.timezone.utc))
amounts = st.integers(min_value=1, max_value=40 * 8 * 60).map(lambda m: dt.timedelta(minutes=m))


@settings(max_examples=300)
@given(instants, amounts, amounts)
def test_adding_working_time_is_monotonic_and_additive(t: dt.datetime, a: dt.timedelta, b: dt.timedelta) -> None:
    end = CAL.add(t, a)
    assert end > t
    assert CAL.add(t, a + b) >= end
    assert CAL.add(end, b) == CAL.add(t, a + b)


@settings(max_examples=300)
@given(instants, amounts)
def test_the_working_time_between_a_start_and_its_due_is_what_was_added(t: dt.datetime, a: dt.timedelta) -> None:
    end = CAL.add(t, a)
    assert CAL.between(t, end) == a
    assert CAL.left(t, end) == a
    # The due instant closes working time: the moment before it is working.
    assert CAL.is_working(end - dt.timedelta(microseconds=1))
    local = (end - dt.timedelta(microseconds=1)).astimezone(CAL.tz).date()
    assert local not in CAL.holidays and (local.weekday() < 5 or local in CAL.workdays)


@settings(max_examples=200)
@given(instants, instants)
def test_working_time_skips_non_working_time(a: dt.datetime, b: dt.datetime) -> None:
    start, end = min(a, b), max(a, b)
    work = CAL.between(start, end)
    assert dt.timedelta(0) <= work <= end - start
    assert CAL.between(end, start) == dt.timedelta(0)
    if work:  # the work fits in exactly that span
        assert CAL.add(start, work) <= end


@settings(max_examples=200)
@given(instants, amounts)
def test_a_later_start_is_never_due_earlier(t: dt.datetime, a: dt.timedelta) -> None:
    later = t + dt.timedelta(hours=3)
    assert CAL.add(later, a) >= CAL.add(t, a)
