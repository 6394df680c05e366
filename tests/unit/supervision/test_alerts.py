"""Supervisors' alerts decided by the server: a fake clock moves time, the agent book and the calls
are fed what Asterisk would say, and the pushes say what a supervisor's page shows."""

from __future__ import annotations

from typing import Any

import pytest

from ctiserver.agents.book import Account, AgentBook
from ctiserver.ami.events import MemberState
from ctiserver.calls import model as cm
from ctiserver.push.hub import SUPERVISORS
from ctiserver.supervision.alerts import (
    Alerts,
    Thresholds,
    parse_per_reason,
    thresholds_from,
)

T0 = 1_700_000_000.0
LIMITS = Thresholds(wait_seconds=60, hold_seconds=30, busy_seconds=900, busy_per_reason={"lunch": 3600},
                    wrapup_seconds=120)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Pushes:
    """What the alerts hand to the push hub, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict, Any]] = []

    def publish(self, type: str, data: dict, audience: Any) -> None:
        self.sent.append((type, data, audience))

    def take(self) -> list[tuple[str, str, str]]:
        """(raised|cleared, key, level) since the last take, all to supervisors as ``alert``."""
        out = [(d["state"], d["key"], d["level"]) for t, d, a in self.sent if t == "alert" and a is SUPERVISORS]
        assert len(out) == len(self.sent)
        self.sent.clear()
        return out


def member(book: AgentBook, agent: str, at: float, *, paused: bool = False, reason: str = "",
           kind: str = "pause") -> None:
    """Asterisk's QueueMember event for agent ``agent`` in queue support."""
    book.apply_member(MemberState(at, kind, "support", f"PJSIP/{agent}", agent, f"PJSIP/{agent}", 1, paused,
                                  reason, False, 0, 0))


@pytest.fixture
def world() -> tuple[Alerts, AgentBook, dict[str, cm.Call], Clock, Pushes]:
    accounts = [Account(i, i, f"Agent {i}", "agent", f"PJSIP/{i}", ("support",)) for i in ("1001", "1002", "1003")]
    accounts.append(Account("1900", "1900", "Supervisor Chen", "supervisor", "PJSIP/1900", ("support",)))
    book = AgentBook(accounts)
    for a in accounts:
        member(book, a.id, T0 - 5, kind="added")
    calls: dict[str, cm.Call] = {}
    clock, pushes = Clock(), Pushes()
    return Alerts(calls.values, book, pushes, LIMITS, clock=clock), book, calls, clock, pushes


def queued_call(calls: dict[str, cm.Call], linkedid: str, at: float) -> cm.Call:
    call = cm.Call(linkedid, at - 10, caller_num="13800138000", caller_name="Zhang Wei", caller_leg=linkedid)
    call.queue, call.queued_at = "support", at
    calls[linkedid] = call
    return call


def test_a_caller_waiting_past_the_limit_is_raised_names_the_busy_agent_to_free_and_clears_on_answer(
        world: Any) -> None:
    alerts, book, calls, clock, pushes = world
    member(book, "1002", T0 - 300, paused=True, reason="break")  # busy the longest: the one to free
    member(book, "1003", T0 - 100, paused=True, reason="meeting")
    call = queued_call(calls, "1.1", T0)
    clock.now = T0 + 60
    alerts.evaluate()
    assert pushes.take() == []  # at the limit, not past it
    clock.now = T0 + 61
    alerts.evaluate()
    assert pushes.take() == [("raised", "wait:1.1", "warn")]
    alert = alerts.raised["wait:1.1"]
    assert (alert["linkedid"], alert["queue"], alert["caller_number"], alert["since"], alert["limit"]) == (
        "1.1", "support", "13800138000", T0, 60)
    assert alert["action"] == {"kind": "force_ready", "agent": "1002"}
    clock.now = T0 + 62
    alerts.evaluate()
    assert pushes.take() == []  # nothing changed: nothing pushed again
    clock.now = T0 + 120
    alerts.evaluate()
    assert pushes.take() == [("raised", "wait:1.1", "bad")]  # twice the limit

    call.answered_at, call.agent_interface = T0 + 121, "PJSIP/1001"
    alerts.on_call_event(cm.CallAnswered(call, "PJSIP/1001", "1.2", T0 + 121))
    assert pushes.take() == [("cleared", "wait:1.1", "bad")]  # at once, not at the next check


