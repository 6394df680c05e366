"""Dial() and AMI Originate: ringing one PJSIP endpoint (or several) and bridging on answer.

Sequences follow trace 11 (Originate to an agent phone, then Dial to the outside trunk):
the answered leg enters the bridge first, the answered Dial leg shows an empty Exten, and
without the ``g`` option the caller is hung up when the callee hangs up.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..channel import Bridge, Channel, ChannelHungUp
from .queues import Leg, Member, wait_any

if TYPE_CHECKING:
    from ..sim import PbxSim


class Dialer:
    """The Dial application and the Originate action of one simulator."""

    def __init__(self, sim: "PbxSim"):
        self.sim = sim

    async def dial(self, ch: Channel, data: str) -> None:
        """Dial(PJSIP/x[&PJSIP/y][,timeout]): ring, bridge the first to answer; sets DIALSTATUS.

        ``PJSIP/number@endpoint`` rings a trunk endpoint (channel ``PJSIP/endpoint-...``).
        When the callee hangs up the caller is hung up too, unless the ``g`` option is given.
        """
        sim = self.sim
        args = [a.strip() for a in data.split(",")]
        timeout = float(args[1]) if len(args) > 1 and args[1] else None
        legs: list[Leg] = []
        for target in (args[0].split("&") if args and args[0] else []):
            tech, _, rest = target.partition("/")
            number, _, trunk = rest.partition("@")
            endpoint = trunk or number
            if tech.upper() != "PJSIP" or endpoint not in sim.endpoints \
                    or sim.devices.get(f"PJSIP/{endpoint}") in ("UNAVAILABLE", "INVALID"):
                continue
            ep = sim.endpoints[endpoint]
            callee = sim.new_channel(endpoint, ep.context, "s", linkedid=ch.linkedid, state=0)
            callee.conn_num, callee.conn_name = ch.cid_num or "<unknown>", ch.cid_name or "<unknown>"
            callee.app, callee.appdata = "AppDial", "(Outgoing Line)"
            callee.exten = ch.exten  # the dialled leg shows the caller's extension (traces 08 B, 14)
            if not ep.cid_num and not ep.cid_name:  # a trunk: it presents the caller's id (trace 11)
                callee.cid_num, callee.cid_name, callee.exten = ch.cid_num, ch.cid_name, number
                sim.emit("NewCallerid", callee.fields() + [
                    ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])
            if ch.accountcode:  # the outbound leg inherits the caller's account code
                callee.accountcode = ch.accountcode
                sim.emit("NewAccountCode", callee.fields() + [("OldAccountCode", "")])
            sim.emit("DialBegin", ch.fields() + callee.fields("Dest") + [("DialString", rest)])
            sim.set_state(callee, 5)
            sim.emit("DialState", ch.fields() + callee.fields("Dest") + [("DialStatus", "RINGING")])
            phone = sim.phone(endpoint)
            start = sim.clock.now()
            answer_at = decline_at = None
            if phone.decline_after is not None:
                decline_at = start + phone.decline_after
            elif not phone.ring_forever and phone.answer_after is not None:
                answer_at = start + phone.answer_after
            legs.append(Leg(Member("", f"PJSIP/{endpoint}", endpoint, f"PJSIP/{endpoint}"), callee, phone, start,
                            answer_at, decline_at))
        if not legs:
            sim.set_var(ch, "DIALSTATUS", "CHANUNAVAIL")
            return
        deadline = None if timeout is None else sim.clock.now() + timeout
        busy = False
        while legs:
            now = sim.clock.now()
            times = [t for leg in legs for t in (leg.answer_at, leg.decline_at) if t is not None]
            if deadline is not None:
                times.append(deadline)
            await wait_any(sim.clock, [ch.hungup] + [leg.channel.hungup for leg in legs],
                           (min(times) - now) if times else None)
            if ch.hungup.is_set():
                for leg in legs:
                    sim.emit("DialEnd", ch.fields() + leg.channel.fields("Dest") + [("DialStatus", "CANCEL")])
                    sim.emit_hangup(leg.channel, 0)
                raise ChannelHungUp(ch.name)
            now = sim.clock.now()
            for leg in list(legs):
                callee = leg.channel
                if callee.hungup.is_set() or (leg.decline_at is not None and now >= leg.decline_at):
                    legs.remove(leg)
                    busy = True
                    sim.emit("HangupRequest", callee.fields() + [("Cause", "17"), ("TechCause", "486")])
                    sim.emit("DialEnd", ch.fields() + callee.fields("Dest") + [("DialStatus", "BUSY")])
                    sim.emit_hangup(callee, 17)
                elif leg.answer_at is not None and now >= leg.answer_at:
                    legs.remove(leg)
                    for other in legs:
                        sim.emit("DialEnd", ch.fields() + other.channel.fields("Dest") + [("DialStatus", "CANCEL")])
                        sim.emit_hangup(other.channel, 26)
                    await self._dial_talk(ch, leg, "g" in (args[2] if len(args) > 2 else ""))
                    return
            if deadline is not None and now >= deadline:
                for leg in legs:
                    sim.emit("DialEnd", ch.fields() + leg.channel.fields("Dest") + [("DialStatus", "NOANSWER")])
                    sim.emit_hangup(leg.channel, 0)
                sim.set_var(ch, "DIALSTATUS", "NOANSWER")
                return
        sim.set_var(ch, "DIALSTATUS", "BUSY" if busy else "CHANUNAVAIL")

    async def _dial_talk(self, ch: Channel, leg: Leg, go_on: bool) -> None:
        """Bridge ``ch`` with the answered callee until one hangs up (trace 11 order).

        Without the ``g`` option the caller is hung up too when the callee hangs up.
        """
        sim = self.sim
        callee = leg.channel
        sim.set_state(callee, 6)
        sim.emit("DialEnd", ch.fields() + callee.fields("Dest") + [("DialStatus", "ANSWER")])
        if ch.state != 6:  # a caller not yet answered is answered after DialEnd (traces 08 B, 14: Local ;2)
            sim.set_state(ch, 6)
        callee.exten = ""  # Asterisk shows the answered Dial leg with an empty Exten (trace 11)
        ch.conn_num, ch.conn_name = callee.cid_num or "<unknown>", callee.cid_name or "<unknown>"
        bridge = Bridge()
        sim.bridges[bridge.uniqueid] = bridge
        sim.emit("BridgeCreate", bridge.fields())
        for party in (callee, ch):  # the answered leg enters first (trace 11)
            bridge.channels.append(party)
            party.bridge = bridge
            sim.emit("BridgeEnter", bridge.fields() + party.fields())
        handle = getattr(ch, "handle", None)
        if handle is not None:
            handle.answered_by = leg.member.interface
            handle.answered.set()
        hang_at = None if leg.phone.hangup_after_answer is None else sim.clock.now() + leg.phone.hangup_after_answer
        while not (ch.hungup.is_set() or callee.hungup.is_set()):
            fired = await wait_any(sim.clock, [ch.hungup, callee.hungup, ch.kick, callee.kick],
                                   None if hang_at is None else hang_at - sim.clock.now())
            if not fired and hang_at is not None:
                callee.request_hangup(16)
            if not (ch.hungup.is_set() or callee.hungup.is_set()) and (ch.redirect or callee.redirect):
                from ..features.moves import dial_bridge_moved  # call control hook: AMI Redirect out of a Dial bridge
                dial_bridge_moved(sim, bridge, ch, callee, go_on)  # raises (Redirected, ChannelHungUp) or returns
                sim.set_var(ch, "DIALSTATUS", "ANSWER")
                return
        from ..features.local import run_takeover  # issue 4 hook: a feature moved the parties (Local optimisation, Atxfer)
        if await run_takeover(bridge, ch, callee, None):
            raise ChannelHungUp(ch.name)
        first, second = (ch, callee) if ch.hungup.is_set() else (callee, ch)
        if not getattr(first, "hangup_by_ami", False):
            sim.emit("HangupRequest", first.fields() + ([("Cause", "16")] if first is callee else []))

        def leave(party: Channel) -> None:
            bridge.channels.remove(party)
            party.bridge = None
            sim.emit("BridgeLeave", bridge.fields() + party.fields())

        leave(first)
        leave(second)
        if first is callee and go_on:
            sim.bridges.pop(bridge.uniqueid, None)
            sim.emit("BridgeDestroy", bridge.fields())
            sim.emit_hangup(callee, 16)
            sim.set_var(ch, "DIALSTATUS", "ANSWER")
            return
        sim.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
        sim.bridges.pop(bridge.uniqueid, None)
        sim.emit("BridgeDestroy", bridge.fields())
        sim.dialplan.emit_cdrs(ch)
        if first is ch:
            sim.emit_hangup(ch, 16)
            sim.emit_hangup(callee, 16)
        else:
            sim.emit_hangup(callee, 16)
            sim.emit_hangup(ch, 16)
        raise ChannelHungUp(ch.name)

    async def originate(self, endpoint: str, context: str, exten: str, priority: int = 1,
                        cid_num: str = "", cid_name: str = "", timeout: float = 30.0, account: str = "",
                        variables: dict[str, str] | None = None, uniqueid: str | None = None,
                        action_id: str | None = None) -> Channel | None:
        """AMI Originate to ``PJSIP/endpoint`` then ``context,exten,priority`` (trace 11).

        Rings the endpoint's phone; OriginateResponse (Reason 4) when it answers, then the
        channel runs the dialplan. Returns the channel once the dialplan started, or None.
        """
        aid = [("ActionID", action_id)] if action_id else []
        ep = self.sim.endpoints.get(endpoint)

        def respond(ok: bool, reason: int, ch: Channel | None) -> None:
            self.sim.emit("OriginateResponse", aid + [
                ("Response", "Success" if ok else "Failure"), ("Channel", ch.name if ch else f"PJSIP/{endpoint}"),
                ("Context", context), ("Exten", exten), ("Reason", str(reason)),
                ("Uniqueid", ch.uniqueid if ch else "<null>"),
                ("CallerIDNum", cid_num or "<unknown>"), ("CallerIDName", cid_name or "<unknown>")])

        if ep is None or self.sim.devices.get(f"PJSIP/{endpoint}") in ("UNAVAILABLE", "INVALID"):
            respond(False, 0, None)
            return None
        ch = self.sim.new_channel(endpoint, ep.context, "s", state=0, uniqueid=uniqueid)
        ch.app, ch.appdata = "AppDial2", "(Outgoing Line)"
        self.sim.emit("Newexten", ch.fields() + [("Extension", "s"), ("Application", ch.app), ("AppData", ch.appdata)])
        if account:
            old = ch.accountcode
            ch.accountcode = account
            self.sim.emit("NewAccountCode", ch.fields() + [("OldAccountCode", old)])
        if cid_num or cid_name:
            ch.cid_num, ch.cid_name = cid_num or ch.cid_num, cid_name or ch.cid_name
            self.sim.emit("NewCallerid", ch.fields() + [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])
            ch.conn_num, ch.conn_name = ch.cid_num, ch.cid_name
            self.sim.emit("NewConnectedLine", ch.fields())
        for k, v in (variables or {}).items():
            self.sim.set_var(ch, k, v)
        self.sim.emit("DialBegin", ch.fields("Dest") + [("DialString", endpoint)])
        self.sim.set_state(ch, 5)
        self.sim.emit("DialState", ch.fields("Dest") + [("DialStatus", "RINGING")])
        phone = self.sim.phone(endpoint)
        start = self.sim.clock.now()
        if phone.decline_after is not None:
            fired = await self._wait_hangup(ch, phone.decline_after)
            if not fired:
                self.sim.emit("HangupRequest", ch.fields() + [("Cause", "17"), ("TechCause", "486")])
            self.sim.emit("DialEnd", ch.fields("Dest") + [("DialStatus", "BUSY")])
            self.sim.emit_hangup(ch, 17)
            respond(False, 5, ch)
            return None
        answer_in = None if phone.ring_forever or phone.answer_after is None else phone.answer_after
        if answer_in is None or answer_in >= timeout:
            await self._wait_hangup(ch, timeout)
            self.sim.emit("DialEnd", ch.fields("Dest") + [("DialStatus", "NOANSWER")])
            self.sim.emit_hangup(ch, 0)
            respond(False, 3, ch)
            return None
        if await self._wait_hangup(ch, answer_in - (self.sim.clock.now() - start)):
            self.sim.emit("DialEnd", ch.fields("Dest") + [("DialStatus", "CANCEL")])
            self.sim.emit_hangup(ch, 16)
            respond(False, 1, ch)
            return None
        self.sim.set_state(ch, 6)
        self.sim.emit("DialEnd", ch.fields("Dest") + [("DialStatus", "ANSWER")])
        respond(True, 4, ch)
        ch.context, ch.exten, ch.priority = context, exten, priority
        self.sim.spawn(self.sim.dialplan.run(ch))
        if phone.hangup_after_answer is not None:
            self.sim.spawn(self._phone_hangs_up(ch, phone.hangup_after_answer))
        return ch

    async def _wait_hangup(self, ch: Channel, sim_seconds: float) -> bool:
        """Wait ``sim_seconds``; True if ``ch`` was hung up meanwhile."""
        try:
            await asyncio.wait_for(ch.hungup.wait(), self.sim.clock.real(sim_seconds))
            return True
        except asyncio.TimeoutError:
            return False

    async def _phone_hangs_up(self, ch: Channel, after: float) -> None:
        if not await self._wait_hangup(ch, after):
            ch.request_hangup(16)
