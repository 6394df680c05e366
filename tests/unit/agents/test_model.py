"""The agent state rules: what a panel shows from Asterisk's facts, and which changes are allowed."""

from __future__ import annotations

import pytest

from ctiserver.agents import model
from ctiserver.agents.model import AgentState, AgentStatus, Membership
from ctiserver.errors import Conflict, InvalidInput

REASONS = ("lunch", "break", "training")
QUEUES = ("support",)


def status(*members: Membership, **kw) -> AgentStatus:
    return AgentStatus("PJSIP/1001", memberships=members, **kw)


def test_state_is_derived_from_confirmed_facts() -> None:
    assert model.derive(status()) == (AgentState.LOGGED_OUT, "")
    assert model.derive(status(Membership("support", False, ""))) == (AgentState.READY, "")
    assert model.derive(status(Membership("support", True, "lunch"))) == (AgentState.NOT_READY, "lunch")
    # paused in one queue but available in another: still takes calls, so ready
    assert model.derive(status(Membership("sales", True, "lunch"), Membership("support", False, "")))[0] \
        == AgentState.READY
    ringing = model.ring(status(Membership("support", False, "")), "leg-1", "call-1")
    assert ringing.state == AgentState.RINGING
    talking = model.connect(ringing, "leg-1", "call-1")
    assert talking.state == AgentState.ON_CALL and talking.call == "call-1"
    assert model.leg_gone(talking, "leg-1", "hangup").state == AgentState.READY


def test_a_paused_agent_still_ringing_shows_ringing_until_the_ring_ends() -> None:
    # real Asterisk: pausing a ringing agent does not stop the ring in progress
    s = model.ring(status(Membership("support", True, "lunch")), "leg-1", "call-1")
    assert s.state == AgentState.RINGING
    assert model.leg_gone(s, "leg-1", "no_answer").state == AgentState.NOT_READY


def test_sign_in_plans_queue_add_for_each_queue() -> None:
    plan = model.plan_change(status(), "ready", None, ("support", "sales"), REASONS)
    assert plan.sign_in == ("support", "sales") and plan.pause is False
    busy_in = model.plan_change(status(), "not_ready", "training", QUEUES, REASONS)
    assert busy_in.sign_in == QUEUES and busy_in.pause is True and busy_in.reason == "training"


@pytest.mark.parametrize("target,reason,field", [
    ("away", None, "state"),
    ("not_ready", None, "reason"),
    ("not_ready", "nap", "reason"),
    ("ready", "lunch", "reason"),
])
def test_bad_requests_name_the_field(target: str, reason: str | None, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        model.plan_change(status(Membership("support", False, "")), target, reason, QUEUES, REASONS)
    assert exc.value.field == field


def test_conflicting_requests_say_why() -> None:
    ready = status(Membership("support", False, ""))
    with pytest.raises(Conflict, match="already ready"):
        model.plan_change(ready, "ready", None, QUEUES, REASONS)
    with pytest.raises(Conflict, match="already signed out"):
        model.plan_change(status(), "logged_out", None, QUEUES, REASONS)
    on_call = model.connect(model.ring(ready, "leg", "call"), "leg", "call")
    with pytest.raises(Conflict, match="finish the call"):
        model.plan_change(on_call, "logged_out", None, QUEUES, REASONS)
    lunch = status(Membership("support", True, "lunch"))
    with pytest.raises(Conflict, match="already busy"):
        model.plan_change(lunch, "not_ready", "lunch", QUEUES, REASONS)
    # a different reason is a real change
    assert model.plan_change(lunch, "not_ready", "break", QUEUES, REASONS).reason == "break"
