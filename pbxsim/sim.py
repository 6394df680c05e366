"""PbxSim: the composition root (channels, events, devices, phones, callers, AMI server)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import structlog

from . import confparse
from .channel import CAUSE_TXT, Bridge, Channel, DeviceRegistry, Fields
from .clock import SimClock
from .scripts import CallerScript, Phone

log = structlog.get_logger(__name__)

PRIVILEGE = {
    "Newchannel": "call,all", "Newstate": "call,all", "Hangup": "call,all", "HangupRequest": "call,all",
    "SoftHangupRequest": "call,all", "Newexten": "dialplan,all", "VarSet": "dialplan,all",
    "DTMFEnd": "dtmf,all", "DTMFBegin": "dtmf,all", "Cdr": "cdr,all", "UserEvent": "user,all",
    "AGIExecStart": "agi,all", "AGIExecEnd": "agi,all", "AsyncAGIStart": "agi,all",
    "FullyBooted": "system,all", "SuccessfulAuth": "security,all", "RTCPSent": "reporting,all",
}
STOP_GRACE = 1.0  # real seconds stop() waits for calls to end before cancelling them
AGENT_EVENTS = {"QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled", "AgentConnect",
                "AgentComplete", "AgentRingNoAnswer", "AgentDump", "QueueMemberAdded", "QueueMemberRemoved",
                "QueueMemberPause", "QueueMemberStatus", "QueueMemberPenalty", "QueueMemberRinginuse"}


def privilege_of(event: str) -> str:
    """The ``Privilege:`` Asterisk 22 writes for ``event`` (as in the recorded traces)."""
    return "agent,all" if event in AGENT_EVENTS else PRIVILEGE.get(event, "call,all")


@dataclass(frozen=True)
class SimConfig:
    """Settings of one simulator instance."""

    conf_dir: str
    ami_host: str = "127.0.0.1"
    ami_port: int = 0
    username: str = "cti"
    secret: str = "cti-secret"
    timestamp_events: bool = False
    time_scale: float = 1.0
    agi_host: str | None = None  # replaces the host of AGI(agi://...) URLs when set
    agi_port: int | None = None
    default_phone: Phone = Phone(answer_after=1.0)


class CallHandle:
    """An inbound call placed by a CallerScript."""

    def __init__(self, channel: Channel, task: asyncio.Task | None):
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


class PbxSim:
    """A stand-in for Asterisk: AMI over TCP, dialplan, queues, FastAGI, scripted parties."""

    def __init__(self, config: SimConfig):
        self.config = config
        self.clock = SimClock(config.time_scale)
        contexts, globals_, queues, endpoints = confparse.load_dir(config.conf_dir)
        if not contexts:
            raise FileNotFoundError(f"no extensions.conf in {Path(config.conf_dir)}")
        self.contexts, self.globals, self.endpoints = contexts, dict(globals_), endpoints
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        # demo traffic may replace this to vary each ring (answer delay, talk time)
        self.phone_chooser: Callable[[str], Phone] | None = None
        self.phones: dict[str, Phone] = {}
        self.listeners: list[Callable[[str, Fields], None]] = []
        self._seq = 0
        hints = {(ctx, name): ext.hint for ctx, exts in contexts.items()
                 for name, ext in exts.items() if ext.hint}
        self.devices = DeviceRegistry(self._emit_plain, hints)
        for name in endpoints:
            self.devices.seed(f"PJSIP/{name}", "NOT_INUSE")
        self.calls_processed = 0
        self.started = time.time()
        self.tasks: set[asyncio.Task] = set()
        from .dialplan import Dialplan
        from .queues import QueueEngine
        self.queues = QueueEngine(self, queues)
        from .dial import Dialer
        self.dialer = Dialer(self)
        self.dialplan = Dialplan(self)
        self.ami = None

    # --- lifecycle -------------------------------------------------------
    async def start(self) -> None:
        """Start the AMI server (``self.ami_port`` is the bound port)."""
        from .amiserver import AmiServer
        self.ami = AmiServer(self)
        await self.ami.start(self.config.ami_host, self.config.ami_port)
        log.info("pbxsim_started", ami_port=self.ami_port, conf_dir=self.config.conf_dir)

    async def ami_down(self) -> None:
        """Close the AMI listener and every AMI session (as if Asterisk went away); calls go on."""
        if self.ami is not None:
            await self.ami.stop()
            log.info("pbxsim_ami_down", ami_port=self.ami.port)

    async def ami_up(self) -> None:
        """Listen again on the same AMI port after ami_down()."""
        if self.ami is not None:
            await self.ami.start(self.config.ami_host, self.ami.port)
            log.info("pbxsim_ami_up", ami_port=self.ami.port)

    @property
    def ami_port(self) -> int:
        """The TCP port the AMI server listens on."""
        return self.ami.port if self.ami else 0

    async def stop(self) -> None:
        """Hang up everything, stop background tasks and close the AMI server."""
        for ch in list(self.channels.values()):
            ch.request_hangup(16)
        if self.tasks:  # let the calls say goodbye on AMI (Hangup events) before cancelling
            await asyncio.wait(set(self.tasks), timeout=STOP_GRACE)
        for t in list(self.tasks):
            t.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.ami:
            await self.ami.stop()
        log.info("pbxsim_stopped")

    def spawn(self, coro) -> asyncio.Task:
        """Run a background task owned by the simulator (cancelled by stop())."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("pbxsim_task_failed", error=repr(task.exception()))

    # --- events ----------------------------------------------------------
    def emit(self, event: str, fields: Fields, privilege: str | None = None) -> None:
        """Send an event to every AMI session with events on (and in-process listeners)."""
        if privilege is None:
            privilege = privilege_of(event)
        head: Fields = [("Event", event), ("Privilege", privilege)]
        if self.config.timestamp_events:
            head.append(("Timestamp", f"{self.clock.now():.6f}"))
        msg = head + fields
        for cb in list(self.listeners):
            cb(event, msg)
        if self.ami:
            self.ami.broadcast(msg)

    def _emit_plain(self, event: str, fields: Fields) -> None:
        self.emit(event, fields)

    # --- channels --------------------------------------------------------
    def new_channel(self, endpoint: str, context: str, exten: str, linkedid: str | None = None,
                    cid_num: str | None = None, cid_name: str | None = None, state: int = 0,
                    uniqueid: str | None = None) -> Channel:
        """Create a PJSIP channel with Asterisk's naming and ids, and emit Newchannel."""
        ep = self.endpoints.get(endpoint)
        seq = self._seq
        self._seq += 1
        uid = uniqueid or f"{int(self.clock.now())}.{seq}"
        ch = Channel(name=f"PJSIP/{endpoint}-{seq:08x}", uniqueid=uid, linkedid=linkedid or uid,
                     endpoint=endpoint, cid_num=cid_num if cid_num is not None else (ep.cid_num if ep else ""),
                     cid_name=cid_name if cid_name is not None else (ep.cid_name if ep else ""),
                     context=context, exten=exten, state=state, created=self.clock.now())
        self.channels[ch.name] = ch
        self.emit("Newchannel", ch.fields())
        self.touch_device(ch)
        return ch

    def set_state(self, ch: Channel, state: int) -> None:
        """Change a channel's state: Newstate, then the device state."""
        ch.state = state
        if state == 6 and ch.answered is None:
            ch.answered = self.clock.now()
        self.emit("Newstate", ch.fields())
        self.touch_device(ch)

    def set_var(self, ch: Channel, name: str, value: str) -> None:
        """Set a channel variable and emit VarSet."""
        ch.variables[name] = value
        self.emit("VarSet", ch.fields() + [("Variable", name), ("Value", value)], "dialplan,all")

    def emit_hangup(self, ch: Channel, cause: int) -> None:
        """Emit Hangup for ``ch``, forget it and update its device."""
        if ch.gone:
            return
        ch.gone = True
        self.emit("Hangup", ch.fields() + [("Cause", str(cause)), ("Cause-txt", CAUSE_TXT.get(cause, "Unknown"))])
        self.channels.pop(ch.name, None)
        ch.hungup.set()
        self.touch_device(ch)

    def touch_device(self, ch: Channel) -> None:
        """Recompute the PJSIP device state of ``ch``'s endpoint from its live channels."""
        dev = f"PJSIP/{ch.endpoint}"
        phone = self.phones.get(ch.endpoint)
        states = [c.state for c in self.channels.values() if c.endpoint == ch.endpoint and not c.gone]
        if phone is not None and not phone.registered and not states:
            new = "UNAVAILABLE"
        elif 5 in states:
            new = "RINGINUSE" if any(s in (4, 6) for s in states) else "RINGING"
        elif any(s in (4, 6) for s in states):
            new = "INUSE"
        else:
            new = "NOT_INUSE"
        self.devices.set(dev, new)

    def bridge_fields(self, bridge: Bridge, ch: Channel) -> Fields:
        """Fields of BridgeEnter/BridgeLeave."""
        return bridge.fields() + ch.fields()

    def find_channel(self, name: str) -> Channel | None:
        """A live channel by name."""
        return self.channels.get(name)

    # --- scripted parties ------------------------------------------------
    def set_phone(self, endpoint: str, phone: Phone) -> None:
        """Script the phone of ``endpoint``."""
        if endpoint not in self.endpoints:
            raise KeyError(f"unknown endpoint {endpoint!r}")
        self.phones[endpoint] = phone
        if not any(c.endpoint == endpoint for c in self.channels.values()):
            self.devices.set(f"PJSIP/{endpoint}", "NOT_INUSE" if phone.registered else "UNAVAILABLE")

    def phone(self, endpoint: str) -> Phone:
        """The phone script of ``endpoint`` (set_phone's, else the chooser's, else the default)."""
        if endpoint in self.phones:
            return self.phones[endpoint]
        if self.phone_chooser is not None:
            return self.phone_chooser(endpoint)
        return self.config.default_phone

    async def place_call(self, script: CallerScript) -> CallHandle:
        """Start an inbound call as the script says; returns once the channel exists."""
        ep = self.endpoints.get(script.endpoint)
        if ep is None:
            raise KeyError(f"unknown endpoint {script.endpoint!r}")
        ch = self.new_channel(script.endpoint, ep.context, script.dial, cid_num=script.number,
                              cid_name=script.name, state=4)
        ch.dnid = script.dial
        self.calls_processed += 1
        handle = CallHandle(ch, None)  # type: ignore[arg-type]
        ch.variables["__script"] = ""  # marker: a scripted caller (not shown in events)
        ch.script = script  # type: ignore[attr-defined]
        ch.handle = handle  # type: ignore[attr-defined]
        handle.task = self.spawn(self._run_call(ch, script))
        return handle

    async def _run_call(self, ch: Channel, script: CallerScript) -> None:
        side = [self.spawn(self._caller_side(ch, script))]
        try:
            await self.dialplan.run(ch)
        finally:
            for t in side:
                t.cancel()
            if not ch.gone:  # cancelled by stop(): still say goodbye on AMI
                self.emit_hangup(ch, 16)

    async def _caller_side(self, ch: Channel, script: CallerScript) -> None:
        """Feed the caller's digits and hang up when the script says."""
        start = self.clock.now()
        events = sorted([(t, "dtmf", d) for t, d in script.dtmf] +
                        ([(script.hangup_at, "hangup", "")] if script.hangup_at is not None else []))
        handle: CallHandle = ch.handle  # type: ignore[attr-defined]
        if script.hangup_after_answer is not None:
            self.spawn(self._hangup_after_answer(ch, handle, script.hangup_after_answer))
        for at, kind, arg in events:
            await self.clock.sleep(at - (self.clock.now() - start))
            if ch.gone or ch.hungup.is_set():
                return
            if kind == "hangup":
                ch.request_hangup(16)
                return
            for digit in arg:
                self.emit("DTMFEnd", ch.fields() + [("Digit", digit), ("DurationMs", "200"),
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
        await self.clock.sleep(after)
        ch.request_hangup(16)

    async def originate(self, endpoint: str, context: str, exten: str, priority: int = 1, cid_num: str = "",
                        cid_name: str = "", timeout: float = 30.0, account: str = "",
                        variables: dict[str, str] | None = None, uniqueid: str | None = None,
                        action_id: str | None = None) -> Channel | None:
        """AMI Originate (see pbxsim.dial.Dialer.originate)."""
        return await self.dialer.originate(endpoint, context, exten, priority, cid_num, cid_name, timeout, account,
                                           variables, uniqueid, action_id)

    # --- truth -----------------------------------------------------------
    def truth(self) -> dict:
        """What is really going on: members, channels and bridges (for tests and benchmarks)."""
        return {
            "members": [
                {"queue": q, "interface": m.interface, "name": m.name, "paused": m.paused,
                 "reason": m.reason, "status": m.status, "calls_taken": m.calls}
                for q, qs in self.queues.queues.items() for m in qs.members.values()],
            "channels": [
                {"channel": c.name, "uniqueid": c.uniqueid, "linkedid": c.linkedid, "state": c.state,
                 "caller": c.cid_num, "bridge": c.bridge.uniqueid if c.bridge else ""}
                for c in self.channels.values()],
            "waiting": {q: [e.channel.name for e in qs.entries] for q, qs in self.queues.queues.items()},
        }
