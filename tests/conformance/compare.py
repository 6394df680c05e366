"""Normalising and comparing AMI streams: the simulator's against a recording.

What is compared, and what is ignored (and why):

- Ignored event types: ``VarSet``, ``CEL``, ``Cdr``, ``RTCPSent``/``RTCPReceived`` (media and
  accounting noise; README says Cdr-vs-Hangup order varies run to run), ``DeviceStateChange``
  and ``ExtensionStatus`` (their position relative to channel events varies between runs,
  README "QueueMemberStatus ... order varies"), ``NewConnectedLine``/``DialState``/
  ``NewCallerid`` (SIP signalling detail; a test whose dialplan changes the caller's number
  compares NewCallerid after all, ``assert_same_call(keep=...)``), ``FullyBooted``/``SuccessfulAuth`` (session noise,
  uptime/addresses), ``Newexten`` (the caller's dialplan path is checked separately as the list
  of applications it ran; the agent leg's ``AppQueue`` line is not).
- Ignored fields: timestamps, ids (Uniqueid, Linkedid, channel suffixes and bridge ids are
  replaced by aliases in order of appearance, so "same call" is still checked), caller-id
  texts, durations (HoldTime/TalkTime/RingTime are compared with a tolerance, since the
  simulator runs on a scaled clock), LoginTime/LastPause/LastCall (wall-clock epochs) and
  queue statistics that depend on earlier runs of the recording Asterisk (Completed,
  Abandoned, Holdtime, TalkTime of QueueParams/QueueSummary). ``InCall`` of
  QueueMemberStatus events is not compared: it depends on whether the device-state change
  is processed before or after AgentConnect, which varies (02: InCall=1, 03: InCall=0).
- Order: the recordings show that the interleaving of different channels' events varies run
  to run (02 vs 03: the caller's Hangup before or after the agent's BridgeLeave;
  QueueMemberStatus before or after DialEnd), so events are compared *per channel* (events
  naming a DestChannel belong to that dialled leg), *per bridge* and *per queue member*, each
  in its exact recorded order; plus the call's milestones (join, calls, connect, complete,
  abandon, bridge create/destroy) in their exact global order.
"""

from __future__ import annotations

import re
from typing import Iterable

from tests.conformance.trace import Headers

NOISE = {"VarSet", "CEL", "Cdr", "RTCPSent", "RTCPReceived", "DeviceStateChange", "ExtensionStatus",
         "NewConnectedLine", "DialState", "NewCallerid", "FullyBooted", "SuccessfulAuth", "Newexten"}
MILESTONES = {"QueueCallerJoin", "AgentCalled", "AgentRingNoAnswer", "AgentConnect", "AgentComplete",
              "QueueCallerAbandon", "BridgeCreate", "BridgeDestroy"}
KEY_FIELDS = ("Channel", "ChannelState", "Context", "Exten", "Priority", "Uniqueid", "Linkedid", "DestChannel",
              "DestChannelState", "Queue", "MemberName", "Interface", "StateInterface", "Membership", "Paused",
              "PausedReason", "Status", "CallsTaken", "Reason", "DialStatus", "DialString", "Cause",
              "Position", "OriginalPosition", "Count", "Digit", "Direction", "Class", "BridgeUniqueid",
              "BridgeNumChannels", "BridgeType", "Penalty", "Ringinuse", "UserEvent", "QueueStatus", "Attempt")
# seconds (or ms for AgentRingNoAnswer.RingTime) compared with a tolerance
TIMED = {"HoldTime": 1, "TalkTime": 1, "RingTime": 1}
LIST_FIELDS = {
    "QueueParams": ("Queue", "Max", "Strategy", "Calls", "Weight"),
    "QueueMember": ("Queue", "Name", "Location", "StateInterface", "Membership", "Penalty", "CallsTaken",
                    "InCall", "Status", "Paused", "PausedReason", "Wrapuptime"),
    "QueueEntry": ("Queue", "Position", "Channel", "Uniqueid", "CallerIDNum", "Priority"),
    "QueueSummary": ("Queue", "LoggedIn", "Available", "Callers"),
    "CoreShowChannel": ("Channel", "ChannelState", "Context", "Exten", "Priority", "Uniqueid", "Linkedid",
                        "Application", "ApplicationData", "BridgeId"),
    "BridgeListItem": ("BridgeUniqueid", "BridgeType", "BridgeNumChannels"),
    "ExtensionStatus": ("Exten", "Context", "Hint", "Status", "StatusText"),
    "Status": ("Channel", "ChannelState", "Context", "Exten", "Priority", "Uniqueid", "Linkedid", "Application",
               "Data", "BridgeID", "Type", "DNID"),
}
_SUFFIX = re.compile(r"^(?P<base>[A-Za-z]+/[^-]+)-(?P<seq>[0-9a-f]{8})$")


class Aliases:
    """Replace run-specific ids by stable aliases in order of appearance."""

    def __init__(self) -> None:
        self.maps: dict[str, dict[str, str]] = {}

    def _alias(self, kind: str, value: str) -> str:
        m = self.maps.setdefault(kind, {})
        if value not in m:
            m[value] = f"{kind}{len(m) + 1}"
        return m[value]

    def norm(self, key: str, value: str) -> str:
        if not value:
            return value
        if key in ("Channel", "DestChannel"):
            mt = _SUFFIX.match(value)
            return f"{mt.group('base')}-{self._alias('c', value)}" if mt else value
        if key in ("Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid"):
            return self._alias("u", value)
        if key in ("BridgeUniqueid", "BridgeId", "BridgeID"):
            return self._alias("b", value)
        return value


