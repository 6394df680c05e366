"""Threshold arithmetic: the day, week and month a complaint falls in (the center's local calendar),
rates with no answered call, and what an admin may write as a threshold."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from ctiserver.complaints.model import threshold_fields
from ctiserver.complaints.periods import measure, period_bounds, periods_between, rate
from ctiserver.errors import InvalidInput
from ctiserver.reports.csvfile import cell, render

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
CATEGORIES = {"complaint": ("service", "fees"), "praise": ()}


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def test_a_day_starts_at_local_midnight_not_utc_midnight() -> None:
    # 2026-11-23 07:30 Shanghai is 2026-11-22 23:30 UTC: it belongs to the 23rd locally
    start, end = period_bounds("day", dt.datetime(2026, 11, 22, 23, 30, tzinfo=UTC), SH)
    assert (start, end) == (local(2026, 11, 23), local(2026, 11, 24))
    assert start.tzinfo == UTC
    # one second before local midnight is the day before
    assert period_bounds("day", local(2026, 11, 22, 23, 59, 59), SH)[0] == local(
        2026, 11, 22
    )


def test_a_week_runs_monday_to_sunday() -> None:
    sunday_late = local(2026, 11, 29, 23, 59, 59)
    monday = local(2026, 11, 30)
    assert period_bounds("week", sunday_late, SH) == (
        local(2026, 11, 23),
        local(2026, 11, 30),
    )
    assert period_bounds("week", monday, SH) == (
        local(2026, 11, 30),
        local(2026, 12, 7),
    )


def test_a_month_runs_from_the_first_across_year_ends_and_leap_days() -> None:
    assert period_bounds("month", local(2026, 12, 31, 23, 0), SH) == (
        local(2026, 12, 1),
        local(2027, 1, 1),
    )
    assert period_bounds("month", local(2028, 2, 29, 12), SH) == (
        local(2028, 2, 1),
        local(2028, 3, 1),
    )
    # 2027-01-31 17:00 UTC is already February 1st in Shanghai
    assert period_bounds("month", dt.datetime(2027, 1, 31, 17, tzinfo=UTC), SH)[
        0
    ] == local(2027, 2, 1)


def test_periods_between_cover_the_dates_without_gaps() -> None:
    weeks = periods_between("week", dt.date(2026, 11, 25), dt.date(2026, 12, 8), SH)
    assert [s for s, _ in weeks] == [
        local(2026, 11, 23),
        local(2026, 11, 30),
        local(2026, 12, 7),
    ]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(weeks))
    assert (
        len(periods_between("day", dt.date(2026, 11, 1), dt.date(2026, 11, 30), SH))
        == 30
    )
    assert (
        periods_between("month", dt.date(2026, 12, 2), dt.date(2026, 12, 1), SH) == []
    )


def test_a_rate_needs_answered_calls() -> None:
    assert rate(3, 0) is None
    assert rate(0, 0) is None
    assert rate(1, 4) == 0.25
    assert (
        rate(1, 4, min_answered=5) is None
    )  # too few calls for a rate to mean anything
    reading = measure("rate", 0.01, complaints=7, answered=0)
    assert (reading.value, reading.crossed) == (
        None,
        False,
    )  # no answered call: a rate cannot fire


def test_a_limit_is_reached_at_the_limit() -> None:
    assert not measure("count", 5, complaints=4, answered=100).crossed
    assert measure(
        "count", 5, complaints=5, answered=0
    ).crossed  # a count needs no answered call
    assert measure("rate", 0.05, complaints=5, answered=100).crossed
    assert not measure("rate", 0.05, complaints=4, answered=100).crossed


def fields(**body):
    return threshold_fields(body, categories=CATEGORIES, queues=("support", "vip"))


def test_a_threshold_is_checked_field_by_field() -> None:
    ok = fields(
        name="Fees today",
        measure="count",
        period="day",
        limit=5,
        subcategory="fees",
        queue="support",
    )
    assert ok == {
        "name": "Fees today",
        "measure": "count",
        "period": "day",
        "category": "complaint",
        "subcategory": "fees",
        "queue": "support",
        "limit_value": 5.0,
    }
    bad = [
        ({"name": "x", "measure": "count", "period": "year", "limit": 5}, "period"),
        ({"name": "x", "measure": "count", "period": "day", "limit": 2.5}, "limit"),
        ({"name": "x", "measure": "count", "period": "day", "limit": 0}, "limit"),
        (
            {"name": "x", "measure": "rate", "period": "day", "limit": 5},
            "limit",
        ),  # a rate is a fraction
        ({"name": "x", "measure": "rate", "period": "day", "limit": True}, "limit"),
        (
            {
                "name": "x",
                "measure": "rate",
                "period": "day",
                "limit": 0.1,
                "queue": "nope",
            },
            "queue",
        ),
        (
            {
                "name": "x",
                "measure": "rate",
                "period": "day",
                "limit": 0.1,
                "subcategory": "nope",
            },
            "subcategory",
        ),
        (
            {
                "name": "x",
                "measure": "count",
                "period": "day",
                "limit": 1,
                "category": "praise",
                "subcategory": "fees",
            },
            "subcategory",
        ),
        ({"name": "a\nb", "measure": "count", "period": "day", "limit": 1}, "name"),
        ({"name": "x", "measure": "sum", "period": "day", "limit": 1}, "measure"),
        ({"measure": "count", "period": "day", "limit": 1}, "name"),
        (
            {
                "name": "x",
                "measure": "count",
                "period": "day",
                "limit": 1,
                "colour": "red",
            },
            "colour",
        ),
        (
            {
                "name": "x",
                "measure": "count",
                "period": "day",
                "limit": 1,
                "min_answered": -1,
            },
            "min_answered",
        ),
    ]
    for body, field in bad:
        with pytest.raises(InvalidInput) as refused:
            fields(**body)
        assert refused.value.field == field, body


def test_a_change_keeps_what_it_does_not_name() -> None:
    current = {
        "measure": "count",
        "category": "complaint",
        "subcategory": "fees",
        "limit_value": 5.0,
    }
    out = threshold_fields(
        {"measure": "rate", "limit": 0.02},
        categories=CATEGORIES,
        queues=(),
        partial=True,
        current=current,
    )
    assert out == {"measure": "rate", "limit_value": 0.02}
    with pytest.raises(InvalidInput) as refused:  # a count limit of 5 is no rate
        threshold_fields(
            {"measure": "rate"},
            categories=CATEGORIES,
            queues=(),
            partial=True,
            current=current,
        )
    assert refused.value.field == "limit"


def test_csv_cells_never_run_as_formulas() -> None:
    assert cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert [cell(v) for v in ("+1", "-2", "@a", None, 3, 0.5, "张伟")] == [
        "'+1",
        "'-2",
        "'@a",
        "",
        "3",
        "0.5",
        "张伟",
    ]
    data = render(["a", "b"], [["x,y", "=1"]]).decode("utf-8")
    assert data == '\ufeffa,b\r\n"x,y",\'=1\r\n'


def test_only_changes_that_can_move_a_count_ask_for_an_evaluation() -> None:
    from ctiserver.complaints.service import ComplaintWatch

    sent: list[str] = []

    class Hub:
        def publish(self, type, data, audience):
            sent.append(type)

    watch = ComplaintWatch(
        None, Hub(), categories=CATEGORIES, queues=(), timezone="Asia/Shanghai"
    )
    watch.thresholds_cache = [{"category": "complaint"}]
    poked: list[dict] = []
    watch.poke = lambda: poked.append(True)  # type: ignore[method-assign]
    observed = watch.observing(Hub())
    for data in (
        {"why": "save", "status": "draft", "category": "complaint"},  # typing a draft
        {"why": "create", "status": "draft", "category": "complaint"},
        {
            "why": "submit",
            "status": "submitted",
            "category": "praise",
        },  # no threshold counts praise
        {
            "why": "accept",
            "status": "accepted",
            "category": "complaint",
        },  # moves no count
        {"why": "overdue", "status": "assigned", "category": "complaint"},
    ):
        observed.publish("workorder_task", data, None)
    assert poked == []
    observed.publish(
        "workorder_task",
        {"why": "submit", "status": "submitted", "category": "complaint"},
        None,
    )
    observed.publish(
        "workorder_task",
        {"why": "callback", "status": "submitted", "category": "complaint"},
        None,
    )
    assert len(poked) == 2
    assert sent.count("workorder_task") == 7  # every message still reaches the sockets


def test_a_day_that_changes_the_clock_is_still_one_local_day() -> None:
    berlin = ZoneInfo(
        "Europe/Berlin"
    )  # summer time starts on 2026-03-29: that day has 23 hours
    start, end = period_bounds(
        "day", dt.datetime(2026, 3, 29, 12, tzinfo=berlin), berlin
    )
    assert end - start == dt.timedelta(hours=23)
    assert start.astimezone(berlin).hour == 0 and end.astimezone(berlin).hour == 0
    week = period_bounds("week", dt.datetime(2026, 3, 29, 12, tzinfo=berlin), berlin)
    assert week[1] - week[0] == dt.timedelta(days=7, hours=-1)
