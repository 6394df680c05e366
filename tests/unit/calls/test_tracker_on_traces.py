"""The call tracker folded over real Asterisk traffic: what happened to each call, in order.

Pure and fast: the recorded events are parsed into AmiMessages and applied directly
(tests/replay does the same through the whole server over TCP).
"""

from __future__ import annotations

import pytest

from ctiserver.agents.book import Account, AgentBook
from ctiserver.ami.events import MemberState, translate
from ctiserver.ami.message import AmiMessage
from ctiserver.calls import model as cm
from ctiserver.calls.tracker import CallTracker
from tests.support.traces import ReplayAmi, trace_path, unsolicited

AGENTS = [Account(id=a, login=a, name=f"Agent {a}", role="agent", interface=f"PJSIP/{a}", queues=("support",),
                  penalties=(0,)) for a in ("1001", "1002", "1003")]


def fold(trace: str) -> tuple[list[object], AgentBook, CallTracker]:
    book = AgentBook(AGENTS)
    tracker = CallTracker(book.is_agent_endpoint)
    out: list[object] = []
    for m in unsolicited(trace_path(trace)):
        headers = tuple(m.headers) + (("Timestamp", f"{ReplayAmi.BASE_EPOCH + m.t:.6f}"),)
        e = translate(AmiMessage(headers, 0.0, ""))
        if isinstance(e, MemberState):
            book.apply_member(e)
        elif e is not None:
            for ce in tracker.apply(e):
                book.apply_call(ce)
                out.append(ce)
    return out, book, tracker


def kinds(out: list[object]) -> list[str]:
    return [type(ce).__name__ for ce in out if not isinstance(ce, cm.CallIdentified)]


def test_02_answered() -> None:
    out, book, tracker = fold("02")
    assert kinds(out) == ["CallStarted", "CallQueued", "CallRinging", "CallAnswered", "AgentLegEnded", "CallEnded"] \
        or kinds(out) == ["CallStarted", "CallQueued", "CallRinging", "CallAnswered", "CallEnded"]
    end = out[-1]
    assert isinstance(end, cm.CallEnded)
    call = end.call
    assert call.disposition == "answered"
    assert call.agent_interface == "PJSIP/1001"
    assert call.ivr_keys_text == "1"
    assert call.wait_seconds == pytest.approx(1.51, abs=0.01)
    assert call.talk_seconds == pytest.approx(4.50, abs=0.01)
    assert tracker.calls == {}  # nothing left behind


def test_03_ring_no_answer_then_next_agent() -> None:
    out, _, _ = fold("03")
    ring_ended = [ce for ce in out if isinstance(ce, cm.CallRingEnded)]
    assert [(r.interface, r.why) for r in ring_ended][0] == ("PJSIP/1001", "no_answer")
    ringing = [ce.interface for ce in out if isinstance(ce, cm.CallRinging)]
    assert ringing == ["PJSIP/1001", "PJSIP/1002"]
    assert out[-1].call.disposition == "answered" and out[-1].call.agent_interface == "PJSIP/1002"


def test_16_decline_is_not_a_timeout() -> None:
    out, _, _ = fold("16")
    first = next(ce for ce in out if isinstance(ce, cm.CallRingEnded))
    assert (first.interface, first.why) == ("PJSIP/1001", "declined")


def test_04_abandon() -> None:
    out, book, _ = fold("04")
    call = out[-1].call
    assert call.disposition == "abandoned"
    assert call.wait_seconds == pytest.approx(6.0, abs=0.01)
    assert call.talk_seconds in (None, 0, 0.0)
    ended = [ce for ce in out if isinstance(ce, cm.CallRingEnded)]
    assert ended and ended[0].why == "caller_gone"
    assert book.view("1001")["state"] in ("logged_out", "ready")  # no ring left behind
    assert book.view("1001")["call"] is None


def test_11_click_to_dial_makes_the_agent_busy_outside_the_queues() -> None:
    out, book, _ = fold("11")
    busy = next(ce for ce in out if isinstance(ce, cm.AgentBusyDirect))
    assert busy.interface == "PJSIP/1001"
    assert busy.peer == ("0215551234", "Click2Dial")  # the Originate's CallerID, shown as the connected line
    call = out[-1].call
    assert (call.direction, call.disposition) == ("outbound", "answered")
    assert call.talk_seconds == pytest.approx(4.01, abs=0.01)  # the outside party answered at 2.549, hung up 6.557


def test_05_empty_queue_is_no_agent_not_abandoned() -> None:
    out, _, _ = fold("05")
    ended = [ce.call for ce in out if isinstance(ce, cm.CallEnded)]
    assert [(c.disposition, c.queue_status) for c in ended] == [
        ("no_agent", "JOINEMPTY"), ("no_agent", "JOINEMPTY"), ("no_agent", "LEAVEEMPTY")]


def _fold_messages(messages: list) -> list[object]:
    book = AgentBook(AGENTS)
    tracker = CallTracker(book.is_agent_endpoint)
    out: list[object] = []
    for m in messages:
        headers = tuple(m.headers) + (("Timestamp", f"{ReplayAmi.BASE_EPOCH + m.t:.6f}"),)
        e = translate(AmiMessage(headers, 0.0, ""))
        if isinstance(e, MemberState):
            book.apply_member(e)
        elif e is not None:
            for ce in tracker.apply(e):
                book.apply_call(ce)
                out.append(ce)
    return out


def _rings(out: list[object]) -> list[tuple[str, str]]:
    return [(r.interface, r.why) for r in out if isinstance(r, cm.CallRingEnded)]


def test_25_the_callback_key_while_ringing_is_not_the_agents_miss() -> None:
    out, book, _ = fold("25")
    assert _rings(out) == [("PJSIP/1001", "caller_left_queue")]
    assert book.view("1001")["state"] == "logged_out"  # the trace ends with the QueueRemove


def test_25_with_the_agents_leg_gone_before_the_caller_leaves_the_queue() -> None:
    # live runs differ from the recording here: the leg's Hangup may come before QueueCallerLeave
    messages = list(unsolicited(trace_path("25")))
    leave = next(i for i, m in enumerate(messages) if dict(m.headers).get("Event") == "QueueCallerLeave")
    hangup = next(i for i, m in enumerate(messages) if dict(m.headers).get("Event") == "Hangup"
                  and dict(m.headers).get("Channel", "").startswith("PJSIP/1001-"))
    assert leave < hangup
    messages.insert(leave, messages.pop(hangup))
    assert _rings(_fold_messages(messages)) == [("PJSIP/1001", "caller_left_queue")]
