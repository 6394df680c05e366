"""The core of the fold: channels coming, changing state and going, queues ringing and connecting
agents, agents on calls no queue gave them, and the end of a call."""

from __future__ import annotations

from ctiserver.ami import events as ev
from ctiserver.calls.model import (RINGING, UP, AgentBusyDirect, AgentLegEnded, Call, CallAnswered, CallEnded,
                                   CallerChanged, CallEvent, CallQueued, CallRingEnded, CallRinging, CallStarted, Leg)
from ctiserver.calls.tracking import conference, consult, hold, ivr
from ctiserver.calls.tracking.state import TrackerState

# AMI hangup cause 17: user busy, what a softphone's decline (SIP 486) gives.
CAUSE_USER_BUSY = 17


def created(s: TrackerState, e: ev.ChannelCreated) -> list[CallEvent]:
    linkedid = s.alias.get(e.linkedid, e.linkedid)
    if linkedid not in s.calls:  # the call it was brought into ended first: a call of its own
        linkedid = e.linkedid
    leg = Leg(e.uniqueid, linkedid, e.channel, ev.endpoint_of(e.channel), e.state, exten=e.exten)
    s.legs[e.uniqueid] = leg
    call = s.calls.get(linkedid)
    out: list[CallEvent] = []
    if call is None:
        call = Call(linkedid, e.at, caller_num=e.caller_num, caller_name=e.caller_name, caller_leg=e.uniqueid,
                    direction="outbound" if s.is_agent(leg.endpoint) else "inbound")
        s.calls[linkedid] = call
        out.append(CallStarted(call, e.at))
    call.legs.add(e.uniqueid)
    if linkedid != e.linkedid:  # a party the server Originated into this call (a conference participant)
        call.conference.guests.add(e.uniqueid)
    return out + consult.leg_created(call, e.uniqueid, e.channel, e.at)


def caller_id(s: TrackerState, e: ev.CallerIdSet) -> list[CallEvent]:
    """An inbound caller's number or name set anew (the dialplan normalising it): the pop, the
    customer lookup and the work order follow. Other legs' caller ids (Local halves, an
    Originate's CallerID on the agent's phone) describe the far end, not the caller."""
    call = s.call_of(e.linkedid)
    if call is None or e.uniqueid != call.caller_leg or call.direction != "inbound":
        return []
    previous = (call.caller_num, call.caller_name)
    if previous == (e.caller_num, e.caller_name):
        return []
    call.caller_num, call.caller_name = e.caller_num, e.caller_name
    return [CallerChanged(call, previous, e.at)]


def state_changed(s: TrackerState, e: ev.ChannelStateChanged) -> list[CallEvent]:
    leg = s.legs.get(e.uniqueid)
    if leg is None:
        return []
    leg.state = e.state
    if e.connected_num or e.connected_name:
        leg.connected = (e.connected_num, e.connected_name)
    call = s.calls.get(leg.linkedid)
    if call is None:
        return []
    if leg.uniqueid in call.conference.guests:
        return conference.guest_up(s, call, leg, e.at) if e.state == UP else []
    if e.state == UP and (active := call.consult) is not None and active.active and leg.uniqueid in active.legs:
        return consult.leg_up(s, call, leg, e.at)
    if (e.state == RINGING and s.is_agent(leg.endpoint) and call.answered_at is not None
            and leg.uniqueid not in call.ringing and leg.uniqueid not in (call.caller_leg, call.agent_leg)):
        # a moved call (transfer) rings an agent's phone by Dial, not through a queue
        call.ringing[leg.uniqueid] = leg.endpoint
        call.direct_ringing.add(leg.uniqueid)
        return [CallRinging(call, leg.endpoint, leg.uniqueid, e.at)]
    if e.state != UP:
        return []
    if leg.uniqueid in call.direct_ringing:
        call.direct_ringing.discard(leg.uniqueid)
        call.ringing.pop(leg.uniqueid, None)
        return new_agent(call, leg.endpoint, leg.uniqueid, e.at)
    if not s.is_agent(leg.endpoint):
        if call.direct_agents and call.answered_at is None:
            call.answered_at = e.at  # the external party of an agent's dial-out answered
        return []
    return direct_agent(s, call, leg, e.at)


