"""The kernel: configuration, events, channels, bridges, devices, phones, background tasks and hooks."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Callable

import structlog

from .. import confparse
from ..channel import CAUSE_TXT, Bridge, Channel, Fields
from ..clock import SimClock
from ..config import SimConfig
from ..confparse import ConfFiles, Endpoint
from ..scripts import Phone
from .actions import Action, Handler
from .devices import DeviceRegistry
from .events import privilege_of
from .hooks import Hooks

log = structlog.get_logger(__name__)

CID_PRES = ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")


class Kernel:
    """What every engine and feature shares: one simulated Asterisk's state and primitives."""

    def __init__(self, config: SimConfig):
        self.config = config
        self.clock = SimClock(config.time_scale)
        contexts, globals_, queues, endpoints = confparse.load_dir(config.conf_dir)
        if not contexts:
            raise FileNotFoundError(f"no extensions.conf in {Path(config.conf_dir)}")
        self.contexts, self.globals, self.endpoints = contexts, dict(globals_), endpoints
        self.queue_confs = queues
        self.conf_files = ConfFiles(config.conf_dir)
        self._add_extra_agents()
        self.channels: dict[str, Channel] = {}
        self.by_endpoint: dict[str, dict[str, Channel]] = {}  # endpoint -> its live channels
        self.bridges: dict[str, Bridge] = {}
        self.phones: dict[str, Phone] = {}
        # demo traffic may replace this to vary each ring (answer delay, talk time)
        self.phone_chooser: Callable[[str], Phone] | None = None
        self.listeners: list[Callable[[str, Fields], None]] = []  # in-process event listeners
        self.wire: Callable[[Fields], None] | None = None  # the AMI server's broadcast, after the listeners
        self.silent = False  # True while restarting: nothing reaches anyone
        self.hooks = Hooks()
        self.actions: dict[str, Action] = {}  # AMI actions of engines and features, by lowercased name
        self._seq = 0
        hints = {(ctx, name): ext.hint for ctx, exts in contexts.items()
                 for name, ext in exts.items() if ext.hint}
        self.devices = DeviceRegistry(self._emit_plain, hints)
        self.seed_devices()
        self.calls_processed = 0
        self.started = time.time()
        self.tasks: set[asyncio.Task] = set()

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

    def seed_devices(self) -> None:
        """The device states Asterisk knows at boot (phones registered unless scripted not to)."""
        self.devices.states.clear()
        for name in self.endpoints:
            phone = self.phones.get(name)
            self.devices.seed(f"PJSIP/{name}", "UNAVAILABLE" if phone is not None and not phone.registered
                              else "NOT_INUSE")

    def forget_calls(self) -> None:
        """Every channel and bridge is gone at once (a restart, after their tasks were cancelled)."""
        for ch in list(self.channels.values()):
            ch.gone = True
            ch.hungup.set()
        self.channels.clear()
        self.by_endpoint.clear()
        self.bridges.clear()

    def register_action(self, name: str, handler: Handler, classes: tuple[str, ...] = ()) -> None:
        """Offer an AMI action (``classes``: the write classes Asterisk registers it with)."""
        self.actions[name.lower()] = Action(handler, frozenset(classes))

    # --- background tasks ------------------------------------------------
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
        """Send an event to the in-process listeners, then to every AMI session with events on."""
        if self.silent:
            return
        if privilege is None:
            privilege = privilege_of(event)
        head: Fields = [("Event", event), ("Privilege", privilege)]
        if self.config.timestamp_events:
            head.append(("Timestamp", f"{self.clock.now():.6f}"))
        msg = head + fields
        for cb in list(self.listeners):
            cb(event, msg)
        if self.wire is not None:
            self.wire(msg)

    def _emit_plain(self, event: str, fields: Fields) -> None:
        self.emit(event, fields)

    # --- channels --------------------------------------------------------
    def next_uniqueid(self) -> tuple[int, str]:
        """The next channel sequence number and the Uniqueid Asterisk would give it."""
        seq = self._seq
        self._seq += 1
        return seq, f"{int(self.clock.now())}.{seq}"

    def new_channel(self, endpoint: str, context: str, exten: str, linkedid: str | None = None,
                    cid_num: str | None = None, cid_name: str | None = None, state: int = 0,
                    uniqueid: str | None = None) -> Channel:
        """Create a PJSIP channel with Asterisk's naming and ids, and emit Newchannel."""
        ep = self.endpoints.get(endpoint)
        seq, uid = self.next_uniqueid()
        uid = uniqueid or uid
        ch = Channel(name=f"PJSIP/{endpoint}-{seq:08x}", uniqueid=uid, linkedid=linkedid or uid,
                     endpoint=endpoint, cid_num=cid_num if cid_num is not None else (ep.cid_num if ep else ""),
                     cid_name=cid_name if cid_name is not None else (ep.cid_name if ep else ""),
                     context=context, exten=exten, state=state, created=self.clock.now())
        self.add_channel(ch)
        return ch

    def add_channel(self, ch: Channel) -> None:
        """A new channel exists: Newchannel (and its device, for a PJSIP one)."""
        self.channels[ch.name] = ch
        if ch.tech == "PJSIP":
            self.by_endpoint.setdefault(ch.endpoint, {})[ch.name] = ch
        self.emit("Newchannel", ch.fields())
        self.touch_device(ch)

    def find_channel(self, name: str) -> Channel | None:
        """A live channel by name."""
        return self.channels.get(name)

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
        self.emit("NewCallerid", ch.fields() + [CID_PRES])

    def emit_hangup(self, ch: Channel, cause: int) -> None:
        """Emit Hangup for ``ch``, forget it and update its device."""
        if ch.gone:
            return
        ch.gone = True
        for hook in list(self.hooks.before_hangup):
            hook(ch)
        self.emit("Hangup", ch.fields() + [("Cause", str(cause)), ("Cause-txt", CAUSE_TXT.get(cause, "Unknown"))])
        for hook in list(self.hooks.after_hangup):
            hook(ch)
        self.channels.pop(ch.name, None)
        mine = self.by_endpoint.get(ch.endpoint)
        if mine is not None:
            mine.pop(ch.name, None)
            if not mine:
                del self.by_endpoint[ch.endpoint]
        ch.hungup.set()
        self.touch_device(ch)

    def emit_cdrs(self, ch: Channel) -> None:
        """Emit the Cdr event of ``ch`` as it ends."""
        now = self.clock.now()
        start, answer = ch.created, ch.answered

        def fmt(t: float | None) -> str:
            return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) if t else ""
        self.emit("Cdr", [
            ("AccountCode", ch.accountcode), ("Source", ch.cid_num), ("Destination", ch.exten),
            ("DestinationContext", ch.context),
            ("CallerID", f'"{ch.cid_name}" <{ch.cid_num}>' if ch.cid_name else ch.cid_num),
            ("Channel", ch.name), ("DestinationChannel", ""),
            ("LastApplication", ch.app), ("LastData", ch.appdata),
            ("StartTime", fmt(start)), ("AnswerTime", fmt(answer)), ("EndTime", fmt(now)),
            ("Duration", str(int(now - start))),
            ("BillableSeconds", str(int(now - answer)) if answer else "0"),
            ("Disposition", "ANSWERED" if answer else "NO ANSWER"), ("AMAFlags", "DOCUMENTATION"),
            ("UniqueID", ch.uniqueid), ("UserField", ch.cdr.get("userfield", ""))])

    # --- devices and phones ----------------------------------------------
    def touch_device(self, ch: Channel) -> None:
        """Recompute the PJSIP device state of ``ch``'s endpoint from its live channels."""
        if ch.tech != "PJSIP":  # a Local channel has no device of its own
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

    # --- bridges ---------------------------------------------------------
    def bridge_create(self, bridge: Bridge, fields: Fields | None = None) -> Bridge:
        """A bridge exists: BridgeCreate (with ``fields`` instead of its own block when given)."""
        self.bridges[bridge.uniqueid] = bridge
        self.emit("BridgeCreate", bridge.fields() if fields is None else fields)
        return bridge

    def bridge_enter(self, bridge: Bridge, ch: Channel) -> None:
        """``ch`` enters ``bridge`` (BridgeEnter)."""
        bridge.channels.append(ch)
        ch.bridge = bridge
        ch.was_bridged = True
        self.emit("BridgeEnter", bridge.fields() + ch.fields())
        bridge.changed.set()

    def bridge_leave(self, bridge: Bridge, ch: Channel) -> None:
        """``ch`` leaves ``bridge`` (BridgeLeave), if it is in it."""
        if ch in bridge.channels:
            bridge.channels.remove(ch)
            if ch.bridge is bridge:
                ch.bridge = None
            self.emit("BridgeLeave", bridge.fields() + ch.fields())
            bridge.changed.set()

    def bridge_destroy(self, bridge: Bridge) -> None:
        """BridgeDestroy (once)."""
        if self.bridges.pop(bridge.uniqueid, None) is not None:
            self.emit("BridgeDestroy", bridge.fields())

    def answered(self, ch: Channel, interface: str) -> None:
        """``ch``'s call was answered by ``interface`` (a queue member or a dialled phone)."""
        for hook in list(self.hooks.answered):
            hook(ch, interface)
