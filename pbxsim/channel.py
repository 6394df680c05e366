"""Channels and bridges: the objects every AMI event describes, with their header blocks."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar, cast

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
CAUSE_TXT = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "No user responding",
             21: "Call Rejected", 26: "Answered elsewhere", 34: "Circuit/channel congestion"}
EXT_STATUS = {"NOT_INUSE": (0, "Idle"), "INUSE": (1, "InUse"), "BUSY": (2, "Busy"),
              "UNAVAILABLE": (4, "Unavailable"), "RINGING": (8, "Ringing"),
              "RINGINUSE": (9, "InUse&Ringing"), "ONHOLD": (16, "Hold")}

Fields = list[tuple[str, str]]
T = TypeVar("T")


class ChannelHungUp(Exception):
    """Raised inside a channel's dialplan when the channel has been hung up."""


class Redirected(Exception):
    """Raised inside a channel's dialplan when AMI Redirect/Bridge moved it (features/moves.py)."""


class FeatureSlots:
    """Typed per-object state of the features that work on a channel or bridge.

    A feature keeps what it needs in a class of its own (constructible without arguments)
    and reaches it with ``obj.feature(ThatClass)``; the object itself knows no feature.
    """

    features: dict[type, Any]

    def feature(self, kind: type[T]) -> T:
        """This object's state of one feature (``kind()`` on first use)."""
        state = self.features.get(kind)
        if state is None:
            state = self.features[kind] = kind()
        return cast(T, state)

    def feature_if(self, kind: type[T]) -> T | None:
        """This object's state of one feature if it has any (None: the feature never touched it)."""
        return cast("T | None", self.features.get(kind))


@dataclass(eq=False)  # identity: compared and looked up by object, never by value
class Channel(FeatureSlots):
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
    # it has been in a bridge: Asterisk then ends it with Hangup Cause 16 even when an AMI Hangup
    # finds it in an application of its own (traces 07, 18: moved out of the queue's bridge), where a
    # channel never bridged gets Cause 0 (trace 20: VoiceMail; trace 18: the spy channel)
    was_bridged: bool = False
    variables: dict[str, str] = field(default_factory=dict)
    cdr: dict[str, str] = field(default_factory=dict)  # CDR(...) fields the dialplan set (userfield)
    hangup_cause: int | None = None
    hungup: asyncio.Event = field(default_factory=asyncio.Event)
    dtmf: asyncio.Queue = field(default_factory=asyncio.Queue)
    gone: bool = False  # Hangup event already sent
    # the hangup was asked for on AMI (Hangup action) or by the PBX itself, not by the phone:
    # no HangupRequest of the phone's, and the owner of the channel says no more
    hangup_by_ami: bool = False
    holding: bool = False  # this channel's phone put the call on hold (re-INVITE sendonly)
    held: bool = False  # this channel hears music because its bridged peer holds (device ONHOLD)
    scripted: bool = False  # an inbound caller played by a CallerScript (which decides when it hangs up)
    audiohooks: int = 0  # recordings attached (MixMonitor): Asterisk never optimises such a Local half away
    # call control (features/moves.py): a pending AMI Redirect/Bridge, and the event that wakes the channel
    redirect: object = None
    kick: asyncio.Event = field(default_factory=asyncio.Event)
    # after a move, the application the channel was interrupted in: its next Newexten shows it (trace 07)
    moved_from: tuple[str, str] | None = None
    # an AMI Bridge took the channel out of the application it ran (main/bridge.c ast_channel_yank: a
    # masquerade, so the application ends without a word on AMI: ChanSpy sends no ChanSpyStop, trace 18)
    yanked: bool = False
    # the context, extension and priority of the channel's last Newexten: Asterisk sends one only when
    # they change (manager_channels.c channel_newexten), e.g. not for the step an after-bridge goto led to
    newexten_at: tuple[str, str, int] | None = None
    features: dict[type, Any] = field(default_factory=dict, repr=False)

    @property
    def tech(self) -> str:
        """The channel technology: ``PJSIP`` or ``Local``."""
        return self.name.split("/", 1)[0]

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


# The owner of a bridge (queue call, Dial, a talk loop) hands the end of the call to this when a
# feature set it (Atxfer, Local optimisation): (owner's channel or None, its peer or None,
# the queue's AgentComplete block or None).
Takeover = Callable[["Channel | None", "Channel | None", "Fields | None"], Awaitable[None]]


@dataclass(eq=False)  # identity: compared and looked up by object, never by value
class Bridge(FeatureSlots):
    """A basic two-party bridge."""

    uniqueid: str = field(default_factory=lambda: str(uuid.uuid4()))
    technology: str = "simple_bridge"
    channels: list[Channel] = field(default_factory=list)
    no_optimize: bool = False  # a Local pair bridged here is never optimised away (consult bridge, ConfBridge)
    # the channel whose application runs this bridge (Queue's caller): an AMI Bridge moves it into the
    # new bridge with that application still running (main/bridge.c bridge_move_locked, trace 18)
    owner: Channel | None = None
    takeover: Takeover | None = None  # set by a feature that takes the call over from the bridge's owner
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set when a channel enters or leaves
    features: dict[type, Any] = field(default_factory=dict, repr=False)

    def fields(self) -> Fields:
        """The bridge snapshot block of Bridge* events."""
        return [("BridgeUniqueid", self.uniqueid), ("BridgeType", "basic"),
                ("BridgeTechnology", self.technology), ("BridgeCreator", "<unknown>"),
                ("BridgeName", "<unknown>"), ("BridgeNumChannels", str(len(self.channels))),
                ("BridgeVideoSourceMode", "none")]

    async def hand_over(self, owner: Channel | None, peer: Channel | None, complete: Fields | None) -> bool:
        """For a bridge's owner whose wait ended: True if a feature took the call over (and ended it)."""
        if self.takeover is None:
            return False
        await self.takeover(owner, peer, complete)
        return True
