"""The basic two-party bridge both ends of a call meet in after a move (Local optimisation, transfer).

When one party hangs up the others are hung up; order as recorded (08 B end, 14 end):
HangupRequest of the party that hung up, its BridgeLeave, the others' BridgeLeave,
BridgeDestroy, Hangups (a party running a dialplan gets SoftHangupRequest first).
"""

from __future__ import annotations

import structlog

from ..channel import Bridge, Channel, Fields, Redirected
from ..clock import wait_any
from ..engines.dialplan import Dialplan
from ..kernel.kernel import Kernel

log = structlog.get_logger(__name__)


class TalkState:
    """What a bridge owned by a talk loop carries (see Bridge.feature)."""

    def __init__(self) -> None:
        self.owned = False  # a talk loop owns the bridge (no other owner may take it)
        self.watch: list[Channel] = []  # channels the loop also waits for (an Atxfer's transferer)


async def quiet(owner: Channel | None, peer: Channel | None, complete: Fields | None) -> None:
    """A bridge owner whose parties were moved away lets go without a word (a Bridge.takeover)."""


def runs_dialplan(ch: Channel) -> bool:
    """The channel runs a dialplan of its own (an outgoing Dial/queue leg does not)."""
    return ch.app not in ("AppDial", "AppQueue", "AppDial2", "")


class Talks:
    """Talk loops: the owners of the bridges a move leaves behind."""

    def __init__(self, kernel: Kernel, dialplan: Dialplan):
        self.kernel = kernel
        self.dialplan = dialplan

    def _phone_hangup_at(self, ch: Channel) -> float | None:
        """When this PJSIP party's phone script hangs up (answer time + hangup_after_answer)."""
        kernel = self.kernel
        if ch.tech == "Local" or ch.answered is None or not ch.endpoint or ch.endpoint not in kernel.endpoints:
            return None
        phone = kernel.phone(ch.endpoint)
        if ch.scripted:  # a scripted caller hangs up by its own script
            return None
        return None if phone.hangup_after_answer is None else ch.answered + phone.hangup_after_answer

    def spawn(self, bridge: Bridge) -> None:
        """Give ``bridge`` a talk loop now (so no one else takes it meanwhile)."""
        bridge.feature(TalkState).owned = True
        self.kernel.spawn(self.run(bridge))

    async def run(self, bridge: Bridge, owner: Channel | None = None) -> None:
        """Own a basic bridge after a move: when a party hangs up, the others are hung up.

        ``owner``: the party whose task awaits this (the queue caller after an Atxfer). An AMI
        Redirect (features/moves.py) of a party takes it out (Redirected is raised for the
        owner; another party runs the dialplan where it was sent); a party left behind is hung
        up, as Asterisk does (trace 07 B).
        """
        kernel = self.kernel
        state = bridge.feature(TalkState)
        state.owned = True
        while True:
            parties = list(bridge.channels)
            hung = [p for p in parties if p.hungup.is_set()]
            takeover = bridge.takeover
            if takeover is not None and takeover is not quiet:  # a feature (Atxfer) holds the call
                watched = list(state.watch)
                if hung or any(w.hungup.is_set() for w in watched):
                    await takeover(owner, None, None)
                    return
                parties = parties + watched
            elif hung or len(parties) < 2:
                break
            times = [t for t in (self._phone_hangup_at(p) for p in parties) if t is not None]
            bridge.changed.clear()
            timeout = (min(times) - kernel.clock.now()) if times else None
            fired = await wait_any(kernel.clock, [p.hungup for p in parties] + [p.kick for p in parties]
                                   + [bridge.changed], timeout)
            if any(p.redirect is not None and not p.hungup.is_set() for p in parties):
                self._redirected_out(bridge, owner)
                return
            if not fired and times:
                now = kernel.clock.now()
                for p in parties:
                    at = self._phone_hangup_at(p)
                    if at is not None and at <= now:
                        p.request_hangup(16)
        self._hang_up_all(bridge, hung[0] if hung else None, parties)

    def _hang_up_all(self, bridge: Bridge, first: Channel | None, parties: list[Channel]) -> None:
        kernel = self.kernel
        if first is not None and not first.hangup_by_ami:
            kernel.emit("HangupRequest", first.fields() + ([] if runs_dialplan(first) else [("Cause", "16")]))
        order = ([first] if first is not None else []) + [p for p in parties if p is not first]
        for p in order:
            kernel.bridge_leave(bridge, p)
        kernel.bridge_destroy(bridge)
        for p in order:
            if p.gone:
                continue
            if p is not first and runs_dialplan(p) or p.hangup_by_ami and runs_dialplan(p):
                kernel.emit("SoftHangupRequest", p.fields() + [("Cause", "16")])
            p.hangup_by_ami = True  # its own task must not say more
            p.request_hangup(16)
            if runs_dialplan(p):
                kernel.emit_cdrs(p)
            kernel.emit_hangup(p, 16)

    def _redirected_out(self, bridge: Bridge, owner: Channel | None) -> None:
        """AMI Redirect of parties of a talk bridge (e.g. hold after a consult transfer)."""
        kernel = self.kernel
        moved = [p for p in bridge.channels if p.redirect is not None]
        rest = [p for p in bridge.channels if p not in moved]
        for p in moved + rest:
            kernel.bridge_leave(bridge, p)
        kernel.bridge_destroy(bridge)
        for p in rest:
            if runs_dialplan(p):
                kernel.emit("SoftHangupRequest", p.fields() + [("Cause", "16")])
                kernel.emit_cdrs(p)
            p.hangup_by_ami = True
            p.request_hangup(16)
            kernel.emit_hangup(p, 16)
        log.info("pbxsim_redirected_out_of_bridge", moved=[p.name for p in moved], hung_up=[p.name for p in rest])
        for p in moved:
            if p is owner:
                continue
            p.redirect = None
            p.kick.clear()
            kernel.spawn(self.dialplan.run(p))
        if owner is not None and owner in moved:
            raise Redirected(owner.name)
