"""The tracker's live state, and the lookups every part of the fold shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ctiserver.ami import events as ev
from ctiserver.calls.model import Call, Leg


@dataclass
class TrackerState:
    """Live calls keyed by linkedid, legs by uniqueid, and which channels belong to which call."""

    is_agent: Callable[[str], bool]  # is this endpoint an agent's phone?
    legs: dict[str, Leg] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    # Linkedid of channels the server Originates into a call (a conference participant) -> the call's
    alias: dict[str, str] = field(default_factory=dict)
    rooms: dict[str, str] = field(default_factory=dict)  # conference room -> linkedid of the call it was made for

    def call_of(self, linkedid: str) -> Call | None:
        return self.calls.get(self.alias.get(linkedid, linkedid))

    def caller_call(self, e: ev.ChannelEvent) -> Call | None:
        """The call whose caller's leg ``e`` is about, if any."""
        call = self.call_of(e.linkedid)
        return call if call and call.caller_leg == e.uniqueid else None

    def customer_leg(self, call: Call) -> str:
        """The customer's leg: the caller of an inbound call, the far end of an agent's outbound call."""
        if call.direction == "inbound":
            return call.caller_leg if call.caller_leg in call.legs else ""
        return next((u for u in sorted(call.legs) if (leg := self.legs.get(u)) is not None
                     and not self.is_agent(leg.endpoint)), "")

    def agent_leg(self, call: Call) -> tuple[str, str]:
        """(interface, leg) of the agent on the call: the answering agent's, or the agent's own outbound leg."""
        if call.agent_leg and call.agent_leg in call.legs:
            return call.agent_interface, call.agent_leg
        return next(((i, leg) for leg, i in call.direct_agents.items() if leg in call.legs), ("", ""))

    def forget(self, call: Call) -> None:
        """The call ended: no alias or room leads to it any more."""
        del self.calls[call.linkedid]
        for mapping in (self.alias, self.rooms):
            for key in [k for k, v in mapping.items() if v == call.linkedid]:
                del mapping[key]
