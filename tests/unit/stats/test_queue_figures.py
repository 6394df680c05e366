"""Queue figures from a day's work orders: every offered call is answered, abandoned, no_agent or waiting."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from ctiserver.stats.queues import queue_days

T = "2026-11-20T08:00:00+00:00"  # any non-null time


def call(queue: str | None, disposition: str | None = None, *, answered: bool = False, ended: bool = True,
         wait: float | None = None, talk: float | None = None) -> SimpleNamespace:
    return SimpleNamespace(queue=queue, disposition=disposition, answered_at=T if answered else None,
                           ended_at=T if ended else None, wait_seconds=wait, talk_seconds=talk)


def test_a_day_of_support_calls() -> None:
    calls = [
        call("support", "answered", answered=True, wait=5, talk=100),
        call("support", "answered", answered=True, wait=20, talk=200),   # exactly at the threshold: within
        call("support", "answered", answered=True, wait=31.5, talk=60),
        call("support", "abandoned", wait=45),
        call("support", "no_agent", wait=0),
        call("support", None, answered=True, ended=False, wait=3),      # answered, still talking
        call("support", None, ended=False),                             # still waiting
        call(None, "answered", answered=True, talk=30),                 # a direct call: no queue
        call("sales", "abandoned", wait=12),
    ]
    sales, support, vip = (q.to_json() for q in queue_days(calls, ["support", "vip"], 20))
    assert support == {
        "queue": "support", "offered": 7, "answered": 4, "abandoned": 1, "no_agent": 1, "waiting": 1,
        "answered_within_sl": 3, "service_level_pct": 50.0,  # 3 of the 6 calls that left the queue
        "avg_wait_seconds": round((5 + 20 + 31.5 + 3) / 4, 1), "max_wait_seconds": 45.0,
        "avg_handle_seconds": 120.0,  # the three ended answered calls
    }
    assert (sales["queue"], sales["offered"], sales["abandoned"], sales["service_level_pct"]) == ("sales", 1, 1, 0.0)
    assert vip == {"queue": "vip", "offered": 0, "answered": 0, "abandoned": 0, "no_agent": 0, "waiting": 0,
                   "answered_within_sl": 0, "service_level_pct": None, "avg_wait_seconds": 0.0,
                   "max_wait_seconds": 0.0, "avg_handle_seconds": 0.0}


CALLS = st.builds(
    call, st.sampled_from(["support", "sales", None]), st.sampled_from(["answered", "abandoned", "no_agent", None]),
    answered=st.booleans(), ended=st.booleans(),
    wait=st.none() | st.floats(0, 3600, allow_nan=False), talk=st.none() | st.floats(0, 3600, allow_nan=False))


@settings(max_examples=200, deadline=None, database=None)
@given(calls=st.lists(CALLS, max_size=30), sl=st.integers(0, 60))
def test_offered_calls_are_accounted_for_exactly_once(calls: list[SimpleNamespace], sl: int) -> None:
    for q in queue_days(calls, ["support"], sl):
        f = q.to_json()
        assert f["offered"] == f["answered"] + f["abandoned"] + f["no_agent"] + f["waiting"]
        assert f["offered"] == sum(1 for c in calls if c.queue == f["queue"])
        assert 0 <= f["answered_within_sl"] <= f["answered"]
        assert f["service_level_pct"] is None or 0 <= f["service_level_pct"] <= 100
