"""What the panels are told of each call event.

:meth:`CallNotifier.pushes` maps one call event to its pushes, ``(type, data, audience)``,
as ``workorders.projection.ops_for`` maps it to work-order ops:

- the rung agent alone gets the screen-pop (``call_ringing``), then its refreshes
  (``pop_update``: answered, held, consult, conference, customer found);
- supervisors get ``call_update``, always the call's one-line view (``views.call_view``),
  once per event;
- ``call_ended`` goes to every agent who got the pop, the last agent and supervisors; an agent
  rung without answering, or the agent a call was moved away from, gets it at once.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol

from ctiserver.calls import model as cm
from ctiserver.calls.views import AgentIds, build_pop, call_view
from ctiserver.push.hub import SUPERVISORS, Audience, Publisher
from ctiserver.workorders.projection import final_agent, ref_for

POP_UPDATE = "pop_update"

Push = tuple[str, dict, Audience]


class Directory(Protocol):
    """Who an interface is, and which agent ids every interface stands for."""

    def agent_of(self, interface: str) -> str: ...
    def agent_ids(self) -> AgentIds: ...


# Events whose only news is the call's new state: the agent on it and supervisors see it.
_CALL_CHANGED = (cm.CustomerHeld, cm.ConsultStarted, cm.ConsultAnswered, cm.ConferenceReady)


class CallNotifier:
    """Pushes call events to panels; remembers who got which pop (so each hears how it ends)."""

    def __init__(self, hub: Publisher, directory: Directory, customers: Callable[[str], dict | None],
                 room_call: Callable[[str], cm.Call | None], hold_warning: float) -> None:
        self.hub = hub
        self.directory = directory
        self.customers = customers  # linkedid -> the customer lookup's result (None while pending)
        self.room_call = room_call  # conference room -> the call it was made for
        self.hold_warning = hold_warning
        self.popped: dict[str, set[str]] = {}  # linkedid -> agents who got its pop
        self.ring_started: dict[str, dict[str, float]] = {}  # linkedid -> agent -> when rung

    # -- events -----------------------------------------------------------------------

    def on_call_event(self, ce: object) -> None:
        for type_, data, audience in self.pushes(ce, getattr(ce, "at", None) or time.time()):
            self.hub.publish(type_, data, audience)

    def pushes(self, ce: object, now: float) -> list[Push]:
        """The pushes one call event implies (and the pops it starts or ends)."""
        agent_of = self.directory.agent_of
        match ce:
            case cm.CallRinging(call=call, interface=interface):
                agent = agent_of(interface)
                self.ring_started.setdefault(call.linkedid, {})[agent] = now
                return [*self._pop(call, agent, "call_ringing", now), self._supervisors(call, now)]
            case cm.CallRingEnded(call=call, interface=interface, why=why):
                agent = agent_of(interface)
                if not agent or call.agent_interface == interface:
                    return []
                self.popped.get(call.linkedid, set()).discard(agent)
                return [("call_ended", {"linkedid": call.linkedid, "disposition": why, "workorder_ref": _ref(call)},
                         Audience.agents({agent}))]
            case cm.CallAnswered(call=call, interface=interface):
                return [*self._pop(call, agent_of(interface), POP_UPDATE, now), self._supervisors(call, now)]
            case cm.AgentLegEnded(call=call, interface=interface):
                agent = agent_of(interface)
                if not agent or not (call.moving or (call.agent_interface and interface != call.agent_interface)):
                    return []
                # the call was moved on (transfer, IVR): it leaves this agent's panel now, not when it ends
                self.popped.get(call.linkedid, set()).discard(agent)
                return [("call_ended", {"linkedid": call.linkedid, "disposition": "moved",
                                        "moved": call.moving or "transfer", "workorder_ref": _ref(call)},
                         Audience.agents({agent}))]
            case cm.CallEnded(call=call):
                return self._ended(call)
            case cm.ConsultEnded(call=call):
                return self.call_changed(call, now) if call.ended_at is None else []
            case cm.ConferenceJoined(call=call, room=room) | cm.ConferenceLeft(call=call, room=room):
                return self.call_changed(self.room_call(room) or call, now)
            case cm.CallerChanged(call=call):  # every pop of the call shows the caller's new number
                pops = [p for agent in sorted(self.popped.get(call.linkedid, ())) for p in
                        self._pop(call, agent, POP_UPDATE, now)]
                return [*pops, self._supervisors(call, now)]
            case cm.HeldPartyGone() | cm.CallStep():
                return []
            case _ if isinstance(ce, _CALL_CHANGED):
                return self.call_changed(ce.call, now)  # type: ignore[attr-defined]
            case _ if hasattr(ce, "call"):
                return [self._supervisors(ce.call, now)]  # type: ignore[attr-defined]
        return []

    def call_changed(self, call: cm.Call, now: float | None = None) -> list[Push]:
        """The call's new state to the agent on it (their pop) and to supervisors."""
        now = time.time() if now is None else now
        agent = self.directory.agent_of(call.agent_interface) if call.agent_interface else ""
        return [*self._pop(call, agent, POP_UPDATE, now), self._supervisors(call, now)]

    def publish_call(self, call: cm.Call, now: float | None = None) -> None:
        for type_, data, audience in self.call_changed(call, now):
            self.hub.publish(type_, data, audience)

    def customer_found(self, call: cm.Call) -> None:
        """The lookup finished: every pop of the call shows the customer now."""
        now = time.time()
        for agent in sorted(self.popped.get(call.linkedid, ())):
            for type_, data, audience in self._pop(call, agent, POP_UPDATE, now):
                self.hub.publish(type_, data, audience)

    # -- views --------------------------------------------------------------------------

    def pop(self, call: cm.Call, agent: str, now: float) -> dict:
        """The screen-pop of ``call`` as ``agent`` sees it."""
        return build_pop(call, self.customers(call.linkedid), now, _ref(call),
                         self.ring_started.get(call.linkedid, {}).get(agent), self.hold_warning)

    def view(self, call: cm.Call, now: float) -> dict:
        return call_view(call, self.directory.agent_ids(), now, self.hold_warning)

    def _pop(self, call: cm.Call, agent: str, type_: str, now: float) -> list[Push]:
        if not agent:
            return []
        self.popped.setdefault(call.linkedid, set()).add(agent)
        return [(type_, self.pop(call, agent, now), Audience.agents({agent}))]

    def _supervisors(self, call: cm.Call, now: float) -> Push:
        return "call_update", self.view(call, now), SUPERVISORS

    def _ended(self, call: cm.Call) -> list[Push]:
        last = final_agent(call)  # after a move: the last agent who had the call
        agent = self.directory.agent_of(last) if last else ""
        data = {"linkedid": call.linkedid, "disposition": call.disposition, "workorder_ref": _ref(call)}
        targets = self.popped.pop(call.linkedid, set()) | ({agent} if agent else set())
        self.ring_started.pop(call.linkedid, None)
        return [("call_ended", data, Audience.agents(targets) | SUPERVISORS)]


def _ref(call: cm.Call) -> str:
    return ref_for(call.linkedid, call.started_at)
