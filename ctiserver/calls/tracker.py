"""Builds calls from typed AMI events, in order, and says what happened to them.

``apply`` takes one event and returns the domain events it caused. ``resync``
reconciles the tracker with a fresh ``CoreShowChannels``/``QueueStatus``
answer after a (re)login: nothing is replayed by Asterisk after a reconnect, so
calls that ended meanwhile are closed and calls that began are adopted.

The folding itself lives in ``calls/tracking/``, one module per concern; this is
its one public face, and the only writer of a ``Call``: commands record what they
are about to ask Asterisk for through the ``intend_*``/``drop_*`` methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ctiserver.ami import events as ev
from ctiserver.calls.model import Call, CallEvent, Consult, Leg
from ctiserver.calls.tracking import channels, hold, ivr, resync
from ctiserver.calls.tracking.state import TrackerState


class CallTracker:
    """Live calls keyed by linkedid, legs by uniqueid."""

    def __init__(self, is_agent_endpoint: Callable[[str], bool]) -> None:
        self._s = TrackerState(is_agent_endpoint)

    @property
    def calls(self) -> dict[str, Call]:
        return self._s.calls

    @property
    def legs(self) -> dict[str, Leg]:
        return self._s.legs

    @property
    def alias(self) -> dict[str, str]:
        """Linkedid of channels the server Originates into a call (a conference participant) -> the call's."""
        return self._s.alias

    @property
    def rooms(self) -> dict[str, str]:
        """Conference room -> linkedid of the call it was made for."""
        return self._s.rooms

    def apply(self, e: object) -> list[CallEvent]:
        """Fold one typed AMI event in; return the call events it caused."""
        s = self._s
        match e:  # the most frequent first: every event the server has no use for here runs them all
            case ev.VariableSet():
                return ivr.variable_set(s, e)
            case ev.DialplanStep():
                return channels.dialplan_step(s, e)
            case ev.ChannelStateChanged():
                return channels.state_changed(s, e)
            case ev.BridgeEntered():
                return channels.bridge_entered(s, e)
            case ev.BridgeLeft():
                return channels.bridge_left(s, e)
            case ev.ChannelCreated():
                return channels.created(s, e)
            case ev.ChannelHungUp():
                return channels.hung_up(s, e)
            case ev.HangupRequested():
                return channels.hangup_requested(s, e)
            case ev.CallerIdSet():
                return channels.caller_id(s, e)
            case ev.DtmfReceived():
                return ivr.dtmf(s, e)
            case ev.ChannelHold():
                return hold.phone_hold(s, e)
            case ev.CallerJoinedQueue():
                return channels.joined_queue(s, e)
            case ev.AgentCalled():
                return channels.agent_called(s, e)
            case ev.AgentConnected():
                return channels.agent_connected(s, e)
            case ev.CallerAbandoned():
                return channels.abandoned(s, e)
            case ev.DialEnded():
                return channels.dial_ended(s, e)
        return []

    def resync(self, channels: Iterable[ev.ChannelSnapshot], entries: Iterable[ev.QueueEntrySnapshot],
               now: float) -> list[CallEvent]:
        """Reconcile with what Asterisk says is up now; return the call events that implies."""
        return resync.resync(self._s, channels, entries, now)

    # -- queries ---------------------------------------------------------------------------

    def customer_leg(self, call: Call) -> str:
        """The customer's leg: the caller of an inbound call, the far end of an agent's outbound call."""
        return self._s.customer_leg(call)

    def agent_leg(self, call: Call) -> tuple[str, str]:
        """(interface, leg) of the agent on the call: the answering agent's, or the agent's own outbound leg."""
        return self._s.agent_leg(call)

    def room_call(self, room: str) -> Call | None:
        """The call a conference room was made for."""
        return self.calls.get(self.rooms.get(room, ""))

    # -- intents: what a command is about to ask Asterisk for ---------------------------
    # A command records its intent here just before it sends the action (Asterisk's events of
    # it may arrive before the action's reply) and takes it back if the action fails; only the
    # tracker changes a Call.

    def join(self, linkedid: str, call: Call) -> None:
        """Channels Asterisk will create with ``linkedid`` (an Originate's ChannelId) belong to ``call``."""
        self.alias[linkedid] = call.linkedid

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
        conf = call.conference
        if conf.pending == room:
            conf.pending = ""
        if conf.room == room and not any(leg.room == room for leg in self.legs.values()):
            conf.room = ""
            self.rooms.pop(room, None)
        if guest:
            conf.guests.discard(guest)

    def join_room(self, call: Call, room: str) -> None:
        """Consult -> conference: the customer and the agent follow the consulted party into the room."""
        call.conference.room = room

    def forget_room(self, room: str) -> None:
        self.rooms.pop(room, None)

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
