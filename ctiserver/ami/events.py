"""AMI messages -> typed events, with Asterisk's inconsistencies ironed out here, once.

The rest of the server never reads an AMI header name. What real Asterisk 22 does
(see ../shared/ami-traces/README.md) and this module absorbs:

- the member is ``Name``/``Location`` in ``QueueMember`` list items but
  ``MemberName``/``Interface`` in ``QueueMember*`` events;
- ``RingTime`` is milliseconds in ``AgentRingNoAnswer`` and seconds in ``AgentConnect``;
- ``BridgeId`` / ``BridgeID`` / ``BridgeUniqueid`` name the same thing;
- ``Duration`` in ``CoreShowChannel`` is ``HH:MM:SS``.

Events the server does not use translate to ``None`` and cost one dict lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ctiserver.ami.message import AmiMessage


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """Fields every channel event carries."""

    at: float
    uniqueid: str
    linkedid: str
    channel: str


@dataclass(frozen=True, slots=True)
class ChannelCreated(ChannelEvent):
    state: int
    caller_num: str
    caller_name: str
    context: str
    exten: str


@dataclass(frozen=True, slots=True)
class CallerIdSet(ChannelEvent):
    """NewCallerid: the dialplan (``Set(CALLERID(num)=…)``), an AGI or the channel driver changed
    the channel's caller id after Newchannel."""

    caller_num: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class ChannelStateChanged(ChannelEvent):
    state: int
    connected_num: str = ""  # who the channel is connected to (an Originate's CallerID shows here)
    connected_name: str = ""


@dataclass(frozen=True, slots=True)
class ChannelHungUp(ChannelEvent):
    cause: int
    cause_txt: str


@dataclass(frozen=True, slots=True)
class HangupRequested(ChannelEvent):
    """HangupRequest/SoftHangupRequest: who asked first tells who hung up."""

    cause: int


@dataclass(frozen=True, slots=True)
class DialplanStep(ChannelEvent):
    context: str
    exten: str
    priority: int
    application: str
    appdata: str


@dataclass(frozen=True, slots=True)
class ChannelHold(ChannelEvent):
    """Hold/Unhold: the phone of this channel put its peer on hold (SIP re-INVITE) or took it back."""

    held: bool


@dataclass(frozen=True, slots=True)
class DtmfReceived(ChannelEvent):
    digit: str


@dataclass(frozen=True, slots=True)
class VariableSet(ChannelEvent):
    variable: str
    value: str


@dataclass(frozen=True, slots=True)
class RecordingStarted(ChannelEvent):
    """MixMonitorStart: the channel is being recorded (its file came in VarSet MIXMONITOR_FILENAME)."""


@dataclass(frozen=True, slots=True)
class RecordingStopped(ChannelEvent):
    """MixMonitorStop (StopMixMonitor); a recording that ends with its channel has only the Hangup."""


@dataclass(frozen=True, slots=True)
class OriginateResult:
    """OriginateResponse: an asynchronous Originate's phone answered (ok), or did not / could not ring."""

    at: float
    uniqueid: str  # the ChannelId given to the Originate (``<null>`` when no channel was ever made)
    channel: str  # the dial string (PJSIP/1900) or the channel
    ok: bool
    reason: int


@dataclass(frozen=True, slots=True)
class SpyStarted:
    """ChanSpyStart: the spyer channel (a supervisor's phone) hears the spyee (an agent's channel)."""

    at: float
    spyer_uniqueid: str
    spyer_channel: str
    spyee_uniqueid: str
    spyee_linkedid: str
    spyee_channel: str


@dataclass(frozen=True, slots=True)
class SpyStopped:
    """ChanSpyStop: the spyer no longer hears the spyee (either hung up, or the spyee went away)."""

    at: float
    spyer_uniqueid: str
    spyer_channel: str


@dataclass(frozen=True, slots=True)
class DialEnded(ChannelEvent):
    dest_uniqueid: str
    dest_channel: str
    status: str


@dataclass(frozen=True, slots=True)
class BridgeEntered(ChannelEvent):
    bridge_id: str


@dataclass(frozen=True, slots=True)
class BridgeLeft(ChannelEvent):
    bridge_id: str


@dataclass(frozen=True, slots=True)
class CallerJoinedQueue(ChannelEvent):
    queue: str
    position: int
    caller_num: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class CallerLeftQueue(ChannelEvent):
    queue: str


@dataclass(frozen=True, slots=True)
class CallerAbandoned(ChannelEvent):
    queue: str
    hold_time: int


@dataclass(frozen=True, slots=True)
class AgentCalled(ChannelEvent):
    """A queue rings a member. ``uniqueid`` is the caller's leg, ``dest_*`` the agent's."""

    queue: str
    interface: str
    member_name: str
    dest_uniqueid: str
    dest_channel: str
    caller_num: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class AgentConnected(ChannelEvent):
    queue: str
    interface: str
    dest_uniqueid: str
    dest_channel: str
    hold_seconds: float
    ring_seconds: float


