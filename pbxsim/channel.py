"""Channels, their AMI header blocks, and the device/extension state registry."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Callable

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
CAUSE_TXT = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "No user responding",
             21: "Call Rejected", 26: "Answered elsewhere", 34: "Circuit/channel congestion"}
EXT_STATUS = {"NOT_INUSE": (0, "Idle"), "INUSE": (1, "InUse"), "BUSY": (2, "Busy"),
              "UNAVAILABLE": (4, "Unavailable"), "RINGING": (8, "Ringing"),
              "RINGINUSE": (9, "InUse&Ringing"), "ONHOLD": (16, "Hold")}

Fields = list[tuple[str, str]]


class ChannelHungUp(Exception):
    """Raised inside a channel's dialplan when the channel has been hung up."""


class Redirected(Exception):
    """Raised inside a channel's dialplan when AMI Redirect/Bridge moved it (pbxsim/moves.py)."""


@dataclass(eq=False)  # identity: compared and looked up by object, never by value
class Channel:
    """A simulated channel with the snapshot fields Asterisk puts in every event."""

    name: str
    uniqueid: str
    linkedid: str
    endpoint: str
    cid_num: str
    cid_name: str
    context: str
    exten: str
    priority: int = 1
    state: int = 0
    conn_num: str = "<unknown>"
    conn_name: str = "<unknown>"
    language: str = "en"
    accountcode: str = ""
    dnid: str = ""
    created: float = 0.0
    answered: float | None = None
    app: str = ""
    appdata: str = ""
    bridge: "Bridge | None" = None
    variables: dict[str, str] = field(default_factory=dict)
    hangup_cause: int | None = None
    hungup: asyncio.Event = field(default_factory=asyncio.Event)
    dtmf: asyncio.Queue = field(default_factory=asyncio.Queue)
    gone: bool = False  # Hangup event already sent
    holding: bool = False  # this channel's phone put the call on hold (re-INVITE sendonly)
    held: bool = False  # this channel hears music because its bridged peer holds (device ONHOLD)
    # call control (pbxsim/moves.py): a pending AMI Redirect/Bridge, and the event that wakes the channel
    redirect: object = None
    kick: asyncio.Event = field(default_factory=asyncio.Event)

    def fields(self, prefix: str = "") -> Fields:
        """The channel snapshot block (``Dest`` prefix for the peer of Dial*/Agent* events)."""
        return [
            (f"{prefix}Channel", self.name), (f"{prefix}ChannelState", str(self.state)),
            (f"{prefix}ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (f"{prefix}CallerIDNum", self.cid_num or "<unknown>"),
            (f"{prefix}CallerIDName", self.cid_name or "<unknown>"),
            (f"{prefix}ConnectedLineNum", self.conn_num), (f"{prefix}ConnectedLineName", self.conn_name),
            (f"{prefix}Language", self.language), (f"{prefix}AccountCode", self.accountcode),
            (f"{prefix}Context", self.context), (f"{prefix}Exten", self.exten),
            (f"{prefix}Priority", str(self.priority)), (f"{prefix}Uniqueid", self.uniqueid),
            (f"{prefix}Linkedid", self.linkedid),
        ]

    def request_hangup(self, cause: int = 16) -> None:
        """Mark the channel for hangup; whoever owns it runs the hangup sequence."""
        if self.hangup_cause is None:
            self.hangup_cause = cause
        self.hungup.set()

    def check(self) -> None:
        """Raise ChannelHungUp if a hangup was requested (Redirected if AMI moved the channel)."""
        if self.hungup.is_set():
            raise ChannelHungUp(self.name)
        if self.redirect is not None:
            raise Redirected(self.name)

    async def wait(self, clock, sim_seconds: float | None, digits: bool = False) -> str | None:
        """Wait up to ``sim_seconds`` (None = forever); return a digit if ``digits`` and one came.

        Raises ChannelHungUp when the channel is hung up meanwhile.
        """
        self.check()
        if digits and not self.dtmf.empty():
            return self.dtmf.get_nowait()
        waiters = [asyncio.ensure_future(self.hungup.wait()), asyncio.ensure_future(self.kick.wait())]
        if digits:
            waiters.append(asyncio.ensure_future(self.dtmf.get()))
        try:
            done, _ = await asyncio.wait(waiters, timeout=None if sim_seconds is None else clock.real(sim_seconds),
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                if not w.done():
                    w.cancel()
        if digits and len(waiters) > 2 and waiters[2] in done:
            digit = waiters[2].result()
            if self.hungup.is_set():
                raise ChannelHungUp(self.name)
            return digit
        self.check()
        return None


@dataclass(eq=False)  # identity: compared and looked up by object, never by value
class Bridge:
    """A basic two-party bridge."""

    uniqueid: str = field(default_factory=lambda: str(uuid.uuid4()))
    technology: str = "simple_bridge"
    channels: list[Channel] = field(default_factory=list)

    def fields(self) -> Fields:
        """The bridge snapshot block of Bridge* events."""
        return [("BridgeUniqueid", self.uniqueid), ("BridgeType", "basic"),
                ("BridgeTechnology", self.technology), ("BridgeCreator", "<unknown>"),
                ("BridgeName", "<unknown>"), ("BridgeNumChannels", str(len(self.channels))),
                ("BridgeVideoSourceMode", "none")]


class DeviceRegistry:
    """Device states with change-only DeviceStateChange, and hint ExtensionStatus."""

    def __init__(self, emit: Callable[[str, Fields], None], hints: dict[tuple[str, str], str]):
        self._emit = emit
        self.states: dict[str, str] = {}
        self.hints = hints  # (context, exten) -> device
        self.listeners: list[Callable[[str, str], None]] = []

    def seed(self, device: str, state: str) -> None:
        """Set a state silently (what Asterisk knows at boot)."""
        self.states[device] = state

    def set(self, device: str, state: str) -> None:
        """Set a device state, emitting DeviceStateChange and ExtensionStatus only on change."""
        old = self.states.get(device)
        if old == state:
            return
        self.states[device] = state
        for (ctx, exten), dev in self.hints.items():
            if dev == device:
                code, text = EXT_STATUS.get(state, (4, "Unavailable"))
                self._emit("ExtensionStatus", [("Exten", exten), ("Context", ctx), ("Hint", dev),
                                               ("Status", str(code)), ("StatusText", text)])
        self._emit("DeviceStateChange", [("Device", device), ("State", state)])
        for cb in list(self.listeners):
            cb(device, state)

    def get(self, device: str) -> str:
        """Current state of ``device`` (UNKNOWN if never set)."""
        return self.states.get(device, "UNKNOWN")