def _timed_ok(key: str, event: str, a: str, b: str) -> bool:
    try:
        x, y = int(a), int(b)
    except ValueError:
        return a == b
    tol = 1000 if (key == "RingTime" and event == "AgentRingNoAnswer") else TIMED[key]
    return abs(x - y) <= tol


class Item:
    """An event reduced to its name and key fields (normalised)."""

    def __init__(self, event: str, fields: dict[str, str], timed: dict[str, str]):
        self.event, self.fields, self.timed = event, fields, timed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Item) or self.event != other.event or self.fields != other.fields:
            return False
        return all(k not in other.timed or _timed_ok(k, self.event, v, other.timed[k]) for k, v in self.timed.items())

    def __repr__(self) -> str:
        body = " ".join(f"{k}={v}" for k, v in {**self.fields, **self.timed}.items())
        return f"<{self.event} {body}>"


def reduce(msgs: Iterable[Headers], fields: tuple[str, ...] = KEY_FIELDS, aliases: Aliases | None = None,
           noise: frozenset[str] | set[str] = NOISE) -> list[Item]:
    """Events of ``msgs`` (``noise`` dropped) as comparable items."""
    aliases = aliases or Aliases()
    out = []
    for h in msgs:
        ev = h.get("Event")
        if not ev or ev in noise:
            continue
        keep = {k: aliases.norm(k, h.get(k) or "") for k in fields if h.get(k) is not None}
        timed = {k: h.get(k) for k in TIMED if h.get(k) is not None}
        out.append(Item(ev, keep, timed))
    return out


def groups(items: list[Item]) -> dict[str, list[Item]]:
    """Per-channel / per-bridge / per-member sequences (see the module docstring)."""
    out: dict[str, list[Item]] = {}
    for it in items:
        f = it.fields
        keys = []
        if it.event.startswith("QueueMember"):
            keys.append("member:" + f.get("Interface", ""))
        elif f.get("DestChannel"):
            keys.append("chan:" + f["DestChannel"])
        elif f.get("Channel"):
            keys.append("chan:" + f["Channel"])
        if f.get("BridgeUniqueid"):
            keys.append("bridge:" + f["BridgeUniqueid"])
        for k in keys or ["misc"]:
            out.setdefault(k, []).append(it)
    return out


def unsolicited(msgs: Iterable[Headers]) -> list[Headers]:
    """Events that are not part of an action's reply (no ActionID)."""
    return [h for h in msgs if h.get("Event") and h.get("ActionID") is None]


def replies(msgs: Iterable[Headers]) -> dict[str, tuple]:
    """ActionID -> (Response, Message, EventList) of each action reply."""
    return {h.get("ActionID"): (h.get("Response"), h.get("Message"), h.get("EventList"))
            for h in msgs if h.get("Response") is not None and h.get("ActionID")}


def list_items(msgs: Iterable[Headers], action_id: str, aliases: Aliases | None = None) -> list[tuple]:
    """The items (and the Complete event) answering ``action_id``, reduced to their key fields."""
    aliases = aliases or Aliases()
    out = []
    for h in msgs:
        if h.get("ActionID") != action_id or not h.get("Event"):
            continue
        ev = h.get("Event")
        if ev.endswith("Complete"):
            out.append((ev, h.get("EventList"), h.get("ListItems")))
            continue
        out.append((ev,) + tuple((k, aliases.norm(k, h.get(k) or "")) for k in LIST_FIELDS.get(ev, ())
                                 if h.get(k) is not None))
    return out


def caller_apps(msgs: Iterable[Headers], channel_prefix: str = "PJSIP/caller-") -> list[tuple[str, str, str, str]]:
    """(Context, Exten, Priority, Application) of each Newexten of the caller's channel."""
    return [(h.get("Context"), h.get("Exten"), h.get("Priority"), h.get("Application"))
            for h in msgs if h.get("Event") == "Newexten" and (h.get("Channel") or "").startswith(channel_prefix)]


def assert_same_call(recorded: list[Headers], got: list[Headers], ignore: frozenset[str] = frozenset(),
                     dialplan: bool = True, keep: frozenset[str] = frozenset(),
                     also: tuple[str, ...] = ()) -> None:
    """The simulator's events tell the same story as the recording (see module docstring).

    ``ignore``: more fields not to compare; ``dialplan=False``: the caller's path through
    the dialplan is not compared (a FastAGI IVR instead of the recorded Background/WaitExten);
    ``keep``: noise events compared after all, each also a milestone (NewCallerid of a caller
    whose number the dialplan changes); ``also``: more fields compared (CallerIDNum).
    """
    fields = tuple(f for f in KEY_FIELDS + also if f not in ignore)
    noise = NOISE - keep
    milestones = MILESTONES | keep
    rec_items = reduce(unsolicited(recorded), fields, noise=noise)
    got_items = reduce(unsolicited(got), fields, noise=noise)
    rg, gg = groups(rec_items), groups(got_items)
    assert sorted(gg) == sorted(rg), f"different channels/bridges/members:\nrecorded {sorted(rg)}\ngot      {sorted(gg)}"
    for key in rg:
        assert gg[key] == rg[key], f"{key} differs:\nrecorded {rg[key]}\ngot      {gg[key]}"
    rm = [i.event for i in rec_items if i.event in milestones]
    gm = [i.event for i in got_items if i.event in milestones]
    assert gm == rm, f"milestones differ:\nrecorded {rm}\ngot      {gm}"
    if dialplan:
        assert caller_apps(got) == caller_apps(recorded), "the caller ran a different dialplan path"
