"""Holds: the panel's (the customer Redirected into the hold context, the agent's leg parked in
agent-wait), the agent's phone's own (Hold/Unhold), their end, and a held party hanging up."""

from __future__ import annotations

from ctiserver.ami import events as ev
from ctiserver.calls.model import HOLD_CONTEXT, AgentLegHeld, Call, CallEvent, CustomerHeld, HeldPartyGone
from ctiserver.calls.tracking import consult
from ctiserver.calls.tracking.state import TrackerState


def dialplan_step(s: TrackerState, call: Call, e: ev.DialplanStep) -> list[CallEvent]:
    """A hold starts where the Redirect lands: hold,s,1; the customer leaving the hold context ends it.
    Returns the hold's events, or [] when the step is not a hold's."""
    # A later priority of `hold` is the customer coming back after an AMI Bridge ended (Asterisk's
    # after-bridge goto), not a new hold.
    if (not call.held and e.context == HOLD_CONTEXT and e.priority == 1
            and e.uniqueid == s.customer_leg(call)):
        interface, leg = s.agent_leg(call)
        if leg:  # the panel's hold: the customer was redirected to music on hold, the agent's leg waits
            call.hold.start(e.at, e.uniqueid, interface, leg)
            return [CustomerHeld(call, True, 0.0, e.at), AgentLegHeld(call, interface, leg, True, e.at)]
    if call.held and e.context != HOLD_CONTEXT and e.uniqueid == call.hold.customer_leg:
        return over(call, e.at)  # sent on from hold (a transfer, the IVR, the queue)
    return []


def phone_hold(s: TrackerState, e: ev.ChannelHold) -> list[CallEvent]:
    """Hold/Unhold from an agent's phone: a hold of the call (counted like the panel's), the Atxfer's
    own, or a conference guest holding only themselves."""
    leg = s.legs.get(e.uniqueid)
    call = s.call_of(e.linkedid)
    if leg is None or call is None or not s.is_agent(leg.endpoint):
        return []
    if leg.uniqueid != call.agent_leg and leg.uniqueid not in call.direct_agents:
        return []
    if leg.uniqueid in call.conference.guests:  # a conference participant's own hold holds nobody else
        return [AgentLegHeld(call, leg.endpoint, leg.uniqueid, e.held, e.at)]
    if (atxfer := consult.agent_hold(s, call, leg.uniqueid, e.held, e.at)) is not None:
        return atxfer
    if e.held and not call.held:  # the phone's own hold counts on the work order too
        call.hold.start(e.at, s.customer_leg(call), leg.endpoint, leg.uniqueid, by_phone=True)
        return [CustomerHeld(call, True, 0.0, e.at), AgentLegHeld(call, leg.endpoint, leg.uniqueid, True, e.at)]
    if not e.held and call.held and call.hold.by_phone:
        return over(call, e.at)
    return [AgentLegHeld(call, leg.endpoint, leg.uniqueid, e.held, e.at)]


def over(call: Call, at: float) -> list[CallEvent]:
    """The hold ends (nothing when the call is not on hold)."""
    hold = call.hold
    if hold.since is None:
        return []
    out: list[CallEvent] = [CustomerHeld(call, False, hold.end(at), at)]
    if hold.agent_leg in call.legs:
        out.append(AgentLegHeld(call, hold.agent_interface, hold.agent_leg, False, at))
    return out


def leg_gone(call: Call, uniqueid: str, at: float) -> list[CallEvent]:
    """One side of a hold hung up (during the hold, or after a retrieve): the other is alone."""
    hold = call.hold
    who = hold.side_of(uniqueid)
    if not who:
        return []
    if hold.since is not None:
        by_phone = hold.by_phone
        out = over(call, at) if who == "caller" or by_phone else []
        _hung_up_by(call, who)
        if call.legs and not by_phone:  # a phone's hold is still a bridge: Asterisk ends both legs itself
            out.append(HeldPartyGone(call, who, at))
        return out
    other = {hold.customer_leg, hold.agent_leg} - {uniqueid}
    if hold.count and not hold.by_phone and not call.moving and other & call.legs:
        _hung_up_by(call, who)
        return [HeldPartyGone(call, who, at, retrieved=True)]
    return []


def _hung_up_by(call: Call, who: str) -> None:
    if not call.hangup_by and call.answered_at is not None:
        call.hangup_by = who


def adopt(call: Call, caller: ev.ChannelSnapshot | None, now: float) -> list[CallEvent]:
    """A snapshot shows the customer in the hold context (held while the link was down), or out of it."""
    if caller is None:
        return []
    hold = call.hold
    if caller.context == HOLD_CONTEXT and hold.since is None and call.agent_leg in call.legs:
        # counted once at least: the snapshot cannot tell whether the holds already counted include it
        hold.since, hold.count = now, max(hold.count, 1)
        hold.customer_leg, hold.agent_interface, hold.agent_leg = caller.uniqueid, call.agent_interface, call.agent_leg
        return [CustomerHeld(call, True, 0.0, now), AgentLegHeld(call, call.agent_interface, call.agent_leg, True, now)]
    if caller.context != HOLD_CONTEXT and hold.since is not None:
        return over(call, now)
    return []
