"""Which past periods an evaluation reads late: those still running at the last complete
evaluation, or the one just before now after a restart, never one over before the threshold."""

from __future__ import annotations

import datetime as dt

from ctiserver.complaints.service import ComplaintWatch

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=SHANGHAI).astimezone(dt.UTC)


def watch() -> ComplaintWatch:
    return ComplaintWatch(
        None, None, categories={}, queues=(), timezone="Asia/Shanghai"
    )


def threshold(made: dt.datetime, period: str = "day") -> dict:
    return {"period": period, "created_at": made.isoformat()}


def starts(periods: list[tuple[dt.datetime, dt.datetime]]) -> list[int]:
    return [s.astimezone(SHANGHAI).day for s, _ in periods]


def test_steady_evaluations_read_the_current_period_only() -> None:
    w = watch()
    w.evaluated_at = at(10, 9)
    assert starts(w._periods(threshold(at(1)), at(10, 15))) == [10]


def test_days_that_ended_since_the_last_complete_evaluation_are_read() -> None:
    w = watch()
    w.evaluated_at = at(10, 23)  # the last reading before PostgreSQL went away
    assert starts(w._periods(threshold(at(1)), at(13, 1))) == [10, 11, 12, 13]


def test_after_a_restart_the_day_before_is_read_once() -> None:
    w = watch()
    assert starts(w._periods(threshold(at(1)), at(13, 1))) == [12, 13]


def test_a_new_threshold_does_not_judge_the_days_before_it() -> None:
    w = watch()
    w.evaluated_at = at(5)
    assert starts(w._periods(threshold(at(11, 8)), at(13, 1))) == [11, 12, 13]
    assert starts(watch()._periods(threshold(at(13, 0)), at(13, 1))) == [13]


def test_a_long_outage_reads_a_bounded_number_of_periods() -> None:
    w = watch()
    w.evaluated_at = at(1) - dt.timedelta(days=400)
    made = at(1) - dt.timedelta(days=500)
    assert len(w._periods(threshold(made), at(13))) == 63