def dialplan_step(s: TrackerState, e: ev.DialplanStep) -> list[CallEvent]:
    call = s.call_of(e.linkedid)
    if call is None:
        return []
    leg = s.legs.get(e.uniqueid)
    out = conference.dialplan_step(call, leg, e) if leg is not None else []
    if held := hold.dialplan_step(s, call, e):
        return out + held
    ivr.dialplan_step(call, e)
    return out


def new_agent(call: Call, interface: str, leg: str, at: float) -> list[CallEvent]:
    """An agent took a call someone else had (a transfer, or the queue again after a move)."""
    if call.agent_interface and call.agent_leg != leg:
        call.previous_agents.append(call.agent_interface)
        if call.agent_leg in call.legs:  # still up (a consult before an attended transfer): it ends later
            call.former_legs[call.agent_leg] = call.agent_interface
    call.agent_interface, call.agent_leg = interface, leg
    call.hangup_by, call.moving = "", ""
    return [CallAnswered(call, interface, leg, at)]


def direct_agent(s: TrackerState, call: Call, leg: Leg, at: float) -> list[CallEvent]:
    """An agent's phone up in a call no queue gave them (a queue leg is connected by AgentConnect)."""
    if (not s.is_agent(leg.endpoint) or leg.uniqueid in call.ringing or leg.uniqueid == call.agent_leg
            or leg.uniqueid in call.direct_agents or call.queued_at is not None):
        return []
    call.direct_agents[leg.uniqueid] = leg.endpoint
    far_up = any(other.state == UP for u in call.legs if u != leg.uniqueid and (other := s.legs.get(u)))
    if call.answered_at is None and (leg.uniqueid != call.caller_leg or far_up):
        call.answered_at = at  # a direct call the agent answered, or a dial-out already answered
    if leg.connected != ("", ""):
        peer = leg.connected
    elif leg.uniqueid == call.caller_leg:  # the agent dialled out: the peer is what they dialled
        peer = (leg.exten if leg.exten not in ("", "s") else "", "")
    else:
        peer = (call.caller_num, call.caller_name)
    return [AgentBusyDirect(call, leg.endpoint, leg.uniqueid, peer, at)]


# -- queues ---------------------------------------------------------------------------


def joined_queue(s: TrackerState, e: ev.CallerJoinedQueue) -> list[CallEvent]:
    call = s.call_of(e.linkedid)
    if call is None:
        return []
    call.queue = e.queue
    if call.queued_at is None:
        call.queued_at = e.at
    return [CallQueued(call, e.at)]


def abandoned(s: TrackerState, e: ev.CallerAbandoned) -> list[CallEvent]:
    call = s.call_of(e.linkedid)
    if call:
        call.abandoned = True
    return []


def dial_ended(s: TrackerState, e: ev.DialEnded) -> list[CallEvent]:
    """How app_queue stopped ringing an agent's leg, its first DialEnd: NOANSWER after the member's
    timeout (AgentRingNoAnswer first, then CANCEL too: trace 03), ANSWER, or CANCEL alone when the
    caller's side ended the ring: the caller hung up (trace 04) or pressed the queue's exit key, the
    callback key (trace 25: DialEnd CANCEL, QueueCallerLeave and the leg's Hangup, the last two in
    either order), or another member answered first (ringall)."""
    call = s.call_of(e.linkedid)
    if call is not None and e.dest_uniqueid in call.ringing:
        call.dial_ends.setdefault(e.dest_uniqueid, e.status.upper())
    return []


def agent_called(s: TrackerState, e: ev.AgentCalled) -> list[CallEvent]:
    call = s.call_of(e.linkedid)
    if call is None or e.dest_uniqueid in call.ringing:
        return []
    if e.dest_uniqueid not in s.legs:  # Newchannel not seen (link came up mid-dial)
        s.legs[e.dest_uniqueid] = Leg(e.dest_uniqueid, e.linkedid, e.dest_channel,
                                      ev.endpoint_of(e.dest_channel), RINGING)
        call.legs.add(e.dest_uniqueid)
    call.ringing[e.dest_uniqueid] = e.interface
    return [CallRinging(call, e.interface, e.dest_uniqueid, e.at)]


def agent_connected(s: TrackerState, e: ev.AgentConnected) -> list[CallEvent]:
    call = s.call_of(e.linkedid)
    if call is None:
        return []
    call.ringing.pop(e.dest_uniqueid, None)
    if call.answered_at is None:
        call.answered_at = e.at
    if call.agent_interface or call.previous_agents:  # answered again after a move (08 C)
        return new_agent(call, e.interface, e.dest_uniqueid, e.at)
    call.agent_interface, call.agent_leg = e.interface, e.dest_uniqueid
    return [CallAnswered(call, e.interface, e.dest_uniqueid, e.at)]


