"""The agent state machine, exhaustively: every reachable combination of facts, every input.

The facts an agent's status holds are few and discrete (membership and pause, rings, a
call and its hold, wrap-up). These tests build every combination, feed every input to
each, and check that (a) the displayed state is what a supervisor would expect and
(b) every displayed move is one the state machine declares (TRANSITIONS); and that every
command in every state is either planned or refused exactly as COMMANDS says.
"""

from __future__ import annotations

import itertools

import pytest

from ctiserver.agents import model
from ctiserver.agents.model import COMMANDS, TRANSITIONS, WRAPUP_REASON, AgentState, AgentStatus, Membership
from ctiserver.ami.events import MemberState
from ctiserver.errors import Conflict, InvalidInput

S = AgentState
IFACE = "PJSIP/1001"
MEMBERSHIPS = {
    "out": (),
    "ready": (Membership("support", False, ""),),
    "lunch": (Membership("support", True, "lunch"),),
    "wrapup-paused": (Membership("support", True, WRAPUP_REASON),),
    "two-queues-one-paused": (Membership("sales", True, "break"), Membership("support", False, "")),
}
CALLS = {"none": {}, "ringing": {"ringing": (("leg-r", "call-r"),)},
         "talking": {"call_leg": "leg-c", "call": "call-c"},
         "held": {"call_leg": "leg-c", "call": "call-c", "held": True},
         "talking+ringing": {"call_leg": "leg-c", "call": "call-c", "ringing": (("leg-r", "call-r"),)}}
WRAPUPS = {"no": None, "yes": 1000.0}


def all_statuses() -> list[tuple[str, AgentStatus]]:
    out = []
    for (m, mem), (c, call), (w, wrap) in itertools.product(MEMBERSHIPS.items(), CALLS.items(), WRAPUPS.items()):
        if wrap is not None and not mem:
            continue  # wrap-up only exists while signed in
        out.append((f"{m}/{c}/wrapup-{w}", AgentStatus(IFACE, memberships=mem, wrapup_until=wrap, **call)))
    return out


def member(kind: str, paused: bool = False, reason: str = "", queue: str = "support") -> MemberState:
    return MemberState(at=1.0, kind=kind, queue=queue, interface=IFACE, member_name="A", state_interface=IFACE,
                       status=1, paused=paused, reason=reason, in_call=False, login_time=0, penalty=0)


INPUTS = {
    "added": lambda s: model.apply_member(s, member("added")),
    "added-paused": lambda s: model.apply_member(s, member("added", True, "lunch")),
    "pause-lunch": lambda s: model.apply_member(s, member("pause", True, "lunch")),
    "pause-wrapup": lambda s: model.apply_member(s, member("pause", True, WRAPUP_REASON)),
    "unpause": lambda s: model.apply_member(s, member("pause", False)),
    "removed": lambda s: model.apply_member(s, member("removed")),
    "removed-other-queue": lambda s: model.apply_member(s, member("removed", queue="sales")),
    "ring": lambda s: model.ring(s, "leg-n", "call-n"),
    "connect-ringing": lambda s: model.connect(s, "leg-r", "call-r"),
    "outside-call": lambda s: model.connect(s, "leg-o", "call-o", outside=True),
    "hold": lambda s: model.hold(s, "leg-c", True),
    "unhold": lambda s: model.hold(s, "leg-c", False),
    "ring-ends": lambda s: model.leg_gone(s, "leg-r", "no_answer"),
    "call-ends": lambda s: model.leg_gone(s, "leg-c", "call_ended"),
    "call-ends-wrapup": lambda s: model.leg_gone(s, "leg-c", "call_ended", 2000.0),
    "wrapup-times-out": lambda s: model.end_wrapup(s),
}


@pytest.mark.parametrize("name,status", all_statuses(), ids=[n for n, _ in all_statuses()])
def test_every_input_from_every_status_makes_a_declared_move(name: str, status: AgentStatus) -> None:
    before = model.derive(status)[0]
    for label, fn in INPUTS.items():
        after = model.derive(fn(status))[0]
        if after != before:
            assert (before, after) in TRANSITIONS, f"{name} --{label}--> {after} is not a declared move"


