"""ConfBridge: the ``ConfBridge(conf,bridge_profile,user_profile)`` application and the
``ConfbridgeList``, ``ConfbridgeListRooms``, ``ConfbridgeKick``, ``ConfbridgeMute``/
``ConfbridgeUnmute`` actions, as recorded in trace 10_conference.

What Asterisk 22 does, as recorded:

- the conference is a ``base``/``softmix`` bridge (creator ConfBridge, name = the
  conference) with a hidden announcer channel counted in ``BridgeNumChannels`` (so
  ``ConfbridgeStart`` shows 1, the first member's ``BridgeEnter`` 2);
- the channel that creates the conference sets it up (the announcer) before it joins:
  a channel arriving meanwhile gets in first (trace 10: the agent redirected with the
  customer joins before the customer that created it);
- per member: ``BridgeEnter`` then ``ConfbridgeJoin`` (Admin, Muted); a member alone
  hears music (``music_on_hold_when_empty``): ``MusicOnHoldStart`` before its
  ``BridgeEnter``, ``MusicOnHoldStop`` when someone else comes;
- a member hanging up: ``HangupRequest``, ``ConfbridgeLeave`` (the count before it left),
  ``BridgeLeave``, ``SoftHangupRequest``, ``Hangup``;
- ``ConfbridgeKick Channel=all`` (``All participants kicked``): members leave in reverse
  order of joining, the one left alone gets music for a moment, then ``ConfbridgeLeave``
  each (stale counts), ``ConfbridgeEnd``; the kicked members go on in the dialplan (the
  next priority, e.g. Hangup()); the last one out destroys the bridge.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from ..channel import Bridge, Channel, ChannelHungUp, Fields
from ..confparse import conf_sections

if TYPE_CHECKING:
    from ..sim import PbxSim

log = structlog.get_logger(__name__)

SETUP_SECONDS = 0.002  # simulated time the creator spends setting the conference up (announcer)


class ConfBridgeError(Exception):
    """Refused (the message is Asterisk's)."""


class ConfBridgeBridge(Bridge):
    """The conference's softmix bridge (the hidden announcer counted in BridgeNumChannels)."""

    name: str = ""
    announcer: bool = True  # the hidden announcer channel, gone when the bridge is destroyed
    # a Local channel in a conference stays (simulator: no optimisation into a conference;
    # a party added through Local/<number>@cti-outbound is listed as its ;1 half)
    no_optimize: bool = True

    def fields(self) -> Fields:
        return [("BridgeUniqueid", self.uniqueid), ("BridgeType", "base"), ("BridgeTechnology", "softmix"),
                ("BridgeCreator", "ConfBridge"), ("BridgeName", self.name),
                ("BridgeNumChannels", str(len(self.channels) + int(self.announcer))), ("BridgeVideoSourceMode", "none")]


@dataclass(eq=False)
class Member:
    channel: Channel
    joined: float
    admin: bool = False
    muted: bool = False
    moh: bool = False
    kicked: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class Conference:
    name: str
    bridge: ConfBridgeBridge
    moh_when_empty: bool = True
    members: list[Member] = field(default_factory=list)
    arriving: int = 0  # channels setting up to join (the creator)
    started: bool = False
    ended: bool = False
    inside: int = 0  # members still in the application (the last one out destroys the bridge)
    pending_leaves: list = field(default_factory=list)  # (member, count) kicked, not yet reported
    locked: bool = False


def conferences(sim: "PbxSim") -> dict[str, Conference]:
    """Live conferences by name."""
    d = getattr(sim, "_conferences", None)
    if d is None:
        d = sim._conferences = {}  # type: ignore[attr-defined]
    return d


def _user_profile(sim: "PbxSim", profile: str) -> dict[str, str]:
    """Options of a confbridge.conf user profile (music_on_hold_when_empty...)."""
    return dict(conf_sections(sim, "confbridge.conf").get(profile or "default_user", []))


def _yes(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("yes", "true", "1", "on")


def _join_fields(conf: Conference, m: Member) -> Fields:
    return ([("Conference", conf.name)] + conf.bridge.fields() + m.channel.fields()
            + [("Admin", "Yes" if m.admin else "No"), ("Muted", "Yes" if m.muted else "No")])


def _leave_fields(conf: Conference, m: Member, count: int) -> Fields:
    block = [(k, str(count)) if k == "BridgeNumChannels" else (k, v) for k, v in conf.bridge.fields()]
    return [("Conference", conf.name)] + block + m.channel.fields() + [("Admin", "Yes" if m.admin else "No")]


async def app_confbridge(dp, ch: Channel, data: str) -> None:
    """ConfBridge(conference[,bridge_profile[,user_profile]]): until kicked (returns) or hung up."""
    from ..engines.queues import wait_any
    sim = dp.sim
    args = [a.strip() for a in data.split(",")] if data else []
    name = args[0] if args else ""
    if not name:
        raise ChannelHungUp(ch.name)  # Asterisk: "ConfBridge requires an argument", hangs up
    profile = _user_profile(sim, args[2] if len(args) > 2 else "default_user")
    if ch.state != 6:
        sim.set_state(ch, 6)
    confs = conferences(sim)
    conf = confs.get(name)
    if conf is None:
        bridge = ConfBridgeBridge()
        bridge.name = name
        conf = Conference(name, bridge, _yes(profile.get("music_on_hold_when_empty"), False))
        confs[name] = conf
        sim.bridges[bridge.uniqueid] = bridge
        sim.emit("BridgeCreate", [(k, "0") if k == "BridgeNumChannels" else (k, v) for k, v in bridge.fields()])
        conf.arriving += 1
        try:
            await sim.clock.sleep(SETUP_SECONDS)  # the announcer is set up; others may get in first
        finally:
            conf.arriving -= 1
        if ch.hungup.is_set():
            _maybe_end(sim, conf)
            raise ChannelHungUp(ch.name)
    member = Member(ch, sim.clock.now(), muted=_yes(profile.get("startmuted"), False),
                    admin=_yes(profile.get("admin"), False))
    _join(sim, conf, member, _yes(profile.get("music_on_hold_when_empty"), conf.moh_when_empty))
    log.info("pbxsim_confbridge_join", conference=name, channel=ch.name, call_id=ch.linkedid,
             members=len(conf.members))
    conf.inside += 1
    try:
        await wait_any(sim.clock, [ch.hungup, member.kicked, ch.kick], None)
    finally:
        conf.inside -= 1
    if member in conf.members and ch.hungup.is_set():
        _hung_up(sim, conf, member)
        raise ChannelHungUp(ch.name)
    if member in conf.members:  # moved away (AMI Redirect): it leaves quietly
        _leave_event(sim, conf, member, len(conf.bridge.channels) + 1)
        _remove(sim, conf, member)
        _alone_music(sim, conf)
        _maybe_end(sim, conf)
        ch.check()
    # kicked: the last one out of the application destroys the bridge; the dialplan goes on
    if conf.pending_leaves and conf.inside == 0:
        _flush_leaves(sim, conf)
    if conf.ended and conf.inside == 0:
        kicked = getattr(sim, "_kicked_confs", [])
        if conf in kicked:
            kicked.remove(conf)
        _destroy(sim, conf)
    ch.check()


def _destroy(sim: "PbxSim", conf: Conference) -> None:
    """BridgeDestroy of the conference (its announcer gone first)."""
    from .local import destroy
    conf.bridge.announcer = False
    destroy(sim, conf.bridge)


def _join(sim: "PbxSim", conf: Conference, m: Member, moh_when_empty: bool) -> None:
    ch = m.channel
    if not conf.started:
        conf.started = True
        sim.emit("ConfbridgeStart", [("Conference", conf.name)] + conf.bridge.fields())
    alone = not conf.members
    for other in conf.members:
        if other.moh:
            other.moh = False
            sim.emit("MusicOnHoldStop", other.channel.fields())
    if alone and moh_when_empty:
        m.moh = True
        sim.emit("MusicOnHoldStart", ch.fields() + [("Class", "default")])
    conf.members.append(m)
    conf.bridge.channels.append(ch)
    ch.bridge = conf.bridge
    ch.app, ch.appdata = "ConfBridge", ch.appdata
    sim.emit("BridgeEnter", conf.bridge.fields() + ch.fields())
    if m.moh and conf.arriving:
        m.moh = False
        sim.emit("MusicOnHoldStop", ch.fields())
    sim.emit("ConfbridgeJoin", _join_fields(conf, m))


def _remove(sim: "PbxSim", conf: Conference, m: Member) -> None:
    ch = m.channel
    if m in conf.members:
        conf.members.remove(m)
    if ch in conf.bridge.channels:
        conf.bridge.channels.remove(ch)
        if ch.bridge is conf.bridge:
            ch.bridge = None
        sim.emit("BridgeLeave", conf.bridge.fields() + ch.fields())


def _leave_event(sim: "PbxSim", conf: Conference, m: Member, count: int) -> None:
    sim.emit("ConfbridgeLeave", _leave_fields(conf, m, count))


def _alone_music(sim: "PbxSim", conf: Conference) -> None:
    if len(conf.members) == 1 and conf.moh_when_empty and not conf.members[0].moh:
        conf.members[0].moh = True
        sim.emit("MusicOnHoldStart", conf.members[0].channel.fields() + [("Class", "default")])


def _maybe_end(sim: "PbxSim", conf: Conference) -> None:
    if conf.members or conf.ended:
        return
    conf.ended = True
    if not conf.started:  # its creator went before anyone joined
        _destroy(sim, conf)
        if conferences(sim).get(conf.name) is conf:
            del conferences(sim)[conf.name]
        return
    sim.emit("ConfbridgeEnd", [("Conference", conf.name)] + conf.bridge.fields())
    if not conf.bridge.channels and conf.inside == 0:
        _destroy(sim, conf)
        if conferences(sim).get(conf.name) is conf:
            del conferences(sim)[conf.name]


def _hung_up(sim: "PbxSim", conf: Conference, m: Member) -> None:
    """A member hung up (trace 10, 1002's BYE)."""
    ch = m.channel
    if not getattr(ch, "hangup_by_ami", False):
        sim.emit("HangupRequest", ch.fields())
    _leave_event(sim, conf, m, len(conf.bridge.channels) + 1)
    _remove(sim, conf, m)
    if m.moh:
        m.moh = False
        sim.emit("MusicOnHoldStop", ch.fields())
    sim.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
    sim.dialplan.emit_cdrs(ch)
    _alone_music(sim, conf)
    sim.emit_hangup(ch, 16)
    _maybe_end(sim, conf)
    log.info("pbxsim_confbridge_leave", conference=conf.name, channel=ch.name, call_id=ch.linkedid)


def kick(sim: "PbxSim", name: str, channel: str) -> str:
    """ConfbridgeKick Conference Channel (a channel name or ``all``/``participants``)."""
    if not name:
        raise ConfBridgeError("No Conference name provided.")
    if not _active(sim):
        raise ConfBridgeError("No active conferences.")
    conf = conferences(sim).get(name)
    if conf is None:
        raise ConfBridgeError("No Conference by that name found.")
    if channel in ("all", "participants"):
        targets = [m for m in conf.members if channel == "all" or not m.admin]
        if not targets:
            raise ConfBridgeError("No Channel by that name found in Conference.")
    else:
        targets = [m for m in conf.members if m.channel.name == channel]
        if not targets:
            raise ConfBridgeError("No Channel by that name found in Conference.")
    counts = []
    for m in reversed(targets):  # as recorded: the last to join leaves first
        counts.append((m, _leave_fields(conf, m, len(conf.bridge.channels) + 1)))  # as it was at the kick
        _remove(sim, conf, m)
        if conf.members:  # the one left alone hears music for a moment, even if kicked too (trace 10)
            _alone_music(sim, conf)
    # the kicked go on in the dialplan at once; the conference reports their leaving a moment
    # later (trace 10: after the customer's Hangup() asked for the hangup, before its Hangup)
    conf.pending_leaves = counts
    kicked_confs = getattr(sim, "_kicked_confs", None)
    if kicked_confs is None:
        kicked_confs = sim._kicked_confs = []  # type: ignore[attr-defined]
    if conf not in kicked_confs:
        kicked_confs.append(conf)
    _listen(sim)
    for m, _ in counts:
        m.kicked.set()
    log.info("pbxsim_confbridge_kick", conference=name, channel=channel, kicked=len(counts))
    return "All participants kicked" if channel == "all" else "User kicked"  # as app_confbridge.c words it


def _flush_leaves(sim: "PbxSim", conf: Conference) -> None:
    """ConfbridgeLeave of each kicked member (counts as they were), ConfbridgeEnd, music off."""
    counts, conf.pending_leaves = conf.pending_leaves, []
    for _m, fields in counts:
        sim.emit("ConfbridgeLeave", fields)
    _maybe_end_kicked(sim, conf)
    for m, _ in counts:
        if m.moh:
            m.moh = False
            sim.emit("MusicOnHoldStop", m.channel.fields())


def _listen(sim: "PbxSim") -> None:
    """Once per simulator: a kicked member's Hangup flushes its conference's pending leaves."""
    if getattr(sim, "_confbridge_listening", False):
        return
    sim._confbridge_listening = True  # type: ignore[attr-defined]

    def on_event(event: str, msg: Fields) -> None:
        if event != "Hangup":
            return
        name = next((v for k, v in msg if k == "Channel"), "")
        for conf in list(_all_confs(sim)):
            if any(m.channel.name == name for m, _ in conf.pending_leaves):
                _flush_leaves(sim, conf)

    sim.listeners.append(on_event)


def _all_confs(sim: "PbxSim") -> list[Conference]:
    return list(getattr(sim, "_kicked_confs", []))


def _maybe_end_kicked(sim: "PbxSim", conf: Conference) -> None:
    """After a kick: ConfbridgeEnd when empty; the bridge goes with the last member's exit."""
    if conf.members or conf.ended:
        return
    conf.ended = True
    sim.emit("ConfbridgeEnd", [("Conference", conf.name)] + conf.bridge.fields())
    if conferences(sim).get(conf.name) is conf:
        del conferences(sim)[conf.name]


def list_members(sim: "PbxSim", name: str, aid: Fields) -> list[Fields]:
    """ConfbridgeList items (join order)."""
    if not name:
        raise ConfBridgeError("No Conference name provided.")
    if not _active(sim):
        raise ConfBridgeError("No active conferences.")
    conf = conferences(sim).get(name)
    if conf is None or not conf.members:
        raise ConfBridgeError("No Conference by that name found.")
    now = sim.clock.now()
    out = []
    for m in conf.members:
        ch = m.channel
        answered = int(now - ch.answered) if ch.answered else 0
        out.append([("Event", "ConfbridgeList")] + aid + [
            ("Conference", conf.name), ("Admin", "Yes" if m.admin else "No"), ("MarkedUser", "No"),
            ("WaitMarked", "No"), ("EndMarked", "No"), ("EndMarkedAny", "No"), ("Waiting", "No"),
            ("Muted", "Yes" if m.muted else "No"), ("Talking", "No"), ("AnsweredTime", str(answered))]
            + ch.fields())
    return out


def _active(sim: "PbxSim") -> list[Conference]:
    return [c for c in conferences(sim).values() if c.members]


def list_rooms(sim: "PbxSim", aid: Fields) -> list[Fields]:
    """ConfbridgeListRooms items."""
    confs = [c for c in conferences(sim).values() if c.members]
    if not confs:
        raise ConfBridgeError("No active conferences.")
    return [[("Event", "ConfbridgeListRooms")] + aid + [
        ("Conference", c.name), ("Parties", str(len(c.members))), ("Marked", "0"),
        ("Locked", "Yes" if c.locked else "No"), ("Muted", "No")] for c in confs]


def mute(sim: "PbxSim", name: str, channel: str, muted: bool) -> str:
    """ConfbridgeMute / ConfbridgeUnmute (ConfbridgeMute / ConfbridgeUnmute events)."""
    if not name:
        raise ConfBridgeError("No Conference name provided.")
    if not channel:
        raise ConfBridgeError("No channel name provided.")
    if not _active(sim):
        raise ConfBridgeError("No active conferences.")
    conf = conferences(sim).get(name)
    if conf is None:
        raise ConfBridgeError("No Conference by that name found.")
    targets = [m for m in conf.members if channel.lower() in ("all", "participants") or m.channel.name == channel]
    if not targets:
        raise ConfBridgeError("No Channel by that name found in Conference.")
    for m in targets:
        m.muted = muted
        sim.emit("ConfbridgeMute" if muted else "ConfbridgeUnmute",
                 [("Conference", conf.name)] + conf.bridge.fields() + m.channel.fields() +
                 [("Admin", "Yes" if m.admin else "No")])
    return "User muted" if muted else "User unmuted"