def test_a_hold_past_the_hold_limit_offers_monitoring_and_clears_on_retrieve_or_hang_up(world: Any) -> None:
    alerts, _, calls, clock, pushes = world
    call = queued_call(calls, "2.1", T0)
    call.answered_at, call.agent_interface, call.agent_leg = T0 + 5, "PJSIP/1001", "2.2"
    call.hold.start(T0 + 10, "2.1", "PJSIP/1001", "2.2")
    clock.now = T0 + 40
    alerts.evaluate()
    assert pushes.take() == []
    clock.now = T0 + 41
    alerts.evaluate()
    assert pushes.take() == [("raised", "hold:2.1", "warn")]
    assert alerts.raised["hold:2.1"]["agent"] == "1001"
    assert alerts.raised["hold:2.1"]["action"] == {"kind": "monitor", "linkedid": "2.1"}
    call.hold.end(T0 + 45)
    alerts.on_call_event(cm.CustomerHeld(call, False, 35.0, T0 + 45))
    assert pushes.take() == [("cleared", "hold:2.1", "warn")]

    call.hold.start(T0 + 50, "2.1", "PJSIP/1001", "2.2")
    clock.now = T0 + 90
    alerts.evaluate()
    assert pushes.take() == [("raised", "hold:2.1", "warn")]
    call.ended_at = T0 + 91
    del calls["2.1"]
    alerts.on_call_event(cm.CallEnded(call, T0 + 91))
    assert pushes.take() == [("cleared", "hold:2.1", "warn")]


def test_busy_is_judged_per_reason_wrap_up_has_its_own_limit_and_a_force_ready_clears_at_once(world: Any) -> None:
    alerts, book, _, clock, pushes = world
    member(book, "1001", T0, paused=True, reason="break")
    member(book, "1002", T0, paused=True, reason="lunch")
    member(book, "1900", T0, paused=True, reason="break")  # a supervisor's own state raises nothing
    clock.now = T0 + 901
    alerts.evaluate()
    assert pushes.take() == [("raised", "busy:1001", "warn")]  # lunch may last an hour
    assert alerts.raised["busy:1001"]["reason"] == "break"
    assert alerts.raised["busy:1001"]["action"] == {"kind": "force_ready", "agent": "1001"}
    clock.now = T0 + 3601
    alerts.evaluate()
    assert sorted(pushes.take()) == [("raised", "busy:1001", "bad"), ("raised", "busy:1002", "warn")]

    # a force ready: the agent book's change clears the alert without waiting for the next check
    changes = book.apply_member(MemberState(T0 + 3602, "pause", "support", "PJSIP/1001", "1001", "PJSIP/1001", 1,
                                            False, "", False, 0, 0))
    for ch in changes:
        alerts.on_agent_change(ch)
    assert pushes.take() == [("cleared", "busy:1001", "bad")]

    member(book, "1003", T0 + 3500, paused=True, reason="wrap-up")  # the server's wrap-up pause
    clock.now = T0 + 3621
    alerts.evaluate()
    assert pushes.take() == [("raised", "wrapup:1003", "warn")]
    assert [a["key"] for a in alerts.sorted(clock.now)] == ["wrapup:1003", "busy:1002"]  # worst (against its limit) first


def test_a_supervisors_snapshot_lists_the_alerts_and_thresholds_an_agents_does_not(world: Any) -> None:
    alerts, book, calls, clock, _ = world
    queued_call(calls, "3.1", T0)
    clock.now = T0 + 100
    alerts.evaluate()
    boss, agent = book.by_id["1900"], book.by_id["1001"]
    snap = alerts.snapshot(boss)
    assert [a["key"] for a in snap["alerts"]] == ["wait:3.1"]
    assert snap["alert_thresholds"] == {"wait_seconds": 60, "hold_seconds": 30, "wrapup_seconds": 120,
                                        "busy_seconds": {"lunch": 3600, "*": 900}}
    assert alerts.snapshot(agent) == {}


def test_thresholds_come_from_the_settings_and_bad_ones_are_named() -> None:
    from ctiserver.config import ConfigError, load

    cfg = load(env={"CTI_SUPERVISION_ALERT_WAIT_SECONDS": "45",
                    "CTI_SUPERVISION_ALERT_BUSY_PER_REASON": "lunch=3600,training=7200",
                    "CTI_CALLCENTER_HOLD_WARNING_SECONDS": "20"})
    t = thresholds_from(cfg.supervision, cfg.callcenter.hold_warning_seconds)
    assert (t.wait_seconds, t.hold_seconds, t.busy_limit("training"), t.busy_limit("break")) == (45, 20, 7200, 900)
    with pytest.raises(ConfigError, match="alert_busy_per_reason"):
        load(env={"CTI_SUPERVISION_ALERT_BUSY_PER_REASON": "lunch"})
    with pytest.raises(ConfigError, match="alert_wait_seconds"):
        load(env={"CTI_SUPERVISION_ALERT_WAIT_SECONDS": "0"})
    with pytest.raises(ValueError, match="reason=seconds"):
        parse_per_reason(["lunch=-1"])
