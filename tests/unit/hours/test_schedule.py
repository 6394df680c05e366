"""Service hours: a hotline's week on the working calendar's holidays, and why it is closed."""

from __future__ import annotations

import datetime as dt

import pytest

from ctiserver import config as config_mod
from ctiserver.hours import schedule

SH = dt.timezone(dt.timedelta(hours=8))
HOURS = schedule.build(
    ("hotline: mon-fri=08:00-20:00; sat=09:00-12:00",),
    ("2026-10-01..2026-10-07",),
    ("2026-10-10",),
    "Asia/Shanghai",
)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SH)


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("2026-12-07T08:00", None),  # Monday, opening time
        ("2026-12-07T19:59", None),
        ("2026-12-07T20:00", "after_hours"),  # closing time
        ("2026-12-07T07:59", "after_hours"),
        ("2026-12-12T11:00", None),  # Saturday morning
        ("2026-12-12T13:00", "after_hours"),
        ("2026-12-13T11:00", "after_hours"),  # Sunday: not in the week
        ("2026-10-01T10:00", "holiday"),  # National Day, a Thursday
        (
            "2026-10-10T10:00",
            None,
        ),  # a make-up working Saturday: the longest day's hours
    ],
)
def test_the_hotline_is_open_in_its_hours_and_closed_on_holidays(
    when: str, reason: str | None
) -> None:
    assert HOURS.closed_reason("hotline", at(when)) == reason


def test_the_switch_closes_the_line_whatever_the_hours_and_an_unlisted_hotline_is_always_open() -> (
    None
):
    assert (
        HOURS.closed_reason("hotline", at("2026-12-07T10:00"), switched_closed=True)
        == "closed_now"
    )
    assert HOURS.closed_reason("other", at("2026-10-01T03:00")) is None
    assert (
        HOURS.closed_reason("other", at("2026-10-01T03:00"), switched_closed=True)
        == "closed_now"
    )


def test_the_week_is_shown_per_day() -> None:
    week = HOURS.week_json("hotline")
    assert week[0] == {"day": "mon", "hours": ["08:00-20:00"]} and week[6] == {
        "day": "sun",
        "hours": [],
    }
    assert HOURS.week_json("other") is None


def test_holidays_are_the_working_calendars_one_definition() -> None:
    cfg = config_mod.load(
        env={},
        overrides={
            "hours.hotlines": ("hotline: mon-sun=00:00-24:00",),
            "workorders.holidays": ("2026-12-25",),
        },
    )
    hours = schedule.from_config(cfg)
    assert hours.closed_reason("hotline", at("2026-12-25T12:00")) == "holiday"
    assert hours.closed_reason("hotline", at("2026-12-24T23:30")) is None


@pytest.mark.parametrize(
    ("hotlines", "named"),
    [
        (("hotline mon-fri=08:00-20:00",), "hotline mon-fri"),
        (("hotline: mon-fri=20:00-08:00",), "hotline"),
        (("hotline: xyz=08:00-20:00",), "xyz"),
        (("hotline: mon=08:00-09:00", "hotline: tue=08:00-09:00"), "given twice"),
    ],
)
def test_bad_hours_are_refused_at_load_naming_the_item(
    hotlines: tuple[str, ...], named: str
) -> None:
    with pytest.raises(config_mod.ConfigError, match="hours.hotlines") as err:
        config_mod.load(env={}, overrides={"hours.hotlines": hotlines})
    assert named in str(err.value)


def test_priorities_per_class_are_checked() -> None:
    assert dict(schedule.priorities(("vip=10", "gold=5"))) == {"vip": 10, "gold": 5}
    with pytest.raises(config_mod.ConfigError, match="ivr.priorities: 'vip=high'"):
        config_mod.load(env={}, overrides={"ivr.priorities": ("vip=high",)})
    with pytest.raises(config_mod.ConfigError, match="ivr.pin_lockout"):
        config_mod.load(env={}, overrides={"ivr.pin_lockout_after": 0})