# -- bridges and hang-ups -------------------------------------------------------------


def bridge_entered(s: TrackerState, e: ev.BridgeEntered) -> list[CallEvent]:
    if leg := s.legs.get(e.uniqueid):
        leg.bridge = e.bridge_id
    call = s.call_of(e.linkedid)
    if call is None:
        return []
    if call.held and e.uniqueid == call.hold.customer_leg:
        return hold.over(call, e.at)  # retrieve: the customer is bridged again
    return conference.merge_ready(s, call, e.at)


def bridge_left(s: TrackerState, e: ev.BridgeLeft) -> list[CallEvent]:
    if leg := s.legs.get(e.uniqueid):
        leg.bridge = ""
    return []


def hangup_requested(s: TrackerState, e: ev.HangupRequested) -> list[CallEvent]:
    """Who asked first tells who hung up."""
    call = s.call_of(e.linkedid)
    if call and call.answered_at is not None and not call.hangup_by:
        if e.uniqueid == call.agent_leg:
            call.hangup_by = "agent"
        elif e.uniqueid == call.caller_leg:
            call.hangup_by = "caller"
    return []


def hung_up(s: TrackerState, e: ev.ChannelHungUp) -> list[CallEvent]:
    leg = s.legs.pop(e.uniqueid, None)
    call = s.call_of(e.linkedid)
    if call is None or e.uniqueid not in call.legs:
        return []
    return conference.left_room(call, leg, e.uniqueid, e.at) + leg_gone(s, call, e.uniqueid, e.at, e.cause)


def leg_gone(s: TrackerState, call: Call, uniqueid: str, at: float, cause: int) -> list[CallEvent]:
    """A leg of ``call`` is gone (hung up, or missing from a snapshot): what that ends."""
    call.legs.discard(uniqueid)
    out = conference.leg_gone(s, call, uniqueid, at)
    active = call.consult if call.consulting else None
    completed = consult.completed_by(call, uniqueid)
    if uniqueid in call.ringing:
        out.append(_ring_ended(call, uniqueid, at, cause))
    out += hold.leg_gone(call, uniqueid, at)
    if uniqueid == call.agent_leg:
        if not call.hangup_by and not call.moving:
            call.hangup_by = "agent"
        out.append(AgentLegEnded(call, call.agent_interface, uniqueid, at))
        if call.moving:  # the agent's leg went because the call was moved on, not hung up
            call.previous_agents.append(call.agent_interface)
            call.agent_interface, call.agent_leg = "", ""
    elif uniqueid in call.former_legs:  # a previous agent's leg (the call is someone else's now)
        out.append(AgentLegEnded(call, call.former_legs.pop(uniqueid), uniqueid, at))
    elif uniqueid in call.direct_agents:
        out.append(AgentLegEnded(call, call.direct_agents[uniqueid], uniqueid, at))
    elif uniqueid == call.caller_leg and call.answered_at is not None and not call.hangup_by:
        call.hangup_by = "caller"
    if active is not None:
        out += consult.leg_gone(s, call, active, uniqueid, completed, at)
    if not call.legs:
        out += hold.over(call, at)
        call.ended_at = at
        s.forget(call)
        out.append(CallEnded(call, at))
    return out


def _ring_ended(call: Call, uniqueid: str, at: float, cause: int) -> CallRingEnded:
    interface = call.ringing.pop(uniqueid)
    direct = uniqueid in call.direct_ringing
    call.direct_ringing.discard(uniqueid)
    dial_end = call.dial_ends.pop(uniqueid, "")
    if cause == CAUSE_USER_BUSY:
        why = "declined"
    elif call.answered_at is not None and not direct:
        why = "answered_elsewhere"
    elif call.abandoned or call.caller_leg not in call.legs:
        why = "caller_gone"
    elif dial_end == "CANCEL" and not direct:
        # cancelled from the caller's side, the caller still here: another member answered
        # (AgentConnect may come after this Hangup), else they left the queue with its exit key
        why = "answered_elsewhere" if "ANSWER" in call.dial_ends.values() else "caller_left_queue"
    else:
        why = "no_answer"
    return CallRingEnded(call, interface, uniqueid, why, at)
