"""Consults (attended transfers, AMI Atxfer): the legs Asterisk makes for them, the consulted party
answering, how a consult ends; and the consult a phone starts itself (trace 08 B)."""

from __future__ import annotations

from ctiserver.ami import events as ev
from ctiserver.calls.model import (UP, AgentBusyDirect, AgentLegHeld, Call, CallAnswered, CallEvent, Consult,
                                   ConsultAnswered, ConsultEnded, ConsultStarted, Leg)
from ctiserver.calls.tracking import conference
from ctiserver.calls.tracking.state import TrackerState


def atxfer_local(channel: str) -> bool:
    """The first half of the Local pair an attended transfer dials through (``Local/<exten>@<context>-…;1``)."""
    return channel.startswith("Local/") and channel.endswith(";1") and "@" in channel


def consult_via(local: str, interface: str, leg: str, by: str, since: float) -> Consult:
    """The consult an Atxfer's Local channel stands for: a colleague (``agents``) or an external number."""
    exten, _, context = local[len("Local/"):].rpartition("-")[0].partition("@")
    return Consult("agent" if context == "agents" else "external", exten, interface, leg, by, since)


def leg_created(call: Call, uniqueid: str, channel: str, at: float) -> list[CallEvent]:
    """A new leg of a consulting call is the consult's (its Local pair, the colleague's phone); an
    Atxfer's Local pair after the agent's phone held the customer is a consult the phone started."""
    consult = call.consult
    if consult is not None and consult.active:
        if uniqueid not in (call.caller_leg, consult.from_leg):
            consult.legs.add(uniqueid)
        return []
    if call.hold.by_phone and atxfer_local(channel):
        return _started_by_phone(call, uniqueid, channel, at)
    return []


def _started_by_phone(call: Call, uniqueid: str, channel: str, at: float) -> list[CallEvent]:
    """An Atxfer nobody asked the server for (trace 08 B): the agent's phone 'held' the customer, then
    Asterisk made the consult's Local pair. The agent is consulting, not holding."""
    hold = call.hold
    interface, agent_leg = hold.agent_interface, hold.agent_leg
    consult = call.consult = consult_via(channel, interface, agent_leg, "phone", hold.since or at)
    consult.legs.add(uniqueid)
    hold.withdraw()
    return [AgentLegHeld(call, interface, agent_leg, False, at), ConsultStarted(call, consult, at)]


def agent_hold(s: TrackerState, call: Call, leg: str, held: bool, at: float) -> list[CallEvent] | None:
    """Hold/Unhold of the consulting agent's leg that belongs to the Atxfer, not to a hold (None: not so)."""
    consult = call.consult
    if consult is None or not consult.active or leg != consult.from_leg:
        return None
    if held:
        return []  # the Atxfer's own Hold (trace 08 B): the agent consults, still on the call
    if not (consult.legs & call.legs):
        return over(s, call, "failed", at)  # Asterisk found no such extension: back to the call
    return None


def leg_up(s: TrackerState, call: Call, leg: Leg, at: float) -> list[CallEvent]:
    """A leg of the consult answered: the colleague (or the external number) talks with the agent."""
    consult = call.consult
    assert consult is not None
    out: list[CallEvent] = []
    if consult.answered_at is None and not leg.channel.startswith("Local/"):
        consult.answered_at = at  # the colleague's phone or the external number (not the Local pair itself)
        if consult.kind == "external":
            leg.external_number = consult.target
        out.append(ConsultAnswered(call, consult, at))
    if not s.is_agent(leg.endpoint) or leg.uniqueid in call.direct_agents:
        return out
    call.ringing.pop(leg.uniqueid, None)
    call.direct_ringing.discard(leg.uniqueid)
    consult.target_interface, consult.target_leg = leg.endpoint, leg.uniqueid
    call.direct_agents[leg.uniqueid] = leg.endpoint  # busy on this call, not (yet) the one who has it
    peer = leg.connected if leg.connected != ("", "") else (call.caller_num, call.caller_name)
    return [AgentBusyDirect(call, leg.endpoint, leg.uniqueid, peer, at), *out]


def over(s: TrackerState, call: Call, outcome: str, at: float) -> list[CallEvent]:
    """The consult ended with ``outcome`` (a conference, when one was asked for meanwhile)."""
    consult = call.consult
    assert consult is not None
    consult.outcome = "conference" if call.conference.pending and outcome != "caller_gone" else outcome
    return [ConsultEnded(call, consult, at), *conference.merge_ready(s, call, at)]


def completed_by(call: Call, uniqueid: str) -> bool:
    """The consulting agent hung up with the customer still there: Asterisk gives the customer to the
    colleague (the agent's leg ending is a move, not a hang-up)."""
    consult = call.consult
    completed = (consult is not None and consult.active and uniqueid == consult.from_leg
                 and call.caller_leg in call.legs)
    if completed:
        call.moving = "consult"
    return completed


def leg_gone(s: TrackerState, call: Call, consult: Consult, uniqueid: str, completed: bool,
             at: float) -> list[CallEvent]:
    """A leg went during a consult: the consult may be over, and how."""
    if completed:
        out: list[CallEvent] = []
        if consult.target_leg in call.legs:  # the colleague has the call now
            call.direct_agents.pop(consult.target_leg, None)
            call.agent_interface, call.agent_leg = consult.target_interface, consult.target_leg
            call.moving = ""
            out.append(CallAnswered(call, consult.target_interface, consult.target_leg, at))
        return out + over(s, call, "completed", at)
    if uniqueid == call.caller_leg:  # the customer left: agent and colleague go on as a plain call
        return over(s, call, "caller_gone", at)
    # consult -> conference: the consult's party went to the room, the rest of its legs is what ends
    left = {u for u in consult.legs & call.legs if not ((leg := s.legs.get(u)) and leg.room)}
    if uniqueid in consult.legs and not left:
        outcome = ("cancelled" if consult.cancel_requested else
                   "target_hung_up" if consult.answered_at is not None else "no_answer")
        return over(s, call, outcome, at)
    return []


def adopt(s: TrackerState, call: Call, caller: ev.ChannelSnapshot | None, legs: list[ev.ChannelSnapshot],
          now: float) -> list[CallEvent]:
    """A consult (Atxfer) seen in a snapshot: legs that came meanwhile, a colleague who answered
    meanwhile; after a restart of the server, the consult itself (the agent's leg bridged with the
    Local channel Asterisk made for it, the customer waiting in the original bridge)."""
    out: list[CallEvent] = []
    if call.consult is None and caller is not None and not call.agent_leg:
        for c in legs:
            local = next((o for o in legs if o.channel.startswith("Local/") and o.channel.endswith(";1")
                          and c.bridge_id and o.bridge_id == c.bridge_id), None)
            interface = ev.endpoint_of(c.channel)
            if (local is None or not s.is_agent(interface) or c.state != UP or c.application != "AppQueue"
                    or c.bridge_id == caller.bridge_id):
                continue
            call.answered_at = call.answered_at or now - c.duration
            call.agent_interface, call.agent_leg = interface, c.uniqueid
            out.append(CallAnswered(call, interface, c.uniqueid, now))
            call.consult = consult_via(local.channel, interface, c.uniqueid, "", now - local.duration)
            break
    consult = call.consult
    if consult is None or not consult.active:
        return out
    for c in legs:
        if c.uniqueid in (call.caller_leg, consult.from_leg):
            continue
        consult.legs.add(c.uniqueid)
        if c.state == UP and not c.channel.startswith("Local/"):
            out += leg_up(s, call, s.legs[c.uniqueid], now)
    return out
