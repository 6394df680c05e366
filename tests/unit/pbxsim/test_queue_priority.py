"""QUEUE_PRIO in the simulator's queue, as app_queue.c join_queue() seats callers: ahead of the first
caller with a strictly lower priority, behind every caller with the same or a higher one."""

from __future__ import annotations

from pbxsim.channel import Channel
from pbxsim.engines.queue_calls import queue_prio, seat
from pbxsim.engines.queues import Entry


def caller(name: str, prio: str | None = None) -> Entry:
    ch = Channel.__new__(Channel)
    ch.variables = {} if prio is None else {"QUEUE_PRIO": prio}
    ch.name = name
    entry = Entry(ch, 0.0, 0)
    entry.prio = queue_prio(ch)
    return entry


def order(entries: list[Entry]) -> list[str]:
    return [e.channel.name for e in entries]


def test_a_vip_joins_ahead_of_ordinary_callers_and_behind_earlier_vips() -> None:
    line: list[Entry] = []
    assert seat(line, caller("ordinary-1")) == 1
    assert seat(line, caller("ordinary-2")) == 2
    assert seat(line, caller("vip-1", "10")) == 1
    assert (
        seat(line, caller("vip-2", "10")) == 2
    )  # same priority: first come, first served
    assert seat(line, caller("gold", "5")) == 3
    assert seat(line, caller("ordinary-3", "0")) == 6
    assert order(line) == [
        "vip-1",
        "vip-2",
        "gold",
        "ordinary-1",
        "ordinary-2",
        "ordinary-3",
    ]


def test_queue_prio_is_read_as_app_queue_reads_it() -> None:
    assert [
        caller("x", p).prio for p in (None, "", "10", " 7", "10abc", "abc", "-3")
    ] == [0, 0, 10, 7, 10, 0, -3]
    line = [caller("ordinary")]
    assert (
        seat(line, caller("low", "-3")) == 2
    )  # a negative priority waits behind everyone
