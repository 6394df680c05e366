"""Builds calls from typed AMI events, in order, and says what happened to them.

``apply`` takes one event and returns the domain events it caused. ``resync``
reconciles the tracker with a fresh ``CoreShowChannels``/``QueueStatus``
answer after a (re)login: nothing is replayed by Asterisk after a reconnect, so
calls that ended meanwhile are closed and calls that began are adopted.
"""

from __future__ import annotations

from typing import Callable, Iterable

from ctiserver.ami import events as ev
from ctiserver.calls.model import (AGENT_WAIT_CONTEXT, CONFERENCE_CONTEXT, HOLD_CONTEXT, AgentBusyDirect,
                                   AgentLegEnded, Call, ConferenceJoined, ConferenceLeft, ConferenceReady,
                                   CallAnswered, CallEnded, CallerChanged, CallEvent, AgentLegHeld, CallIdentified, CustomerHeld,
                                   CallQueued, CallRingEnded, CallRinging, CallStarted, Consult, ConsultEnded,
                                   ConsultAnswered, ConsultStarted,
                                   HeldPartyGone, Leg, room_name)

# AMI hangup cause 17: user busy, what a softphone's decline (SIP 486) gives.
CAUSE_USER_BUSY = 17
RINGING = 5
UP = 6


def _atxfer_local(channel: str) -> bool:
    """The first half of the Local pair an attended transfer dials through (``Local/<exten>@<context>-…;1``)."""
    return channel.startswith("Local/") and channel.endswith(";1") and "@" in channel


def _consult_via(local: str, interface: str, leg: str, by: str, since: float) -> Consult:
    """The consult an Atxfer's Local channel stands for: a colleague (``agents``) or an external number."""
    exten, _, context = local[len("Local/"):].rpartition("-")[0].partition("@")
    return Consult("agent" if context == "agents" else "external", exten, interface, leg, by, since)


