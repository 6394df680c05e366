"""Reconciling with a fresh ``CoreShowChannels``/``QueueStatus`` answer after a (re)login: Asterisk
replays nothing after a reconnect, so calls that ended meanwhile are closed and calls that began
(or changed: answered, held, moved, consulting, in a conference) are adopted as they are now."""

from __future__ import annotations

from collections.abc import Iterable

from ctiserver.ami import events as ev
from ctiserver.calls.model import (AGENT_WAIT_CONTEXT, RINGING, UP, Call, CallAnswered, CallEvent, CallQueued,
                                   CallRinging, CallStarted, Leg)
from ctiserver.calls.tracking import channels, conference, consult, hold
from ctiserver.calls.tracking.state import TrackerState


def resync(s: TrackerState, snapshot: Iterable[ev.ChannelSnapshot], entries: Iterable[ev.QueueEntrySnapshot],
           now: float) -> list[CallEvent]:
    """Reconcile with what Asterisk says is up now; return the call events that implies."""
    snap = {c.uniqueid: c for c in snapshot}
    waits = {q.uniqueid: q for q in entries}
    out: list[CallEvent] = []
    # Legs that vanished while we were not looking.
    for call in list(s.calls.values()):
        for uid in sorted(call.legs - snap.keys()):
            out += conference.left_room(call, s.legs.pop(uid, None), uid, now)
            out += channels.leg_gone(s, call, uid, now, 0)
    conference.claim_rooms(s, snap.values())
    by_call: dict[str, list[ev.ChannelSnapshot]] = {}
    for c in snap.values():
        linkedid = c.linkedid or c.uniqueid
        by_call.setdefault(s.alias.get(linkedid, linkedid), []).append(c)
    for linkedid, legs in by_call.items():
        out += _adopt(s, linkedid, legs, waits, now)
    return out


def _adopt(s: TrackerState, linkedid: str, legs: list[ev.ChannelSnapshot],
           waits: dict[str, ev.QueueEntrySnapshot], now: float) -> list[CallEvent]:
    out: list[CallEvent] = []
    call = s.calls.get(linkedid)
    if call is None:
        first = next((c for c in legs if c.uniqueid == linkedid), None) or max(legs, key=lambda c: c.duration)
        call = Call(linkedid, now - max(c.duration for c in legs), caller_num=first.caller_num,
                    caller_name=first.caller_name, caller_leg=first.uniqueid, resynced=True,
                    direction="outbound" if s.is_agent(ev.endpoint_of(first.channel)) else "inbound")
        s.calls[linkedid] = call
        out.append(CallStarted(call, now))
    for c in legs:
        if c.uniqueid not in s.legs:
            s.legs[c.uniqueid] = Leg(c.uniqueid, linkedid, c.channel, ev.endpoint_of(c.channel), c.state, c.bridge_id)
        call.legs.add(c.uniqueid)
        leg = s.legs[c.uniqueid]
        leg.state, leg.bridge = c.state, c.bridge_id
        out += conference.adopt_leg(call, leg, c, now)
    caller = next((c for c in legs if c.uniqueid == call.caller_leg), None)
    if caller and caller.application == "Queue" and not call.queue:
        call.queue = caller.appdata.split(",", 1)[0]
        wait = waits.get(caller.uniqueid)
        call.queued_at = now - (wait.wait if wait else caller.duration)
        out.append(CallQueued(call, now))
    out += consult.adopt(s, call, caller, legs, now)
    for c in legs:
        if c.uniqueid != call.caller_leg:
            out += _adopt_agent_leg(s, call, caller, c, now)
    out += hold.adopt(call, caller, now)
    for c in legs:
        if c.application != "AppQueue" and c.state == UP and c.uniqueid not in call.conference.guests:
            out += channels.direct_agent(s, call, s.legs[c.uniqueid], now)
    return out


def _adopt_agent_leg(s: TrackerState, call: Call, caller: ev.ChannelSnapshot | None, c: ev.ChannelSnapshot,
                     now: float) -> list[CallEvent]:
    """An agent's leg of the call as the snapshot shows it: answered, moved to, ringing."""
    interface = ev.endpoint_of(c.channel)
    guest = c.uniqueid in call.conference.guests
    if guest or (call.consult is not None and call.consult.active and c.uniqueid in call.consult.legs):
        return conference.guest_up(s, call, s.legs[c.uniqueid], now) if guest and c.state == UP else []
    bridged = caller is not None and c.bridge_id and c.bridge_id == caller.bridge_id
    # an agent's leg held by the panel (agent-wait) or bridged back by retrieve (no AppQueue any more)
    waiting = s.is_agent(interface) and c.context == AGENT_WAIT_CONTEXT
    moved = s.is_agent(interface) and bool(bridged) and call.queued_at is not None
    # a transfer's Dial ringing an agent's phone in an answered call
    dialled = (s.is_agent(interface) and c.application == "AppDial" and call.answered_at is not None
               and call.queued_at is not None)
    if c.application != "AppQueue" and not waiting and not moved and not dialled:
        return []
    if waiting and call.agent_leg != c.uniqueid:
        call.answered_at = call.answered_at or now - c.duration
        call.agent_interface, call.agent_leg = interface, c.uniqueid
        return [CallAnswered(call, interface, c.uniqueid, now)]
    if bridged and call.agent_leg != c.uniqueid:
        call.ringing.pop(c.uniqueid, None)
        call.direct_ringing.discard(c.uniqueid)
        call.answered_at = call.answered_at or now - c.duration
        if call.agent_interface or call.previous_agents:  # someone else had it: a move happened meanwhile
            return channels.new_agent(call, interface, c.uniqueid, now)
        call.agent_interface, call.agent_leg = interface, c.uniqueid
        return [CallAnswered(call, interface, c.uniqueid, now)]
    if not bridged and c.state == RINGING and c.uniqueid not in call.ringing:
        call.ringing[c.uniqueid] = interface
        if c.application != "AppQueue":
            call.direct_ringing.add(c.uniqueid)
        return [CallRinging(call, interface, c.uniqueid, now)]
    return []
