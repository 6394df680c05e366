"""Whose turn it is: callbacks stand in their queue at the caller's original join time."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from ctiserver.callbacks import model as m
from ctiserver.callbacks.model import Callback
from ctiserver.callbacks.scheduler import Line, Turn, decide, decide_by_scan


def cb(
    i: str, joined: float, queue: str = "support", not_before: float = 0.0
) -> Callback:
    return Callback(i, queue, "13800138000", joined, joined + 30, not_before=not_before)


def line_of(*cbs: Callback) -> tuple[Line, dict[str, Callback]]:
    line = Line()
    for c in cbs:
        line.add(c)
    return line, {c.id: c for c in cbs}


def test_the_earliest_callback_goes_first_whatever_order_they_were_asked_in():
    line, by_id = line_of(cb("late", 200.0), cb("early", 100.0), cb("middle", 150.0))
    assert decide(line, by_id, None, ["PJSIP/1001", "PJSIP/1002"], 1000.0) == [
        Turn("early", "PJSIP/1001"),
        Turn("middle", "PJSIP/1002"),
    ]
    assert line.position(by_id["late"]) == 3


def test_a_caller_who_joined_before_the_callback_is_served_first():
    line, by_id = line_of(cb("a", 100.0), cb("b", 300.0))
    assert (
        decide(line, by_id, 50.0, ["PJSIP/1001"], 1000.0) == []
    )  # that caller waited longer
    assert decide(line, by_id, 200.0, ["PJSIP/1001", "PJSIP/1002"], 1000.0) == [
        Turn("a", "PJSIP/1001")
    ]
    assert decide(line, by_id, None, [], 1000.0) == []  # nobody ready


def test_a_callback_waiting_for_its_retry_keeps_its_place_but_holds_nobody_up():
    line, by_id = line_of(cb("retry", 100.0, not_before=2000.0), cb("next", 200.0))
    assert decide(line, by_id, None, ["PJSIP/1001"], 1000.0) == [
        Turn("next", "PJSIP/1001")
    ]
    assert decide(line, by_id, None, ["PJSIP/1001"], 2000.0) == [
        Turn("retry", "PJSIP/1001")
    ]
    line.remove(by_id["retry"])
    assert line.position(by_id["next"]) == 1 and line.position(by_id["retry"]) == 0


@given(
    st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 2000)), max_size=40),
    st.one_of(st.none(), st.floats(0, 1000)),
    st.integers(0, 5),
)
def test_the_line_decides_as_a_scan_of_every_callback_would(items, waiting, agents):
    cbs = [cb(f"c{i}", joined, not_before=nb) for i, (joined, nb) in enumerate(items)]
    random.Random(1).shuffle(cbs)
    line, by_id = line_of(*cbs)
    ready = [f"PJSIP/{1000 + i}" for i in range(agents)]
    assert decide(line, by_id, waiting, ready, 1000.0) == decide_by_scan(
        cbs, "support", waiting, ready, 1000.0
    )


def test_outcomes_of_an_attempt():
    c = m.reserved(cb("a", 100.0), "1001", "cti-cb-1", 500.0)
    assert (c.state, c.agent_id, c.call_linkedid) == (m.RINGING, "1001", "cti-cb-1")
    missed = m.agent_missed(c, 510.0)
    assert (missed.state, missed.attempts, missed.joined_at) == (
        m.PENDING,
        0,
        100.0,
    )  # its place kept
    done = m.dialled(c, "ANSWER", 520.0, retries=2, interval=60.0)
    assert (done.state, done.attempts) == (m.CONNECTED, 1)
    busy = m.dialled(c, "BUSY", 520.0, retries=1, interval=60.0)
    assert (busy.state, busy.attempts, busy.not_before) == (m.PENDING, 1, 580.0)
    again = m.dialled(
        m.reserved(busy, "1001", "cti-cb-2", 600.0),
        "NOANSWER",
        630.0,
        retries=1,
        interval=60.0,
    )
    assert (again.state, again.attempts, again.outcome) == (m.FAILED, 2, "NOANSWER")


def test_a_called_back_caller_counts_as_what_became_of_them():
    from datetime import UTC, datetime

    from ctiserver.callbacks.figures import callback_figures, with_callbacks
    from ctiserver.stats.queues import queue_days
    from ctiserver.store.models import WorkOrder

    def left(
        linkedid: str,
    ) -> WorkOrder:  # the original call: left the queue with the key, hung up
        return WorkOrder(
            1,
            "WO-1",
            linkedid,
            queue="support",
            disposition="abandoned",
            wait_seconds=30.0,
            ended_at=datetime.fromtimestamp(140, UTC),
        )

    connected = Callback(
        "a",
        "support",
        "1380",
        100.0,
        130.0,
        linkedid="L1",
        state=m.CONNECTED,
        updated_at=400.0,
    )
    pending = Callback("b", "support", "1380", 100.0, 130.0, linkedid="L2")
    failed = Callback(
        "c", "support", "1380", 100.0, 130.0, linkedid="L3", state=m.FAILED
    )
    orders = with_callbacks(
        [left("L1"), left("L2"), left("L3")], [connected, pending, failed]
    )
    (day,) = queue_days(orders, ["support"], 20)
    assert (day.offered, day.answered, day.waiting, day.abandoned) == (3, 1, 1, 1)
    assert (
        day.waits_answered == [300.0] and day.answered_within_sl == 0
    )  # joined at 100, reached at 400
    assert callback_figures([connected, pending, failed]) == {
        "support": {"requested": 3, "connected": 1, "waiting": 1, "failed": 1}
    }
