"""Conference rooms (cti-conference,<room>): who joins and leaves, the guests the server brought in,
and the consult -> conference move (the customer and the agent follow once they are together again)."""

from __future__ import annotations

from collections.abc import Iterable

from ctiserver.ami import events as ev
from ctiserver.calls.model import (CONFERENCE_CONTEXT, AgentBusyDirect, Call, CallEvent, ConferenceJoined,
                                   ConferenceLeft, ConferenceReady, Leg, room_name)
from ctiserver.calls.tracking.state import TrackerState


def guest_up(s: TrackerState, call: Call, leg: Leg, at: float) -> list[CallEvent]:
    """An agent the server brought into the call (conference) answered: on this call, not its owner."""
    if not s.is_agent(leg.endpoint) or leg.uniqueid in call.direct_agents:
        return []
    call.direct_agents[leg.uniqueid] = leg.endpoint
    return [AgentBusyDirect(call, leg.endpoint, leg.uniqueid, (call.caller_num, call.caller_name), at)]


def merge_ready(s: TrackerState, call: Call, at: float) -> list[CallEvent]:
    """Consult -> conference: once the agent is bridged with the customer again, both can go to the room."""
    conf = call.conference
    if not conf.pending or call.consulting:
        return []
    customer = s.legs.get(s.customer_leg(call))
    agent = s.legs.get(call.agent_leg) if call.agent_leg in call.legs else None
    if customer is not None and agent is not None and (not customer.bridge or customer.bridge != agent.bridge):
        return []  # not together again yet
    # together again, or one of them left meanwhile: the server brings whoever is left (or lets the room go)
    room, conf.pending = conf.pending, ""
    return [ConferenceReady(call, room, at)]


def dialplan_step(call: Call, leg: Leg, e: ev.DialplanStep) -> list[CallEvent]:
    """A leg entered a room, or went on from one (kicked members go on to Hangup())."""
    out: list[CallEvent] = []
    room = e.exten if e.context == CONFERENCE_CONTEXT else ""
    if leg.room and room != leg.room:
        out.append(ConferenceLeft(call, leg.room, leg.uniqueid, e.at))
    if room and room != leg.room:
        out.append(ConferenceJoined(call, room, leg.uniqueid, e.at))
    leg.room = room
    return out


def left_room(call: Call, leg: Leg | None, uniqueid: str, at: float) -> list[CallEvent]:
    """A leg in a conference room is gone. So is the customer of a conference call who never got into
    the room (hung up during the move): either way whoever waits there must not be left alone."""
    room = (leg.room if leg else "") or (call.conference.room if uniqueid == call.caller_leg else "")
    return [ConferenceLeft(call, room, uniqueid, at)] if room else []


def leg_gone(s: TrackerState, call: Call, uniqueid: str, at: float) -> list[CallEvent]:
    """Consult -> conference: the customer or the agent left before the move, the other goes alone."""
    call.conference.guests.discard(uniqueid)
    if call.conference.pending and not call.consulting and uniqueid in (call.caller_leg, call.agent_leg):
        return merge_ready(s, call, at)
    return []


# -- resync ---------------------------------------------------------------------------


def room_of(c: ev.ChannelSnapshot) -> str:
    """The CTI conference room a channel is in (cti-conference,<room> / ConfBridge(<room>,...)), or ''."""
    if c.context == CONFERENCE_CONTEXT and c.exten not in ("", "s"):
        return c.exten
    if c.application == "ConfBridge" and c.appdata.startswith("cti"):
        return c.appdata.split(",", 1)[0]
    return ""


def claim_rooms(s: TrackerState, channels: Iterable[ev.ChannelSnapshot]) -> None:
    """Conference rooms are named after their call: members with a linkedid of their own (the parties
    the server Originated in) belong to that call, also after a restart of the server."""
    members = [(c, room) for c in channels if (room := room_of(c))]
    for c, room in members:
        if c.linkedid and room_name(c.linkedid) == room:
            s.rooms.setdefault(room, c.linkedid)
    for c, room in members:
        owner = s.rooms.get(room)
        if owner and c.linkedid and c.linkedid != owner:
            s.alias.setdefault(c.linkedid, owner)


def adopt_leg(call: Call, leg: Leg, c: ev.ChannelSnapshot, now: float) -> list[CallEvent]:
    """A leg seen in a snapshot: a guest of the call, in a room it joined or left while the link was down."""
    out: list[CallEvent] = []
    if (c.linkedid or c.uniqueid) != call.linkedid:
        call.conference.guests.add(c.uniqueid)
    room = room_of(c)
    if leg.room != room:
        if leg.room:
            out.append(ConferenceLeft(call, leg.room, leg.uniqueid, now))
        if room:
            out.append(ConferenceJoined(call, room, leg.uniqueid, now))
        leg.room = room
    if room and room == room_name(call.linkedid):
        call.conference.room = room
    return out
