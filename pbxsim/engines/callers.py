"""Scripted inbound callers: a CallerScript dials in, sends its digits and hangs up when it says."""

from __future__ import annotations

import asyncio

from ..channel import Channel
from ..kernel.kernel import Kernel
from ..scripts import CallerScript
from .dialplan import Dialplan


class CallHandle:
    """An inbound call placed by a CallerScript."""

    def __init__(self, channel: Channel, task: asyncio.Task | None = None):
        self.channel = channel
        self.task = task
        self.answered_by: str | None = None  # member interface that answered, e.g. "PJSIP/1001"
        self.answered = asyncio.Event()

    @property
    def channel_name(self) -> str:
        """Name of the caller's channel, e.g. ``PJSIP/caller-00000000``."""
        return self.channel.name

    async def hangup(self) -> None:
        """The caller hangs up now (as a BYE from the caller would)."""
        self.channel.request_hangup(16)

    @property
    def uniqueid(self) -> str:
        """Uniqueid (and Linkedid) of the caller's channel."""
        return self.channel.uniqueid

    async def ended(self) -> None:
        """Wait until the caller's channel is gone."""
        if self.task is not None:
            await asyncio.wait({self.task})


class CallerState:
    """What a scripted caller's channel keeps: its handle (see Channel.feature)."""

    def __init__(self) -> None:
        self.handle: CallHandle | None = None


class Callers:
    """Places scripted inbound calls and plays the caller's side of each."""

    def __init__(self, kernel: Kernel, dialplan: Dialplan):
        self.kernel = kernel
        self.dialplan = dialplan
        kernel.hooks.answered.append(self._answered)

    def _answered(self, ch: Channel, interface: str) -> None:
        handle = ch.feature(CallerState).handle if ch.scripted else None
        if handle is not None:
            handle.answered_by = interface
            handle.answered.set()

    async def place_call(self, script: CallerScript) -> CallHandle:
        """Start an inbound call as the script says; returns once the channel exists."""
        kernel = self.kernel
        ep = kernel.endpoints.get(script.endpoint)
        if ep is None:
            raise KeyError(f"unknown endpoint {script.endpoint!r}")
        ch = kernel.new_channel(script.endpoint, ep.context, script.dial, cid_num=script.number,
                                cid_name=script.name, state=4)
        ch.dnid = script.dial
        kernel.calls_processed += 1
        handle = CallHandle(ch)
        ch.scripted = True
        ch.feature(CallerState).handle = handle
        handle.task = kernel.spawn(self._run_call(ch, script, handle))
        return handle

    async def _run_call(self, ch: Channel, script: CallerScript, handle: CallHandle) -> None:
        side = [self.kernel.spawn(self._caller_side(ch, script, handle))]
        try:
            await self.dialplan.run(ch)
        finally:
            for t in side:
                t.cancel()
            if not ch.gone:  # cancelled by stop(): still say goodbye on AMI
                self.kernel.emit_hangup(ch, 16)

    async def _caller_side(self, ch: Channel, script: CallerScript, handle: CallHandle) -> None:
        """Feed the caller's digits and hang up when the script says."""
        kernel = self.kernel
        start = kernel.clock.now()
        events = sorted([(t, "dtmf", d) for t, d in script.dtmf] +
                        ([(script.hangup_at, "hangup", "")] if script.hangup_at is not None else []))
        if script.hangup_after_answer is not None:
            kernel.spawn(self._hangup_after_answer(ch, handle, script.hangup_after_answer))
        for at, kind, arg in events:
            await kernel.clock.sleep(at - (kernel.clock.now() - start))
            if ch.gone or ch.hungup.is_set():
                return
            if kind == "hangup":
                ch.request_hangup(16)
                return
            for digit in arg:
                kernel.emit("DTMFEnd", ch.fields() + [("Digit", digit), ("DurationMs", "200"),
                                                      ("Direction", "Received")])
                ch.dtmf.put_nowait(digit)

    async def _hangup_after_answer(self, ch: Channel, handle: CallHandle, after: float) -> None:
        waiters = [asyncio.ensure_future(handle.answered.wait()), asyncio.ensure_future(ch.hungup.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        if ch.hungup.is_set():
            return
        await self.kernel.clock.sleep(after)
        ch.request_hangup(16)