@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer(ChannelEvent):
    """Ring timeout or decline (a 486 is reported the same way; the agent leg's cause tells)."""

    queue: str
    interface: str
    dest_uniqueid: str
    dest_channel: str
    ring_seconds: float


@dataclass(frozen=True, slots=True)
class AgentCompleted(ChannelEvent):
    """Unreliable once a call has been moved (README of the traces): never ends a record."""

    queue: str
    interface: str
    reason: str


@dataclass(frozen=True, slots=True)
class MemberState:
    """A queue member as Asterisk reports it (event or QueueStatus list item)."""

    at: float
    kind: str  # added | removed | pause | status | list
    queue: str
    interface: str
    member_name: str
    state_interface: str
    status: int
    paused: bool
    reason: str
    in_call: bool
    login_time: int
    penalty: int


@dataclass(frozen=True, slots=True)
class ChannelSnapshot:
    """One channel of a CoreShowChannels answer."""

    at: float
    uniqueid: str
    linkedid: str
    channel: str
    state: int
    caller_num: str
    caller_name: str
    connected_num: str
    connected_name: str
    context: str
    exten: str
    application: str
    appdata: str
    bridge_id: str
    duration: float


@dataclass(frozen=True, slots=True)
class QueueEntrySnapshot:
    """One waiting caller of a QueueStatus answer."""

    at: float
    queue: str
    position: int
    uniqueid: str
    channel: str
    caller_num: str
    caller_name: str
    wait: float


@dataclass(frozen=True, slots=True)
class UserEvent:
    at: float
    name: str
    uniqueid: str
    linkedid: str
    fields: dict[str, str]


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(text) if text not in (None, "") else default
    except ValueError:
        return default


def _float(text: str | None, default: float = 0.0) -> float:
    try:
        return float(text) if text not in (None, "") else default
    except ValueError:
        return default


def _hms(text: str | None) -> float:
    if not text:
        return 0.0
    try:
        parts = [int(p) for p in text.split(":")]
    except ValueError:
        return 0.0
    seconds = 0
    for p in parts:
        seconds = seconds * 60 + p
    return float(seconds)


def _s(m: AmiMessage, key: str) -> str:
    return m.get(key) or ""


def _known(value: str | None) -> str:
    """Asterisk writes '<unknown>' for an empty caller id."""
    return "" if value in (None, "<unknown>") else value


def _chan(m: AmiMessage) -> tuple[float, str, str, str]:
    return m.timestamp, _s(m, "Uniqueid"), _s(m, "Linkedid"), _s(m, "Channel")


def _dest(m: AmiMessage) -> tuple[str, str]:
    return _s(m, "DestUniqueid"), _s(m, "DestChannel")


def _member(m: AmiMessage, kind: str) -> MemberState:
    interface = m.get("Interface") or m.get("Location") or ""
    return MemberState(
        at=m.timestamp, kind=kind, queue=_s(m, "Queue"), interface=interface,
        member_name=m.get("MemberName") or m.get("Name") or "",
        state_interface=m.get("StateInterface") or interface,
        status=_int(m.get("Status")), paused=_s(m, "Paused") == "1", reason=_s(m, "PausedReason"),
        in_call=_s(m, "InCall") == "1", login_time=_int(m.get("LoginTime")), penalty=_int(m.get("Penalty")),
    )


_USER_EVENT_SKIP = {"event", "privilege", "userevent", "uniqueid", "linkedid", "timestamp"}