def test_the_displayed_state_follows_the_facts_by_priority() -> None:
    shown = {name: model.derive(s) for name, s in all_statuses()}
    # a call beats everything (on hold when held), then a ring, then sign-out, wrap-up, pause
    assert shown["lunch/talking/wrapup-no"] == (S.ON_CALL, "")
    assert shown["ready/held/wrapup-yes"] == (S.ON_HOLD, "")
    assert shown["lunch/ringing/wrapup-yes"] == (S.RINGING, "")
    assert shown["out/none/wrapup-no"] == (S.LOGGED_OUT, "")
    assert shown["ready/none/wrapup-yes"] == (S.WRAP_UP, "")
    assert shown["wrapup-paused/none/wrapup-no"] == (S.WRAP_UP, "")  # after a restart: still in wrap-up
    assert shown["lunch/none/wrapup-no"] == (S.NOT_READY, "lunch")
    assert shown["two-queues-one-paused/none/wrapup-no"] == (S.READY, "")
    assert {s for s, _ in shown.values()} == set(AgentState)  # every state is reachable


def test_wrapup_lifecycle() -> None:
    s = AgentStatus(IFACE, memberships=MEMBERSHIPS["ready"])
    s = model.connect(model.ring(s, "leg", "call"), "leg", "call")
    s = model.leg_gone(s, "leg", "call_ended", wrapup_until=50.0)
    assert s.state == S.WRAP_UP and s.wrapup_until == 50.0
    paused = model.apply_member(s, member("pause", True, WRAPUP_REASON))  # our own wrap-up pause confirmed
    assert paused.state == S.WRAP_UP
    assert model.apply_member(paused, member("pause", False)).state == S.READY  # agent pressed ready
    busy = model.apply_member(paused, member("pause", True, "lunch"))  # agent chose busy instead
    assert (busy.state, busy.reason, busy.wrapup_until) == (S.NOT_READY, "lunch", None)
    assert model.end_wrapup(s).state == S.READY  # time ran out, the pause never happened
    # signed out during the call: no wrap-up afterwards
    gone = model.leg_gone(model.connect(AgentStatus(IFACE), "l", "c"), "l", "call_ended", wrapup_until=9.0)
    assert gone.state == S.LOGGED_OUT and gone.wrapup_until is None


REASONS = ("lunch", "break")


@pytest.mark.parametrize("name,status", all_statuses(), ids=[n for n, _ in all_statuses()])
@pytest.mark.parametrize("target", ["ready", "not_ready", "logged_out"])
def test_every_command_in_every_state_is_planned_or_refused_as_declared(name: str, status: AgentStatus,
                                                                         target: str) -> None:
    state = model.derive(status)[0]
    reason = "break" if target == "not_ready" else None
    verdict = COMMANDS[state][target]
    if verdict != "ok":
        with pytest.raises(Conflict) as exc:
            model.plan_change(status, target, reason, ("support",), REASONS)
        assert exc.value.code == verdict
        return
    try:
        plan = model.plan_change(status, target, reason, ("support",), REASONS)
    except Conflict as exc:  # an "ok" cell may still refuse a no-op
        assert exc.code in ("already_ready", "already_not_ready"), (name, target, exc.code)
        return
    if target == "logged_out":
        assert plan.sign_out == status.queues
    elif not status.memberships:
        assert plan.sign_in == ("support",) and plan.pause == (target == "not_ready")
    else:
        assert plan.pause == (target == "not_ready") and not plan.sign_in


def test_wrapup_is_not_a_reason_an_agent_can_pick() -> None:
    with pytest.raises(InvalidInput) as exc:
        model.plan_change(AgentStatus(IFACE, memberships=MEMBERSHIPS["ready"]), "not_ready", WRAPUP_REASON,
                          ("support",), REASONS + (WRAPUP_REASON,))
    assert exc.value.field == "reason"
