"""Dial() and AMI Originate: ringing one PJSIP endpoint (or several) and bridging on answer.

Sequences follow trace 11 (Originate to an agent phone, then Dial to the outside trunk):
the answered leg enters the bridge first, the answered Dial leg shows an empty Exten, and
without the ``g`` option the caller is hung up when the callee hangs up.
"""

from __future__ import annotations

import asyncio

from ..channel import Bridge, Channel, ChannelHungUp
from ..clock import wait_any
from ..kernel.hooks import OriginateRequest
from ..kernel.kernel import CID_PRES, Kernel
from .dialplan import Dialplan
from .ringing import Ring


class Dialer:
    """The Dial application and the Originate action (to a PJSIP endpoint) of one simulator."""

    def __init__(self, kernel: Kernel, dialplan: Dialplan):
        self.kernel = kernel
        self.dialplan = dialplan

    def register(self) -> None:
        """Offer Dial() on the dialplan and Originate of PJSIP channels on the kernel."""
        self.dialplan.register_app("Dial", self.app)
        self.kernel.hooks.originators["pjsip"] = self.originate_request

    async def app(self, dp: Dialplan, ch: Channel, data: str) -> None:
        """Dial(PJSIP/x[&...],timeout): ring a phone, bridge on answer; sets DIALSTATUS."""
        await self.dial(ch, data)

    async def originate_request(self, req: OriginateRequest) -> Channel | None:
        """AMI Originate of ``PJSIP/<endpoint>``."""
        return await self.originate(req.channel.partition("/")[2], req.context, req.exten, req.priority,
                                    req.cid_num, req.cid_name, req.timeout, req.account, req.variables,
                                    req.channel_id, req.action_id)

    async def dial(self, ch: Channel, data: str) -> None:
        """Dial(PJSIP/x[&PJSIP/y][,timeout]): ring, bridge the first to answer; sets DIALSTATUS.

        ``PJSIP/number@endpoint`` rings a trunk endpoint (channel ``PJSIP/endpoint-...``).
        When the callee hangs up the caller is hung up too, unless the ``g`` option is given.
        """
        kernel = self.kernel
        args = [a.strip() for a in data.split(",")]
        timeout = float(args[1]) if len(args) > 1 and args[1] else None
        legs: list[Ring] = []
        for target in (args[0].split("&") if args and args[0] else []):
            tech, _, rest = target.partition("/")
            number, _, trunk = rest.partition("@")
            endpoint = trunk or number
            if tech.upper() != "PJSIP" or endpoint not in kernel.endpoints \
                    or kernel.devices.get(f"PJSIP/{endpoint}") in ("UNAVAILABLE", "INVALID"):
                continue
            ep = kernel.endpoints[endpoint]
            callee = kernel.new_channel(endpoint, ep.context, "s", linkedid=ch.linkedid, state=0)
            callee.conn_num, callee.conn_name = ch.cid_num or "<unknown>", ch.cid_name or "<unknown>"
            callee.app, callee.appdata = "AppDial", "(Outgoing Line)"
            callee.exten = ch.exten  # the dialled leg shows the caller's extension (traces 08 B, 14)
            if not ep.cid_num and not ep.cid_name:  # a trunk: it presents the caller's id (trace 11)
                callee.cid_num, callee.cid_name, callee.exten = ch.cid_num, ch.cid_name, number
                kernel.emit("NewCallerid", callee.fields() + [CID_PRES])
            if ch.accountcode:  # the outbound leg inherits the caller's account code
                callee.accountcode = ch.accountcode
                kernel.emit("NewAccountCode", callee.fields() + [("OldAccountCode", "")])
            kernel.emit("DialBegin", ch.fields() + callee.fields("Dest") + [("DialString", rest)])
            kernel.set_state(callee, 5)
            kernel.emit("DialState", ch.fields() + callee.fields("Dest") + [("DialStatus", "RINGING")])
            legs.append(Ring.of(f"PJSIP/{endpoint}", callee, kernel.phone(endpoint), kernel.clock.now()))
        if not legs:
            kernel.set_var(ch, "DIALSTATUS", "CHANUNAVAIL")
            return
        deadline = None if timeout is None else kernel.clock.now() + timeout
        busy = False
        while legs:
            now = kernel.clock.now()
            times = [t for leg in legs for t in (leg.answer_at, leg.decline_at) if t is not None]
            if deadline is not None:
                times.append(deadline)
            await wait_any(kernel.clock, [ch.hungup] + [leg.channel.hungup for leg in legs],
                           (min(times) - now) if times else None)
            if ch.hungup.is_set():
                for leg in legs:
                    kernel.emit("DialEnd", ch.fields() + leg.channel.fields("Dest") + [("DialStatus", "CANCEL")])
                    kernel.emit_hangup(leg.channel, 0)
                raise ChannelHungUp(ch.name)
            now = kernel.clock.now()
            for leg in list(legs):
                callee = leg.channel
                if callee.hungup.is_set() or (leg.decline_at is not None and now >= leg.decline_at):
                    legs.remove(leg)
                    busy = True
                    kernel.emit("HangupRequest", callee.fields() + [("Cause", "17"), ("TechCause", "486")])
                    kernel.emit("DialEnd", ch.fields() + callee.fields("Dest") + [("DialStatus", "BUSY")])
                    kernel.emit_hangup(callee, 17)
                elif leg.answer_at is not None and now >= leg.answer_at:
                    legs.remove(leg)
                    for other in legs:
                        kernel.emit("DialEnd", ch.fields() + other.channel.fields("Dest") + [("DialStatus", "CANCEL")])
                        kernel.emit_hangup(other.channel, 26)
                    await self._dial_talk(ch, leg, "g" in (args[2] if len(args) > 2 else ""))
                    return
            if deadline is not None and now >= deadline:
                for leg in legs:
                    kernel.emit("DialEnd", ch.fields() + leg.channel.fields("Dest") + [("DialStatus", "NOANSWER")])
                    kernel.emit_hangup(leg.channel, 0)
                kernel.set_var(ch, "DIALSTATUS", "NOANSWER")
                return
        kernel.set_var(ch, "DIALSTATUS", "BUSY" if busy else "CHANUNAVAIL")

    async def _dial_talk(self, ch: Channel, leg: Ring, go_on: bool) -> None:
        """Bridge ``ch`` with the answered callee until one hangs up (trace 11 order).

        Without the ``g`` option the caller is hung up too when the callee hangs up.
        """
        kernel = self.kernel
        callee = leg.channel
        kernel.set_state(callee, 6)
        kernel.emit("DialEnd", ch.fields() + callee.fields("Dest") + [("DialStatus", "ANSWER")])
        if ch.state != 6:  # a caller not yet answered is answered after DialEnd (traces 08 B, 14: Local ;2)
            kernel.set_state(ch, 6)
        callee.exten = ""  # Asterisk shows the answered Dial leg with an empty Exten (trace 11)
        ch.conn_num, ch.conn_name = callee.cid_num or "<unknown>", callee.cid_name or "<unknown>"
        bridge = kernel.bridge_create(Bridge())
        for party in (callee, ch):  # the answered leg enters first (trace 11)
            kernel.bridge_enter(bridge, party)
        kernel.answered(ch, leg.interface)
        hang_at = None if leg.phone.hangup_after_answer is None else kernel.clock.now() + leg.phone.hangup_after_answer
        while not (ch.hungup.is_set() or callee.hungup.is_set()):
            fired = await wait_any(kernel.clock, [ch.hungup, callee.hungup, ch.kick, callee.kick],
                                   None if hang_at is None else hang_at - kernel.clock.now())
            if not fired and hang_at is not None:
                callee.request_hangup(16)
            if not (ch.hungup.is_set() or callee.hungup.is_set()) and (ch.redirect or callee.redirect):
                # AMI Redirect out of the bridge (features/moves.py): raises (Redirected, ChannelHungUp) or returns
                kernel.hooks.dial_bridge_moved(bridge, ch, callee, go_on)
                kernel.set_var(ch, "DIALSTATUS", "ANSWER")
                return
        if await bridge.hand_over(ch, callee, None):  # a feature took the call over (Local optimisation, Atxfer)
            raise ChannelHungUp(ch.name)
        first, second = (ch, callee) if ch.hungup.is_set() else (callee, ch)
        if not first.hangup_by_ami:
            kernel.emit("HangupRequest", first.fields() + ([("Cause", "16")] if first is callee else []))
        kernel.bridge_leave(bridge, first)
        kernel.bridge_leave(bridge, second)
        if first is callee and go_on:
            kernel.bridge_destroy(bridge)
            kernel.emit_hangup(callee, 16)
            kernel.set_var(ch, "DIALSTATUS", "ANSWER")
            return
        kernel.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
        kernel.bridge_destroy(bridge)
        kernel.emit_cdrs(ch)
        if first is ch:
            kernel.emit_hangup(ch, 16)
            kernel.emit_hangup(callee, 16)
        else:
            kernel.emit_hangup(callee, 16)
            kernel.emit_hangup(ch, 16)
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
        ep = self.kernel.endpoints.get(endpoint)

        def respond(ok: bool, reason: int, ch: Channel | None) -> None:
            self.kernel.emit("OriginateResponse", aid + [
                ("Response", "Success" if ok else "Failure"), ("Channel", ch.name if ch else f"PJSIP/{endpoint}"),
                ("Context", context), ("Exten", exten), ("Reason", str(reason)),
                ("Uniqueid", ch.uniqueid if ch else "<null>"),
                ("CallerIDNum", cid_num or "<unknown>"), ("CallerIDName", cid_name or "<unknown>")])

        if ep is None or self.kernel.devices.get(f"PJSIP/{endpoint}") in ("UNAVAILABLE", "INVALID"):
            respond(False, 0, None)
            return None
        ch = self.kernel.new_channel(endpoint, ep.context, "s", state=0, uniqueid=uniqueid)
        ch.app, ch.appdata = "AppDial2", "(Outgoing Line)"
        self.kernel.emit("Newexten", ch.fields() + [("Extension", "s"), ("Application", ch.app), ("AppData", ch.appdata)])
        if account:
            old = ch.accountcode
            ch.accountcode = account
            self.kernel.emit("NewAccountCode", ch.fields() + [("OldAccountCode", old)])
        if cid_num or cid_name:
            ch.cid_num, ch.cid_name = cid_num or ch.cid_num, cid_name or ch.cid_name
            self.kernel.emit("NewCallerid", ch.fields() + [CID_PRES])
            ch.conn_num, ch.conn_name = ch.cid_num, ch.cid_name
            self.kernel.emit("NewConnectedLine", ch.fields())
        for k, v in (variables or {}).items():
            self.kernel.set_var(ch, k, v)
        self.kernel.emit("DialBegin", ch.fields("Dest") + [("DialString", endpoint)])
        self.kernel.set_state(ch, 5)
        self.kernel.emit("DialState", ch.fields("Dest") + [("DialStatus", "RINGING")])
        phone = self.kernel.phone(endpoint)
        start = self.kernel.clock.now()
        if phone.decline_after is not None:
            fired = await self._wait_hangup(ch, phone.decline_after)
            if not fired:
                self.kernel.emit("HangupRequest", ch.fields() + [("Cause", "17"), ("TechCause", "486")])
            self.kernel.emit("DialEnd", ch.fields("Dest") + [("DialStatus", "BUSY")])
            self.kernel.emit_hangup(ch, 17)
            respond(False, 5, ch)
            return None
        answer_in = None if phone.ring_forever or phone.answer_after is None else phone.answer_after
        if answer_in is None or answer_in >= timeout:
            await self._wait_hangup(ch, timeout)
            self.kernel.emit("DialEnd", ch.fields("Dest") + [("DialStatus", "NOANSWER")])
            self.kernel.emit_hangup(ch, 0)
            respond(False, 3, ch)
            return None
        if await self._wait_hangup(ch, answer_in - (self.kernel.clock.now() - start)):
            self.kernel.emit("DialEnd", ch.fields("Dest") + [("DialStatus", "CANCEL")])
            self.kernel.emit_hangup(ch, 16)
            respond(False, 1, ch)
            return None
        self.kernel.set_state(ch, 6)
        self.kernel.emit("DialEnd", ch.fields("Dest") + [("DialStatus", "ANSWER")])
        respond(True, 4, ch)
        ch.context, ch.exten, ch.priority = context, exten, priority
        self.kernel.spawn(self.dialplan.run(ch))
        if phone.hangup_after_answer is not None:
            self.kernel.spawn(self._phone_hangs_up(ch, phone.hangup_after_answer))
        return ch

    async def _wait_hangup(self, ch: Channel, sim_seconds: float) -> bool:
        """Wait ``sim_seconds``; True if ``ch`` was hung up meanwhile."""
        try:
            await asyncio.wait_for(ch.hungup.wait(), self.kernel.clock.real(sim_seconds))
            return True
        except asyncio.TimeoutError:
            return False

    async def _phone_hangs_up(self, ch: Channel, after: float) -> None:
        if not await self._wait_hangup(ch, after):
            ch.request_hangup(16)