_TRANSLATORS: dict[str, Callable[[AmiMessage], object]] = {
    "Newchannel": lambda m: ChannelCreated(*_chan(m), _int(m.get("ChannelState")), _s(m, "CallerIDNum"),
                                           _s(m, "CallerIDName"), _s(m, "Context"), _s(m, "Exten")),
    "NewCallerid": lambda m: CallerIdSet(*_chan(m), _known(m.get("CallerIDNum")), _known(m.get("CallerIDName"))),
    "Newstate": lambda m: ChannelStateChanged(*_chan(m), _int(m.get("ChannelState")),
                                              _known(m.get("ConnectedLineNum")), _known(m.get("ConnectedLineName"))),
    "Hangup": lambda m: ChannelHungUp(*_chan(m), _int(m.get("Cause")), _s(m, "Cause-txt")),
    "HangupRequest": lambda m: HangupRequested(*_chan(m), _int(m.get("Cause"))),
    "SoftHangupRequest": lambda m: HangupRequested(*_chan(m), _int(m.get("Cause"))),
    "Newexten": lambda m: DialplanStep(*_chan(m), _s(m, "Context"), _s(m, "Extension") or _s(m, "Exten"),
                                       _int(m.get("Priority")), _s(m, "Application"), _s(m, "AppData")),
    "DTMFEnd": lambda m: (DtmfReceived(*_chan(m), _s(m, "Digit"))
                          if _s(m, "Direction") == "Received" else None),
    "Hold": lambda m: ChannelHold(*_chan(m), True),
    "Unhold": lambda m: ChannelHold(*_chan(m), False),
    "VarSet": lambda m: VariableSet(*_chan(m), _s(m, "Variable"), _s(m, "Value")),
    "OriginateResponse": lambda m: OriginateResult(m.timestamp, _s(m, "Uniqueid"), _s(m, "Channel"),
                                                   _s(m, "Response").lower() == "success", _int(m.get("Reason"))),
    "ChanSpyStart": lambda m: SpyStarted(m.timestamp, _s(m, "SpyerUniqueid"), _s(m, "SpyerChannel"),
                                         _s(m, "SpyeeUniqueid"), _s(m, "SpyeeLinkedid"), _s(m, "SpyeeChannel")),
    "ChanSpyStop": lambda m: SpyStopped(m.timestamp, _s(m, "SpyerUniqueid"), _s(m, "SpyerChannel")),
    "MixMonitorStart": lambda m: RecordingStarted(*_chan(m)),
    "MixMonitorStop": lambda m: RecordingStopped(*_chan(m)),
    "DialEnd": lambda m: DialEnded(*_chan(m), *_dest(m), _s(m, "DialStatus")),
    "BridgeEnter": lambda m: BridgeEntered(*_chan(m), m.get("BridgeUniqueid") or _s(m, "BridgeId")),
    "BridgeLeave": lambda m: BridgeLeft(*_chan(m), m.get("BridgeUniqueid") or _s(m, "BridgeId")),
    "QueueCallerJoin": lambda m: CallerJoinedQueue(*_chan(m), _s(m, "Queue"), _int(m.get("Position")),
                                                   _s(m, "CallerIDNum"), _s(m, "CallerIDName")),
    "QueueCallerLeave": lambda m: CallerLeftQueue(*_chan(m), _s(m, "Queue")),
    "QueueCallerAbandon": lambda m: CallerAbandoned(*_chan(m), _s(m, "Queue"), _int(m.get("HoldTime"))),
    "AgentCalled": lambda m: AgentCalled(*_chan(m), _s(m, "Queue"), _s(m, "Interface"), _s(m, "MemberName"),
                                         *_dest(m), _s(m, "CallerIDNum"), _s(m, "CallerIDName")),
    "AgentConnect": lambda m: AgentConnected(*_chan(m), _s(m, "Queue"), _s(m, "Interface"), *_dest(m),
                                             _float(m.get("HoldTime")), _float(m.get("RingTime"))),
    # RingTime is in milliseconds here (seconds in AgentConnect).
    "AgentRingNoAnswer": lambda m: AgentRingNoAnswer(*_chan(m), _s(m, "Queue"), _s(m, "Interface"), *_dest(m),
                                                     _float(m.get("RingTime")) / 1000.0),
    "AgentComplete": lambda m: AgentCompleted(*_chan(m), _s(m, "Queue"), _s(m, "Interface"), _s(m, "Reason")),
    "QueueMemberAdded": lambda m: _member(m, "added"),
    "QueueMemberRemoved": lambda m: _member(m, "removed"),
    "QueueMemberPause": lambda m: _member(m, "pause"),
    "QueueMemberStatus": lambda m: _member(m, "status"),
    "QueueMember": lambda m: _member(m, "list"),
    "CoreShowChannel": lambda m: ChannelSnapshot(
        m.timestamp, _s(m, "Uniqueid"), _s(m, "Linkedid"), _s(m, "Channel"), _int(m.get("ChannelState")),
        _s(m, "CallerIDNum"), _s(m, "CallerIDName"), _s(m, "ConnectedLineNum"), _s(m, "ConnectedLineName"),
        _s(m, "Context"), _s(m, "Exten"), _s(m, "Application"), _s(m, "ApplicationData"),
        m.get("BridgeId") or _s(m, "BridgeID"), _hms(m.get("Duration"))),
    "QueueEntry": lambda m: QueueEntrySnapshot(
        m.timestamp, _s(m, "Queue"), _int(m.get("Position")), _s(m, "Uniqueid"), _s(m, "Channel"),
        _s(m, "CallerIDNum"), _s(m, "CallerIDName"), _float(m.get("Wait"))),
    "UserEvent": lambda m: UserEvent(m.timestamp, _s(m, "UserEvent"), _s(m, "Uniqueid"), _s(m, "Linkedid"),
                                     {k: v for k, v in m.headers if k.lower() not in _USER_EVENT_SKIP}),
}


def translate(message: AmiMessage) -> object | None:
    """The typed event for an AMI message, or None when the server has no use for it."""
    fn = _TRANSLATORS.get(message.name)
    return fn(message) if fn else None


# Every queue event names the member by interface; agents are keyed by it.
def endpoint_of(channel_or_interface: str) -> str:
    """'PJSIP/1001-0000002a' or 'PJSIP/1001' -> 'PJSIP/1001' (Local ';1/;2' halves fold to their base)."""
    base = channel_or_interface.split(";", 1)[0]
    tech, sep, rest = base.partition("/")
    if not sep:
        return base
    if tech.upper() == "LOCAL":
        return base
    name = rest.rsplit("-", 1)[0] if "-" in rest else rest
    return f"{tech}/{name}"
