"""ChanSpy: the supervisor listens (q), whispers (w) or barges (B) into an agent's call,
as recorded in trace 09_supervisor_chanspy.

What Asterisk 22 does, as recorded: the supervisor's phone is Originated into a dialplan
that runs ``ChanSpy(PJSIP/1001,qES)``; about 0.1 s later ``ChanSpyStart`` (Spyer* and
Spyee* blocks: the supervisor's channel and the agent's); when the supervisor hangs up:
``HangupRequest``, ``ChanSpyStop``, ``SoftHangupRequest``, ``Hangup`` with Cause 0. The
three modes look the same on AMI (only the options differ); they are kept on the spy
for ``sim.truth()["spies"]``. With ``E`` the spy ends when the spied-on channel hangs up (the
dialplan goes on); with ``S`` it ends at once when there is no channel to spy on.

Trace 18 (asterisk_conf/ ``ChanSpy(PJSIP/1001,qdES)``): with ``d`` a digit the spyer receives
switches the mode, 4 listen, 5 whisper, 6 barge (app_chanspy.c change_spy_mode), the way the CTI
server does it with AMI ``PlayDTMF Receive=true`` (features/dtmf.py): the DTMFEnd on the spyer's
channel is all AMI shows. An AMI ``Bridge`` of the spyer's channel (the intercept) yanks it out
of ChanSpy by a masquerade: no ChanSpyStop at all, the channel keeps its name and Uniqueid and
enters the bridge at its after-bridge goto (the next priority).
"""

from __future__ import annotations

import asyncio

import structlog

from ..channel import Channel, ChannelHungUp, Fields
from ..engines.dialplan import Dialplan
from ..kernel.kernel import Kernel

log = structlog.get_logger(__name__)

SCAN_SECONDS = 0.1  # simulated time ChanSpy takes to find and attach to the channel (trace 09)
MODE_OF_DIGIT = {"4": "listen", "5": "whisper", "6": "barge"}  # option d (app_chanspy.c change_spy_mode)


def _block(prefix: str, ch: Channel) -> Fields:
    return [(prefix + k, v) for k, v in ch.fields()]


class ChanSpy:
    """The ChanSpy application of one simulator, and the spies in progress."""

    def __init__(self, kernel: Kernel, dialplan: Dialplan):
        self.kernel = kernel
        self.spies: dict[str, dict] = {}  # spyer channel name -> spyer, spyee, mode (listen, whisper, barge)
        dialplan.register_app("ChanSpy", self.app_chanspy)
        kernel.hooks.truth.append(lambda: {"spies": list(self.spies.values())})

    def _target(self, spec: str) -> Channel | None:
        """The first live, answered channel whose name starts with ``spec-`` (ChanSpy's prefix match)."""
        for name, ch in sorted(self.kernel.channels.items()):
            if name.startswith(spec + "-") and not ch.gone and ch.state == 6:
                return ch
        return None

    @staticmethod
    async def _next_digit(ch: Channel, spyee: Channel) -> str | None:
        """The next digit the spyer's channel receives; None once either channel goes or it is moved."""
        while not (ch.hungup.is_set() or spyee.hungup.is_set() or ch.kick.is_set()):
            if not ch.dtmf.empty():
                return ch.dtmf.get_nowait()
            getter = asyncio.ensure_future(ch.dtmf.get())
            ends = [asyncio.ensure_future(e.wait()) for e in (ch.hungup, spyee.hungup, ch.kick)]
            try:
                done, _ = await asyncio.wait([getter, *ends], return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in [getter, *ends]:
                    if not w.done():
                        w.cancel()
            if getter in done:
                return getter.result()
        return None

    async def app_chanspy(self, dp: Dialplan, ch: Channel, data: str) -> None:
        """ChanSpy([chanprefix][,options])."""
        kernel = self.kernel
        args = [a.strip() for a in data.split(",")] if data else []
        spec, opts = (args[0] if args else ""), (args[1] if len(args) > 1 else "")
        mode = "barge" if "B" in opts else "whisper" if "w" in opts else "listen"
        if ch.state != 6:
            kernel.set_state(ch, 6)
        await ch.wait(kernel.clock, SCAN_SECONDS)
        spyee = self._target(spec)
        if spyee is None:
            if "S" in opts:
                return
            await ch.wait(kernel.clock, None)  # nothing to spy on: waits until the spyer hangs up
            return
        block = _block("Spyer", ch) + _block("Spyee", spyee)
        kernel.emit("ChanSpyStart", block)
        registry = self.spies
        spy = registry[ch.name] = {"spyer": ch.name, "spyee": spyee.name, "mode": mode}
        log.info("pbxsim_chanspy_start", spyer=ch.name, spyee=spyee.name, mode=mode, call_id=spyee.linkedid)
        try:
            while (digit := await self._next_digit(ch, spyee)) is not None:
                if "d" in opts and digit in MODE_OF_DIGIT and spy["mode"] != MODE_OF_DIGIT[digit]:
                    spy["mode"] = MODE_OF_DIGIT[digit]
                    log.info("pbxsim_chanspy_mode", spyer=ch.name, spyee=spyee.name, mode=spy["mode"],
                             call_id=spyee.linkedid)
        finally:
            registry.pop(ch.name, None)
        if ch.redirect is not None and ch.yanked:  # AMI Bridge: gone from ChanSpy without a word
            ch.check()
        if ch.hungup.is_set():
            if not ch.hangup_by_ami:
                kernel.emit("HangupRequest", ch.fields())
            kernel.emit("ChanSpyStop", _block("Spyer", ch) + _block("Spyee", spyee))
            kernel.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
            kernel.emit_cdrs(ch)
            kernel.emit_hangup(ch, 0)  # as recorded: Cause 0
            raise ChannelHungUp(ch.name)
        kernel.emit("ChanSpyStop", _block("Spyer", ch) + _block("Spyee", spyee))
        ch.check()  # moved by AMI Redirect
        if "E" not in opts:
            await ch.wait(kernel.clock, None)
