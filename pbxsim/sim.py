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
from .confparse import Endpoint
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
    # endpoints beyond pjsip.conf for load runs: PJSIP/<first>..<first+N-1>, configured as the
    # template endpoint (its context), caller id "Agent <n>" <n>; their phones are default_phone
    extra_agents: int = 0
    extra_agent_first: int = 2000
    extra_agent_template: str = "1001"
    # issue 4: where MixMonitor writes a silent WAV of each recording's length (None: no file)
    monitor_dir: str | None = None

    def __post_init__(self) -> None:
        if self.extra_agents < 0 or self.extra_agent_first < 0:
            raise ValueError("extra_agents and extra_agent_first must be >= 0")


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
        self._add_extra_agents()
        self.channels: dict[str, Channel] = {}
        self.by_endpoint: dict[str, dict[str, Channel]] = {}  # endpoint -> its live channels
        self.restarting = False
        self._silent = False  # True while restarting: nothing reaches anyone
        self.restart_task: asyncio.Task | None = None
        self.bridges: dict[str, Bridge] = {}
        # demo traffic may replace this to vary each ring (answer delay, talk time)
        self.phone_chooser: Callable[[str], Phone] | None = None
        self.phones: dict[str, Phone] = {}
        self.listeners: list[Callable[[str, Fields], None]] = []
        self._seq = 0
        hints = {(ctx, name): ext.hint for ctx, exts in contexts.items()
                 for name, ext in exts.items() if ext.hint}
        self.devices = DeviceRegistry(self._emit_plain, hints)
        self._seed_devices()
        self.calls_processed = 0
        self.started = time.time()
        self.tasks: set[asyncio.Task] = set()
        from .engines.dialplan import Dialplan
        from .engines.queues import QueueEngine
        self.queues = QueueEngine(self, queues)
        from .engines.dial import Dialer
        self.dialer = Dialer(self)
        self.dialplan = Dialplan(self)
        self.ami = None

    def _add_extra_agents(self) -> None:
        cfg = self.config
        if not cfg.extra_agents:
            return
        tpl = self.endpoints.get(cfg.extra_agent_template)
        context = tpl.context if tpl else "agents"
        for n in range(cfg.extra_agent_first, cfg.extra_agent_first + cfg.extra_agents):
            name = str(n)
            if name in self.endpoints:
                raise ValueError(f"extra agent {name} is already an endpoint of pjsip.conf")
            self.endpoints[name] = Endpoint(name, context, f"Agent {name}", name)

    def _seed_devices(self) -> None:
        """The device states Asterisk knows at boot (phones registered unless scripted not to)."""
        self.devices.states.clear()
        for name in self.endpoints:
            phone = self.phones.get(name) if hasattr(self, "phones") else None
            self.devices.seed(f"PJSIP/{name}", "UNAVAILABLE" if phone is not None and not phone.registered
                              else "NOT_INUSE")

    # --- lifecycle -------------------------------------------------------
    async def start(self) -> None:
        """Start the AMI server (``self.ami_port`` is the bound port)."""
        from .ami.server import AmiServer
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

    async def restart(self) -> None:
        """Asterisk restarts: AMI sessions dropped, every call gone, dynamic members gone.

        As a real restart: the AMI link goes first, so no Hangup (or any other event) reaches
        anyone; every channel and bridge is gone, queue members are forgotten
        (persistentmembers=no) with the queue statistics, devices are back to their boot
        state. The Uniqueid counter goes on (ids never repeat), phone scripts stay (phones
        re-register), and the AMI server listens again on the same port.
        """
        if self.restarting:
            return
        self.restarting = True
        log.info("pbxsim_restarting", channels=len(self.channels), ami_port=self.ami_port)
        try:
            if self.ami is not None:
                await self.ami.stop()
            self._silent = True
            for ch in list(self.channels.values()):
                ch.request_hangup(16)
            while self.tasks:  # calls, originates, AGI sessions: all cut
                pending = list(self.tasks)
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            for ch in list(self.channels.values()):
                ch.gone = True
                ch.hungup.set()
            self.channels.clear()
            self.by_endpoint.clear()
            self.bridges.clear()
            self.queues.reset()
            self._seed_devices()
            self.calls_processed = 0
            self.started = time.time()
        finally:
            self._silent = False
            self.restarting = False
        if self.ami is not None:
            await self.ami.start(self.config.ami_host, self.ami.port)
        log.info("pbxsim_restarted", ami_port=self.ami_port)

    def restart_soon(self) -> None:
        """Restart in the background (the SimRestart action: its reply goes out first)."""
        if self.restart_task is None or self.restart_task.done():
            self.restart_task = asyncio.ensure_future(self.restart())

    @property
    def ami_port(self) -> int:
        """The TCP port the AMI server listens on."""
        return self.ami.port if self.ami else 0

    async def stop(self) -> None:
        """Hang up everything, stop background tasks and close the AMI server."""
        if self.restart_task is not None:
            await asyncio.gather(self.restart_task, return_exceptions=True)
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
        if self._silent:
            return
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
        self.by_endpoint.setdefault(endpoint, {})[ch.name] = ch
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

    def set_callerid(self, ch: Channel, num: str | None = None, name: str | None = None) -> None:
        """Change the caller id of ``ch``; NewCallerid only when it really changes.

        As manager_channels.c's snapshot monitor: the event compares the channel's caller
        number and name before and after, and carries the new ones in the channel fields.
        """
        new_num = ch.cid_num if num is None else num
        new_name = ch.cid_name if name is None else name
        if (new_num, new_name) == (ch.cid_num, ch.cid_name):
            return
        ch.cid_num, ch.cid_name = new_num, new_name
        self.emit("NewCallerid", ch.fields() + [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])

    def emit_hangup(self, ch: Channel, cause: int) -> None:
        """Emit Hangup for ``ch``, forget it and update its device."""
        if ch.gone:
            return
        ch.gone = True
        from .features.moves import late_complete  # a redirected queue call's AgentComplete (traces 07 B, 08 C)
        late_complete(self, ch, after_hangup=False)
        self.emit("Hangup", ch.fields() + [("Cause", str(cause)), ("Cause-txt", CAUSE_TXT.get(cause, "Unknown"))])
        late_complete(self, ch, after_hangup=True)
        self.channels.pop(ch.name, None)
        mine = self.by_endpoint.get(ch.endpoint)
        if mine is not None:
            mine.pop(ch.name, None)
            if not mine:
                del self.by_endpoint[ch.endpoint]
        ch.hungup.set()
        self.touch_device(ch)

    def touch_device(self, ch: Channel) -> None:
        """Recompute the PJSIP device state of ``ch``'s endpoint from its live channels."""
        if ch.name.startswith("Local/"):  # issue 4: a Local channel (pbxsim/local.py) has no PJSIP device
            return
        dev = f"PJSIP/{ch.endpoint}"
        phone = self.phones.get(ch.endpoint)
        live = [c for c in self.by_endpoint.get(ch.endpoint, {}).values() if not c.gone]
        states = [c.state for c in live]
        if phone is not None and not phone.registered and not states:
            new = "UNAVAILABLE"
        elif 5 in states:
            new = "RINGINUSE" if any(s in (4, 6) for s in states) else "RINGING"
        elif any(c.state in (4, 6) and not c.held for c in live):
            new = "INUSE"
        elif any(c.held for c in live):
            new = "ONHOLD"  # trace 06: the party hearing hold music (as Asterisk aggregates)
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
        if not self.by_endpoint.get(endpoint):
            self.devices.set(f"PJSIP/{endpoint}", "NOT_INUSE" if phone.registered else "UNAVAILABLE")

    def phone(self, endpoint: str) -> Phone:
        """The phone script of ``endpoint`` (set_phone's, else the chooser's, else the default)."""
        if endpoint in self.phones:
            return self.phones[endpoint]
        if self.phone_chooser is not None:
            return self.phone_chooser(endpoint)
        return self.config.default_phone

    async def phone_hold(self, endpoint: str, held: bool = True) -> None:
        """The endpoint's phone holds (re-INVITE sendonly) or resumes (sendrecv) its bridged call.

        As trace 06: ``Hold`` (MusicClass) on the phone's channel, then ``MusicOnHoldStart``
        on the bridged party, whose device goes ONHOLD; resuming: ``Unhold``, the party's
        device back to INUSE, ``MusicOnHoldStop``. Holding twice changes nothing. Raises
        KeyError for an unknown endpoint, ValueError when it has no answered bridged call.
        """
        if endpoint not in self.endpoints:
            raise KeyError(f"unknown endpoint {endpoint!r}")
        chans = [c for c in self.by_endpoint.get(endpoint, {}).values()
                 if not c.gone and c.state == 6 and c.bridge is not None]
        if not chans:
            raise ValueError(f"{endpoint} has no answered call to {'hold' if held else 'resume'}")
        for ch in chans:
            if ch.holding == held:
                continue
            ch.holding = held
            peers = [p for p in ch.bridge.channels if p is not ch] if ch.bridge else []
            log.info("pbxsim_phone_hold", endpoint=endpoint, held=held, channel=ch.name, call_id=ch.linkedid)
            if held:
                self.emit("Hold", ch.fields() + [("MusicClass", "default")])
                for p in peers:
                    p.held = True
                    self.emit("MusicOnHoldStart", p.fields() + [("Class", "default")])
                    self.touch_device(p)
            else:
                self.emit("Unhold", ch.fields())
                for p in peers:
                    p.held = False
                    self.touch_device(p)
                    self.emit("MusicOnHoldStop", p.fields())

    async def place_call(self, script: CallerScript) -> CallHandle:
        """Start an inbound call as the script says; returns once the channel exists."""
        if self.restarting:
            raise RuntimeError("the simulated Asterisk is restarting")
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
    def interface_truth(self, interface: str) -> dict:
        """What ``interface`` (a queue member, e.g. ``PJSIP/1001``) is really doing (see truth())."""
        members = self.queues.memberships(interface)
        endpoint = interface.split("/", 1)[1] if interface.startswith("PJSIP/") else ""
        live = [c for c in self.by_endpoint.get(endpoint, {}).values() if not c.gone] if endpoint else []
        paused = [m for m in members if m.paused]
        wrap = [t for t in (self.queues.wrapup_until(m) for m in members) if t is not None]
        return {
            "queues": {m.queue: {"penalty": m.penalty, "paused": m.paused, "reason": m.reason, "status": m.status,
                                 "in_call": m.in_call, "ringing": m.ringing, "calls_taken": m.calls}
                       for m in members},
            "paused": bool(members) and len(paused) == len(members),
            "reason": paused[0].reason if paused else "",
            "device": self.devices.get(members[0].state_interface if members else interface),
            "ringing": any(c.state == 5 for c in live),
            "in_call": any(c.state == 6 for c in live),
            "in_queue_call": any(m.in_call for m in members),
            "on_hold": any(c.holding for c in live),
            "wrapup_until": max(wrap) if wrap else None,
            "channels": sorted(c.name for c in live),
        }

    def truth(self) -> dict:
        """What is really going on (for tests and benchmarks); the shape is in pbxsim/README.md."""
        interfaces = sorted({m.interface for qs in self.queues.queues.values() for m in qs.members.values()})
        return {
            "time": self.clock.now(),
            "interfaces": {i: self.interface_truth(i) for i in interfaces},
            "members": [
                {"queue": q, "interface": m.interface, "name": m.name, "paused": m.paused,
                 "reason": m.reason, "status": m.status, "calls_taken": m.calls, "penalty": m.penalty,
                 "in_call": m.in_call}
                for q, qs in self.queues.queues.items() for m in qs.members.values()],
            "channels": [
                {"channel": c.name, "uniqueid": c.uniqueid, "linkedid": c.linkedid, "state": c.state,
                 "caller": c.cid_num, "bridge": c.bridge.uniqueid if c.bridge else "", "holding": c.holding}
                for c in self.channels.values()],
            "waiting": {q: [e.channel.name for e in qs.entries] for q, qs in self.queues.queues.items()},
            **_features_truth(self),  # issue 4: recordings, conferences, spies (pbxsim/features.py)
        }


def _features_truth(sim: PbxSim) -> dict:
    from .features.catalog import truth
    return truth(sim)