class CallTracker:
    """Live calls keyed by linkedid, legs by uniqueid."""

    def __init__(self, is_agent_endpoint: Callable[[str], bool]) -> None:
        self.legs: dict[str, Leg] = {}
        self.calls: dict[str, Call] = {}
        self._is_agent = is_agent_endpoint
        # Linkedid of channels the server Originates into a call (a conference participant) -> the call's
        self.alias: dict[str, str] = {}
        self.rooms: dict[str, str] = {}  # conference room -> linkedid of the call it was made for

    def join(self, linkedid: str, call: Call) -> None:
        """Channels Asterisk will create with ``linkedid`` (an Originate's ChannelId) belong to ``call``."""
        self.alias[linkedid] = call.linkedid

    def _call(self, linkedid: str) -> Call | None:
        return self.calls.get(self.alias.get(linkedid, linkedid))

    # -- events ----------------------------------------------------------

    def apply(self, e: object) -> list[CallEvent]:
        """Fold one typed AMI event in; return the call events it caused."""
        handler = self._handlers.get(type(e))
        return handler(self, e) if handler else []

    def _created(self, e: ev.ChannelCreated) -> list[CallEvent]:
        linkedid = self.alias.get(e.linkedid, e.linkedid)
        if linkedid not in self.calls:  # the call it was brought into ended first: a call of its own
            linkedid = e.linkedid
        leg = Leg(e.uniqueid, linkedid, e.channel, ev.endpoint_of(e.channel), e.state, exten=e.exten)
        self.legs[e.uniqueid] = leg
        call = self.calls.get(linkedid)
        out: list[CallEvent] = []
        if call is None:
            call = Call(linkedid, e.at, caller_num=e.caller_num, caller_name=e.caller_name,
                        caller_leg=e.uniqueid,
                        direction="outbound" if self._is_agent(leg.endpoint) else "inbound")
            self.calls[linkedid] = call
            out.append(CallStarted(call, e.at))
        call.legs.add(e.uniqueid)
        if linkedid != e.linkedid:  # a party the server Originated into this call (a conference participant)
            call.conference.guests.add(e.uniqueid)
        if call.consulting and e.uniqueid not in (call.caller_leg, call.consult.from_leg):  # type: ignore[union-attr]
            call.consult.legs.add(e.uniqueid)  # type: ignore[union-attr]  # the Atxfer's Local pair, the colleague
        elif (call.consult is None or not call.consult.active) and call.hold.by_phone and _atxfer_local(e.channel):
            out += self._phone_consult(call, e.uniqueid, e.channel, e.at)
        return out

    def _phone_consult(self, call: Call, uniqueid: str, channel: str, at: float) -> list[CallEvent]:
        """An Atxfer nobody asked the server for (trace 08 B): the agent's phone 'held' the customer, then
        Asterisk made the consult's Local pair. The agent is consulting, not holding."""
        interface, agent_leg = call.hold.agent_interface, call.hold.agent_leg
        call.consult = _consult_via(channel, interface, agent_leg, "phone", call.hold.since or at)
        call.consult.legs.add(uniqueid)
        call.hold.withdraw()
        return [AgentLegHeld(call, interface, agent_leg, False, at), ConsultStarted(call, call.consult, at)]

    def _caller_id(self, e: ev.CallerIdSet) -> list[CallEvent]:
        """An inbound caller's number or name set anew (the dialplan normalising it): the pop, the
        customer lookup and the work order follow. Other legs' caller ids (Local halves, an
        Originate's CallerID on the agent's phone) describe the far end, not the caller."""
        call = self._call(e.linkedid)
        if call is None or e.uniqueid != call.caller_leg or call.direction != "inbound":
            return []
        previous = (call.caller_num, call.caller_name)
        if previous == (e.caller_num, e.caller_name):
            return []
        call.caller_num, call.caller_name = e.caller_num, e.caller_name
        return [CallerChanged(call, previous, e.at)]

    def _state(self, e: ev.ChannelStateChanged) -> list[CallEvent]:
        leg = self.legs.get(e.uniqueid)
        if leg is None:
            return []
        leg.state = e.state
        if e.connected_num or e.connected_name:
            leg.connected = (e.connected_num, e.connected_name)
        call = self.calls.get(leg.linkedid)
        if call is None:
            return []
        if leg.uniqueid in call.conference.guests:
            return self._guest_up(call, leg, e.at) if e.state == UP else []
        consult = call.consult
        if consult is not None and consult.active and leg.uniqueid in consult.legs and e.state == UP:
            return self._consult_up(call, leg, e.at)
        if (e.state == RINGING and self._is_agent(leg.endpoint) and call.answered_at is not None
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
            return self._new_agent(call, leg.endpoint, leg.uniqueid, e.at)
        if not self._is_agent(leg.endpoint):
            if call.direct_agents and call.answered_at is None:
                call.answered_at = e.at  # the external party of an agent's dial-out answered
            return []
        return self._direct_agent(call, leg, e.at)

    def _guest_up(self, call: Call, leg: Leg, at: float) -> list[CallEvent]:
        """An agent the server brought into the call (conference) answered: on this call, not its owner."""
        if not self._is_agent(leg.endpoint) or leg.uniqueid in call.direct_agents:
            return []
        call.direct_agents[leg.uniqueid] = leg.endpoint
        return [AgentBusyDirect(call, leg.endpoint, leg.uniqueid, (call.caller_num, call.caller_name), at)]

    def _consult_up(self, call: Call, leg: Leg, at: float) -> list[CallEvent]:
        """A leg of the consult answered: the colleague (or the external number) talks with the agent."""
        consult = call.consult
        assert consult is not None
        out: list[CallEvent] = []
        if consult.answered_at is None and not leg.channel.startswith("Local/"):
            consult.answered_at = at  # the colleague's phone or the external number (not the Local pair itself)
            if consult.kind == "external":
                leg.external_number = consult.target
            out.append(ConsultAnswered(call, consult, at))
        if not self._is_agent(leg.endpoint) or leg.uniqueid in call.direct_agents:
            return out
        call.ringing.pop(leg.uniqueid, None)
        call.direct_ringing.discard(leg.uniqueid)
        consult.target_interface, consult.target_leg = leg.endpoint, leg.uniqueid
        call.direct_agents[leg.uniqueid] = leg.endpoint  # busy on this call, not (yet) the one who has it
        peer = leg.connected if leg.connected != ("", "") else (call.caller_num, call.caller_name)
        return [AgentBusyDirect(call, leg.endpoint, leg.uniqueid, peer, at), *out]

    def _consult_over(self, call: Call, outcome: str, at: float) -> list[CallEvent]:
        consult = call.consult
        assert consult is not None
        consult.outcome = "conference" if call.conference.pending and outcome != "caller_gone" else outcome
        return [ConsultEnded(call, consult, at), *self._merge_ready(call, at)]

    def _merge_ready(self, call: Call, at: float) -> list[CallEvent]:
        """Consult -> conference: once the agent is bridged with the customer again, both can go to the room."""
        if not call.conference.pending or call.consulting:
            return []
        customer = self.legs.get(self.customer_leg(call))
        agent = self.legs.get(call.agent_leg) if call.agent_leg in call.legs else None
        if customer is not None and agent is not None and (not customer.bridge or customer.bridge != agent.bridge):
            return []  # not together again yet
        # together again, or one of them left meanwhile: the server brings whoever is left (or lets the room go)
        room, call.conference.pending = call.conference.pending, ""
        return [ConferenceReady(call, room, at)]

    def _new_agent(self, call: Call, interface: str, leg: str, at: float) -> list[CallEvent]:
        """An agent took a call someone else had (a transfer, or the queue again after a move)."""
        if call.agent_interface and call.agent_leg != leg:
            call.previous_agents.append(call.agent_interface)
            if call.agent_leg in call.legs:  # still up (a consult before an attended transfer): it ends later
                call.former_legs[call.agent_leg] = call.agent_interface
        call.agent_interface, call.agent_leg = interface, leg
        call.hangup_by, call.moving = "", ""
        return [CallAnswered(call, interface, leg, at)]

    def _hold_over(self, call: Call, at: float) -> list[CallEvent]:
        if call.hold.since is None:
            return []
        hold = call.hold
        out: list[CallEvent] = [CustomerHeld(call, False, hold.end(at), at)]
        if hold.agent_leg in call.legs:
            out.append(AgentLegHeld(call, hold.agent_interface, hold.agent_leg, False, at))
        return out

    def _direct_agent(self, call: Call, leg: Leg, at: float) -> list[CallEvent]:
        """An agent's phone up in a call no queue gave them (a queue leg is connected by AgentConnect)."""
        if (not self._is_agent(leg.endpoint) or leg.uniqueid in call.ringing or leg.uniqueid == call.agent_leg
                or leg.uniqueid in call.direct_agents or call.queued_at is not None):
            return []
        call.direct_agents[leg.uniqueid] = leg.endpoint
        far_up = any(l.state == UP for u in call.legs if u != leg.uniqueid and (l := self.legs.get(u)))
        if call.answered_at is None and (leg.uniqueid != call.caller_leg or far_up):
            call.answered_at = at  # a direct call the agent answered, or an outbound one already answered
        if leg.connected != ("", ""):
            peer = leg.connected
        elif leg.uniqueid == call.caller_leg:  # the agent dialled out: the peer is what they dialled
            peer = (leg.exten if leg.exten not in ("", "s") else "", "")
        else:
            peer = (call.caller_num, call.caller_name)
        return [AgentBusyDirect(call, leg.endpoint, leg.uniqueid, peer, at)]

    def _hold(self, e: ev.ChannelHold) -> list[CallEvent]:
        leg = self.legs.get(e.uniqueid)
        call = self._call(e.linkedid)
        if leg is None or call is None or not self._is_agent(leg.endpoint):
            return []
        if leg.uniqueid != call.agent_leg and leg.uniqueid not in call.direct_agents:
            return []
        if leg.uniqueid in call.conference.guests:  # a conference participant's own hold holds nobody else
            return [AgentLegHeld(call, leg.endpoint, leg.uniqueid, e.held, e.at)]
        if e.held and call.consulting and leg.uniqueid == call.consult.from_leg:  # type: ignore[union-attr]
            return []  # the Atxfer's own Hold (trace 08 B): the agent consults, still on the call
        if (not e.held and call.consulting and leg.uniqueid == call.consult.from_leg  # type: ignore[union-attr]
                and not (call.consult.legs & call.legs)):  # type: ignore[union-attr]
            return self._consult_over(call, "failed", e.at)  # Asterisk found no such extension: back to the call
        if e.held and call.hold.since is None:  # the phone's own hold counts on the work order too
            call.hold.start(e.at, self.customer_leg(call), leg.endpoint, leg.uniqueid, by_phone=True)
            return [CustomerHeld(call, True, 0.0, e.at), AgentLegHeld(call, leg.endpoint, leg.uniqueid, True, e.at)]
        if not e.held and call.hold.since is not None and call.hold.by_phone:
            return self._hold_over(call, e.at)
        return [AgentLegHeld(call, leg.endpoint, leg.uniqueid, e.held, e.at)]

    def _caller_call(self, e: ev.ChannelEvent) -> Call | None:
        call = self._call(e.linkedid)
        return call if call and call.caller_leg == e.uniqueid else None

    def _dtmf(self, e: ev.DtmfReceived) -> list[CallEvent]:
        call = self._caller_call(e)
        # Digits pressed before queueing are menu choices, unless our IVR reports them itself
        # (it leaves PIN digits out, which a DTMF trace cannot).
        if call and call.queued_at is None and not call.ivr_reported:
            call.ivr_keys.append(e.digit)
        return []

    def customer_leg(self, call: Call) -> str:
        """The customer's leg: the caller of an inbound call, the far end of an agent's outbound call."""
        if call.direction == "inbound":
            return call.caller_leg if call.caller_leg in call.legs else ""
        return next((u for u in sorted(call.legs) if (leg := self.legs.get(u)) is not None
                     and not self._is_agent(leg.endpoint)), "")

    def agent_leg(self, call: Call) -> tuple[str, str]:
        """(interface, leg) of the agent on the call: the answering agent's, or the agent's own outbound leg."""
        if call.agent_leg and call.agent_leg in call.legs:
            return call.agent_interface, call.agent_leg
        return next(((i, leg) for leg, i in call.direct_agents.items() if leg in call.legs), ("", ""))

    # -- intents: what a command is about to ask Asterisk for ---------------------------
    # A command records its intent here just before it sends the action (Asterisk's events of
    # it may arrive before the action's reply) and takes it back if the action fails; only the
    # tracker changes a Call.

    def intend_move(self, call: Call, kind: str) -> str:
        """The customer is being moved away (transfer, ivr, requeue); returns the intent it replaces."""
        previous, call.moving = call.moving, kind
        return previous

    def drop_move(self, call: Call, previous: str) -> None:
        call.moving = previous

    def intend_ivr_return(self, call: Call) -> tuple[list[str], str]:
        """Back to the IVR: what the IVR reports next adds to what the call already has."""
        previous = call.ivr_base
        call.ivr_base = (list(call.ivr_path), call.ivr_keys_text)
        return previous

    def drop_ivr_return(self, call: Call, previous: tuple[list[str], str]) -> None:
        call.ivr_base = previous

    def intend_consult(self, call: Call, consult: Consult) -> None:
        """The legs Asterisk creates from now on are this consult's."""
        call.consult = consult

    def drop_consult(self, call: Call) -> None:
        call.consult = None

    def intend_consult_cancel(self, call: Call, requested: bool = True) -> None:
        if call.consult is not None:
            call.consult.cancel_requested = requested

    def intend_room(self, call: Call, room: str, *, pending: bool = False, guest: str = "") -> None:
        """The call becomes a conference in ``room`` (``pending``: once its consult party is there)."""
        if pending:
            call.conference.pending = room
        else:
            call.conference.room = room
        self.rooms[room] = call.linkedid
        if guest:
            call.conference.guests.add(guest)

    def drop_room(self, call: Call, room: str, *, guest: str = "") -> None:
        """Nobody got to the room: not a conference after all."""
        if call.conference.pending == room:
            call.conference.pending = ""
        if call.conference.room == room and not any(leg.room == room for leg in self.legs.values()):
            call.conference.room = ""
            self.rooms.pop(room, None)
        if guest:
            call.conference.guests.discard(guest)

    def join_room(self, call: Call, room: str) -> None:
        """Consult -> conference: the customer and the agent follow the consulted party into the room."""
        call.conference.room = room

    def intend_hangup(self, call: Call, by: str) -> str:
        """Who is ending the call (agent / supervisor), unless already known; returns what it was."""
        previous = call.hangup_by
        if not call.hangup_by:
            call.hangup_by = by
        return previous

    def drop_hangup(self, call: Call, previous: str) -> None:
        call.hangup_by = previous

    def intend_takeover(self, call: Call, interface: str) -> None:
        """A supervisor took the customer over (intercept): the rest of the call is theirs."""
        if call.agent_interface and call.agent_interface != interface:
            call.previous_agents.append(call.agent_interface)
        call.agent_interface, call.agent_leg = interface, ""

    def room_call(self, room: str) -> Call | None:
        """The call a conference room was made for."""
        return self.calls.get(self.rooms.get(room, ""))

    def forget_room(self, room: str) -> None:
        self.rooms.pop(room, None)

    def _step(self, e: ev.DialplanStep) -> list[CallEvent]:
        call = self._call(e.linkedid)
        if call is None:
            return []
        out: list[CallEvent] = []
        step_leg = self.legs.get(e.uniqueid)
        if step_leg is not None:
            room = e.exten if e.context == CONFERENCE_CONTEXT else ""
            if step_leg.room and room != step_leg.room:  # moved on (kicked members go on to Hangup())
                out.append(ConferenceLeft(call, step_leg.room, step_leg.uniqueid, e.at))
            if room and room != step_leg.room:
                out.append(ConferenceJoined(call, room, step_leg.uniqueid, e.at))
            step_leg.room = room
        return out + self._step_call(call, e)

    def _step_call(self, call: Call, e: ev.DialplanStep) -> list[CallEvent]:
        # A hold starts where the Redirect lands: hold,s,1. A later priority of `hold` is the customer
        # coming back after an AMI Bridge ended (Asterisk's after-bridge goto), not a new hold.
        if (call.hold.since is None and e.context == HOLD_CONTEXT and e.priority == 1
                and e.uniqueid == self.customer_leg(call)):
            interface, leg = self.agent_leg(call)
            if leg:  # the panel's hold: the customer was redirected to music on hold, the agent's leg waits
                call.hold.start(e.at, e.uniqueid, interface, leg)
                return [CustomerHeld(call, True, 0.0, e.at), AgentLegHeld(call, interface, leg, True, e.at)]
        if call.hold.since is not None and e.context != HOLD_CONTEXT and e.uniqueid == call.hold.customer_leg:
            return self._hold_over(call, e.at)  # sent on from hold (a transfer, the IVR, the queue)
        if call.caller_leg != e.uniqueid:
            return []
        if call.queued_at is None and not call.ivr_reported:
            node = f"{e.context}/{e.exten}"
            if not call.ivr_path or call.ivr_path[-1] != node:
                call.ivr_path.append(node)
        return []

    def _varset(self, e: ev.VariableSet) -> list[CallEvent]:
        call = self._caller_call(e)
        if call is None:
            return []
        name = e.variable.upper()
        if name == "CTI_IVR_KEYS":  # after a return to the IVR, what it reports adds to what was there
            call.ivr_keys, call.ivr_reported = list(call.ivr_base[1] + e.value), True
        elif name == "CTI_IVR_PATH":
            call.ivr_path, call.ivr_reported = call.ivr_base[0] + [p for p in e.value.split(",") if p], True
        elif name == "CTI_CUSTOMER_NO":
            call.customer_no = e.value
        elif name == "CTI_AUTHENTICATED":
            call.authenticated = e.value.strip().lower() in ("yes", "1")
            if call.authenticated and call.customer_no:
                return [CallIdentified(call, e.at)]
        elif name == "QUEUESTATUS":
            call.queue_status = e.value
        return []

    def _joined(self, e: ev.CallerJoinedQueue) -> list[CallEvent]:
        call = self._call(e.linkedid)
        if call is None:
            return []
        call.queue = e.queue
        if call.queued_at is None:
            call.queued_at = e.at
        return [CallQueued(call, e.at)]

    def _abandoned(self, e: ev.CallerAbandoned) -> list[CallEvent]:
        call = self._call(e.linkedid)
        if call:
            call.abandoned = True
        return []

    def _agent_called(self, e: ev.AgentCalled) -> list[CallEvent]:
        call = self._call(e.linkedid)
        if call is None or e.dest_uniqueid in call.ringing:
            return []
        if e.dest_uniqueid not in self.legs:  # Newchannel not seen (link came up mid-dial)
            self.legs[e.dest_uniqueid] = Leg(e.dest_uniqueid, e.linkedid, e.dest_channel,
                                             ev.endpoint_of(e.dest_channel), RINGING)
            call.legs.add(e.dest_uniqueid)
        call.ringing[e.dest_uniqueid] = e.interface
        return [CallRinging(call, e.interface, e.dest_uniqueid, e.at)]

    def _connected(self, e: ev.AgentConnected) -> list[CallEvent]:
        call = self._call(e.linkedid)
        if call is None:
            return []
        call.ringing.pop(e.dest_uniqueid, None)
        if call.answered_at is None:
            call.answered_at = e.at
        if call.agent_interface or call.previous_agents:  # answered again after a move (08 C)
            return self._new_agent(call, e.interface, e.dest_uniqueid, e.at)
        call.agent_interface, call.agent_leg = e.interface, e.dest_uniqueid
        return [CallAnswered(call, e.interface, e.dest_uniqueid, e.at)]

    def _hangup_request(self, e: ev.HangupRequested) -> list[CallEvent]:
        call = self._call(e.linkedid)
        if call and call.answered_at is not None and not call.hangup_by:
            if e.uniqueid == call.agent_leg:
                call.hangup_by = "agent"
            elif e.uniqueid == call.caller_leg:
                call.hangup_by = "caller"
        return []

    def _bridge(self, e: ev.BridgeEntered | ev.BridgeLeft) -> list[CallEvent]:
        leg = self.legs.get(e.uniqueid)
        if leg:
            leg.bridge = e.bridge_id if isinstance(e, ev.BridgeEntered) else ""
        call = self._call(e.linkedid)
        if call is None or not isinstance(e, ev.BridgeEntered):
            return []
        if call.hold.since is not None and e.uniqueid == call.hold.customer_leg:
            return self._hold_over(call, e.at)  # retrieve: the customer is bridged again
        return self._merge_ready(call, e.at)

    def _hungup(self, e: ev.ChannelHungUp) -> list[CallEvent]:
        leg = self.legs.pop(e.uniqueid, None)
        call = self._call(e.linkedid)
        if call is None or e.uniqueid not in call.legs:
            return []
        return self._left_room(call, leg, e.uniqueid, e.at) + self._leg_gone(call, e.uniqueid, e.at, e.cause)

    @staticmethod
    def _left_room(call: Call, leg: Leg | None, uniqueid: str, at: float) -> list[CallEvent]:
        """A leg in a conference room is gone. So is the customer of a conference call who never got into
        the room (hung up during the move): either way whoever waits there must not be left alone."""
        room = (leg.room if leg else "") or (call.conference.room if uniqueid == call.caller_leg else "")
        return [ConferenceLeft(call, room, uniqueid, at)] if room else []

    def _leg_gone(self, call: Call, uniqueid: str, at: float, cause: int) -> list[CallEvent]:
        call.legs.discard(uniqueid)
        call.conference.guests.discard(uniqueid)
        out: list[CallEvent] = []
        if call.conference.pending and not call.consulting and uniqueid in (call.caller_leg, call.agent_leg):
            out += self._merge_ready(call, at)  # consult -> conference: one of the two left before the move
        consult = call.consult if call.consulting else None
        completed = consult is not None and uniqueid == consult.from_leg and call.caller_leg in call.legs
        if completed:
            call.moving = "consult"  # the consulting agent hung up: Asterisk gives the customer to the colleague
        if uniqueid in call.ringing:
            interface = call.ringing.pop(uniqueid)
            direct = uniqueid in call.direct_ringing
            call.direct_ringing.discard(uniqueid)
            if cause == CAUSE_USER_BUSY:
                why = "declined"
            elif call.answered_at is not None and not direct:
                why = "answered_elsewhere"
            elif call.abandoned or call.caller_leg not in call.legs:
                why = "caller_gone"
            else:
                why = "no_answer"
            out.append(CallRingEnded(call, interface, uniqueid, why, at))
        who = call.hold.side_of(uniqueid)
        if call.hold.since is not None and who:
            by_phone = call.hold.by_phone
            if who == "caller" or by_phone:
                out += self._hold_over(call, at)
            if not call.hangup_by and call.answered_at is not None:
                call.hangup_by = who
            if call.legs and not by_phone:  # a phone's hold is still a bridge: Asterisk ends both legs itself
                out.append(HeldPartyGone(call, who, at))
        elif (call.hold.since is None and call.hold.count and not call.hold.by_phone and not call.moving and who
              and ({call.hold.customer_leg, call.hold.agent_leg} - {uniqueid}) & call.legs):
            if not call.hangup_by and call.answered_at is not None:
                call.hangup_by = who
            out.append(HeldPartyGone(call, who, at, retrieved=True))
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
        if consult is not None:
            out += self._consult_leg_gone(call, consult, uniqueid, completed, at)
        if not call.legs:
            if call.hold.since is not None:
                out += self._hold_over(call, at)
            call.ended_at = at
            del self.calls[call.linkedid]
            self._forget(call.linkedid)
            out.append(CallEnded(call, at))
        return out

    def _forget(self, linkedid: str) -> None:
        for mapping in (self.alias, self.rooms):
            for key in [k for k, v in mapping.items() if v == linkedid]:
                del mapping[key]

    def _consult_leg_gone(self, call: Call, consult, uniqueid: str, completed: bool,
                          at: float) -> list[CallEvent]:
        """A leg went during a consult: the consult may be over, and how."""
        if completed:
            out: list[CallEvent] = []
            if consult.target_leg in call.legs:  # the colleague has the call now
                call.direct_agents.pop(consult.target_leg, None)
                call.agent_interface, call.agent_leg = consult.target_interface, consult.target_leg
                call.moving = ""
                out.append(CallAnswered(call, consult.target_interface, consult.target_leg, at))
            return out + self._consult_over(call, "completed", at)
        if uniqueid == call.caller_leg:  # the customer left: agent and colleague go on as a plain call
            return self._consult_over(call, "caller_gone", at)
        # consult -> conference: the consult's party went to the room, the rest of its legs is what ends
        left = {u for u in consult.legs & call.legs if not ((leg := self.legs.get(u)) and leg.room)}
        if uniqueid in consult.legs and not left:
            outcome = ("cancelled" if consult.cancel_requested else
                       "target_hung_up" if consult.answered_at is not None else "no_answer")
            return self._consult_over(call, outcome, at)
        return []

    _handlers: dict[type, Callable[["CallTracker", object], list[CallEvent]]] = {
        ev.ChannelCreated: _created,
        ev.ChannelStateChanged: _state,
        ev.CallerIdSet: _caller_id,
        ev.ChannelHold: _hold,
        ev.DtmfReceived: _dtmf,
        ev.DialplanStep: _step,
        ev.VariableSet: _varset,
        ev.CallerJoinedQueue: _joined,
        ev.CallerAbandoned: _abandoned,
        ev.AgentCalled: _agent_called,
        ev.AgentConnected: _connected,
        ev.HangupRequested: _hangup_request,
        ev.BridgeEntered: _bridge,
        ev.BridgeLeft: _bridge,
        ev.ChannelHungUp: _hungup,
    }

    # -- resync ------------------------------------------------------------

    def resync(self, channels: Iterable[ev.ChannelSnapshot], entries: Iterable[ev.QueueEntrySnapshot],
               now: float) -> list[CallEvent]:
        """Reconcile with what Asterisk says is up now; return the call events that implies."""
        snap = {c.uniqueid: c for c in channels}
        waits = {q.uniqueid: q for q in entries}
        out: list[CallEvent] = []
        # Legs that vanished while we were not looking.
        for call in list(self.calls.values()):
            for uid in sorted(call.legs - snap.keys()):
                out += self._left_room(call, self.legs.pop(uid, None), uid, now)
                out += self._leg_gone(call, uid, now, 0)
        # Conference rooms are named after their call: members with a linkedid of their own (the
        # parties the server Originated in) belong to that call, also after a restart of the server.
        members = [(c, room) for c in snap.values() if (room := self._room_of(c))]
        for c, room in members:
            if c.linkedid and room_name(c.linkedid) == room:
                self.rooms.setdefault(room, c.linkedid)
        for c, room in members:
            owner = self.rooms.get(room)
            if owner and c.linkedid and c.linkedid != owner:
                self.alias.setdefault(c.linkedid, owner)
        by_call: dict[str, list[ev.ChannelSnapshot]] = {}
        for c in snap.values():
            linkedid = c.linkedid or c.uniqueid
            by_call.setdefault(self.alias.get(linkedid, linkedid), []).append(c)
        for linkedid, legs in by_call.items():
            out += self._adopt(linkedid, legs, waits, now)
        return out

    @staticmethod
    def _room_of(c: ev.ChannelSnapshot) -> str:
        """The CTI conference room a channel is in (cti-conference,<room> / ConfBridge(<room>,...)), or ''."""
        if c.context == CONFERENCE_CONTEXT and c.exten not in ("", "s"):
            return c.exten
        if c.application == "ConfBridge" and c.appdata.startswith("cti"):
            return c.appdata.split(",", 1)[0]
        return ""

    def _adopt(self, linkedid: str, legs: list[ev.ChannelSnapshot], waits: dict[str, ev.QueueEntrySnapshot],
               now: float) -> list[CallEvent]:
        out: list[CallEvent] = []
        call = self.calls.get(linkedid)
        first = next((c for c in legs if c.uniqueid == linkedid), None) or max(legs, key=lambda c: c.duration)
        if call is None:
            endpoint = ev.endpoint_of(first.channel)
            call = Call(linkedid, now - max(c.duration for c in legs), caller_num=first.caller_num,
                        caller_name=first.caller_name, caller_leg=first.uniqueid, resynced=True,
                        direction="outbound" if self._is_agent(endpoint) else "inbound")
            self.calls[linkedid] = call
            out.append(CallStarted(call, now))
        for c in legs:
            if c.uniqueid not in self.legs:
                self.legs[c.uniqueid] = Leg(c.uniqueid, linkedid, c.channel, ev.endpoint_of(c.channel), c.state,
                                            c.bridge_id)
            call.legs.add(c.uniqueid)
            if (c.linkedid or c.uniqueid) != linkedid:
                call.conference.guests.add(c.uniqueid)
            leg = self.legs[c.uniqueid]
            leg.state, leg.bridge = c.state, c.bridge_id
            room = self._room_of(c)
            if leg.room != room:  # joined or left a conference room while the link was down
                if leg.room:
                    out.append(ConferenceLeft(call, leg.room, leg.uniqueid, now))
                if room:
                    out.append(ConferenceJoined(call, room, leg.uniqueid, now))
                leg.room = room
            if room and room == room_name(linkedid):
                call.conference.room = room
        caller = next((c for c in legs if c.uniqueid == call.caller_leg), None)
        if caller and caller.application == "Queue" and not call.queue:
            call.queue = caller.appdata.split(",", 1)[0]
            wait = waits.get(caller.uniqueid)
            call.queued_at = now - (wait.wait if wait else caller.duration)
            out.append(CallQueued(call, now))
        out += self._adopt_consult(call, caller, legs, now)
        for c in legs:
            if c.uniqueid == call.caller_leg:
                continue
            interface = ev.endpoint_of(c.channel)
            if c.uniqueid in call.conference.guests or (call.consulting and c.uniqueid in call.consult.legs):  # type: ignore[union-attr]
                if c.state == UP and c.uniqueid in call.conference.guests:
                    out += self._guest_up(call, self.legs[c.uniqueid], now)
                continue
            bridged = caller is not None and c.bridge_id and c.bridge_id == caller.bridge_id
            # an agent's leg held by the panel (agent-wait) or bridged back by retrieve (no AppQueue any more)
            waiting = self._is_agent(interface) and c.context == AGENT_WAIT_CONTEXT
            moved = self._is_agent(interface) and bool(bridged) and call.queued_at is not None
            # a transfer's Dial ringing an agent's phone in an answered call
            dialled = (self._is_agent(interface) and c.application == "AppDial" and call.answered_at is not None
                       and call.queued_at is not None)
            if c.application != "AppQueue" and not waiting and not moved and not dialled:
                continue
            if waiting and call.agent_leg != c.uniqueid:
                call.answered_at = call.answered_at or now - c.duration
                call.agent_interface, call.agent_leg = interface, c.uniqueid
                out.append(CallAnswered(call, interface, c.uniqueid, now))
            elif bridged and call.agent_leg != c.uniqueid:
                call.ringing.pop(c.uniqueid, None)
                call.direct_ringing.discard(c.uniqueid)
                call.answered_at = call.answered_at or now - c.duration
                if call.agent_interface or call.previous_agents:  # someone else had it: a move happened meanwhile
                    out += self._new_agent(call, interface, c.uniqueid, now)
                    continue
                call.agent_interface, call.agent_leg = interface, c.uniqueid
                out.append(CallAnswered(call, interface, c.uniqueid, now))
            elif not bridged and c.state == RINGING and c.uniqueid not in call.ringing:
                call.ringing[c.uniqueid] = interface
                if c.application != "AppQueue":
                    call.direct_ringing.add(c.uniqueid)
                out.append(CallRinging(call, interface, c.uniqueid, now))
        if (caller is not None and caller.context == HOLD_CONTEXT and call.hold.since is None
                and call.agent_leg in call.legs):
            # counted once at least: the snapshot cannot tell whether the holds already counted include it
            hold = call.hold
            hold.since, hold.count = now, max(hold.count, 1)
            hold.customer_leg, hold.agent_interface, hold.agent_leg = caller.uniqueid, call.agent_interface, call.agent_leg
            out += [CustomerHeld(call, True, 0.0, now), AgentLegHeld(call, call.agent_interface, call.agent_leg, True, now)]
        elif caller is not None and caller.context != HOLD_CONTEXT and call.hold.since is not None:
            out += self._hold_over(call, now)
        for c in legs:
            if c.application != "AppQueue" and c.state == UP and c.uniqueid not in call.conference.guests:
                out += self._direct_agent(call, self.legs[c.uniqueid], now)
        return out

    def _adopt_consult(self, call: Call, caller: ev.ChannelSnapshot | None, legs: list[ev.ChannelSnapshot],
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
                if (local is None or not self._is_agent(interface) or c.state != UP or c.application != "AppQueue"
                        or c.bridge_id == caller.bridge_id):
                    continue
                call.answered_at = call.answered_at or now - c.duration
                call.agent_interface, call.agent_leg = interface, c.uniqueid
                out.append(CallAnswered(call, interface, c.uniqueid, now))
                call.consult = _consult_via(local.channel, interface, c.uniqueid, "", now - local.duration)
                break
        consult = call.consult
        if consult is None or not consult.active:
            return out
        for c in legs:
            if c.uniqueid in (call.caller_leg, consult.from_leg):
                continue
            consult.legs.add(c.uniqueid)
            if c.state == UP and not c.channel.startswith("Local/"):
                out += self._consult_up(call, self.legs[c.uniqueid], now)
        return out
