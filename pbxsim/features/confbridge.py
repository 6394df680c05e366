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

import structlog

from ..channel import Bridge, Channel, ChannelHungUp, Fields
from ..clock import wait_any
from ..engines.dialplan import Dialplan
from ..kernel.actions import ActionError, Reply, Request, list_reply
from ..kernel.kernel import Kernel

log = structlog.get_logger(__name__)

SETUP_SECONDS = 0.002  # simulated time the creator spends setting the conference up (announcer)


class ConfBridgeError(Exception):
    """Refused (the message is Asterisk's)."""


@dataclass(eq=False)
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


def _user_profile_of(kernel: Kernel, profile: str) -> dict[str, str]:
    """Options of a confbridge.conf user profile (music_on_hold_when_empty...)."""
    return dict(kernel.conf_files.sections("confbridge.conf").get(profile or "default_user", []))


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


class Conferences:
    """Every ConfBridge conference of one simulator: the application, its actions and events."""

    def __init__(self, kernel: Kernel, dialplan: Dialplan):
        self.kernel = kernel
        self.confs: dict[str, Conference] = {}  # live conferences by name
        self.kicked: list[Conference] = []  # conferences whose kicked members' leaving is not reported yet
        dialplan.register_app("ConfBridge", self.app_confbridge)
        # a kicked member's Hangup reports its conference's pending leaves first (trace 10)
        kernel.hooks.before_hangup.append(self._flush_for)
        kernel.hooks.truth.append(lambda: {"conferences": {name: [m.channel.name for m in c.members]
                                                           for name, c in self.confs.items()}})
        for name, handler, classes in (
                ("ConfbridgeList", self.action_confbridgelist, "reporting"),
                ("ConfbridgeListRooms", self.action_confbridgelistrooms, "reporting"),
                ("ConfbridgeKick", self.action_confbridgekick, "call"),
                ("ConfbridgeMute", self.action_confbridgemute, "call"),
                ("ConfbridgeUnmute", self.action_confbridgeunmute, "call")):
            kernel.register_action(name, handler, classes=(classes,))

    # --- AMI actions (trace 10) -------------------------------------------------
    def action_confbridgelist(self, req: Request) -> Reply:
        try:
            items = self.list_members(req.msg.get("conference", ""), req.aid)
        except ConfBridgeError as exc:
            raise ActionError(str(exc)) from None
        return list_reply(req.aid, "Confbridge user list will follow", "ConfbridgeListComplete", items)

    def action_confbridgelistrooms(self, req: Request) -> Reply:
        try:
            items = self.list_rooms(req.aid)
        except ConfBridgeError as exc:
            raise ActionError(str(exc)) from None
        return list_reply(req.aid, "Confbridge conferences will follow", "ConfbridgeListRoomsComplete", items)

    def action_confbridgekick(self, req: Request) -> Reply:
        try:
            text = self.kick(req.msg.get("conference", ""), req.msg.get("channel", ""))
        except ConfBridgeError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + req.aid + [("Message", text)]]

    def action_confbridgemute(self, req: Request) -> Reply:
        return self._mute_action(req, True)

    def action_confbridgeunmute(self, req: Request) -> Reply:
        return self._mute_action(req, False)

    def _mute_action(self, req: Request, muted: bool) -> Reply:
        try:
            text = self.mute(req.msg.get("conference", ""), req.msg.get("channel", ""), muted)
        except ConfBridgeError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + req.aid + [("Message", text)]]

    # --- the application -----------------------------------------------------------
    def _user_profile(self, profile: str) -> dict[str, str]:
        return _user_profile_of(self.kernel, profile)

    def _flush_for(self, ch: Channel) -> None:
        for conf in list(self.kicked):
            if any(m.channel is ch for m, _ in conf.pending_leaves):
                self._flush_leaves(conf)

    async def app_confbridge(self, dp: Dialplan, ch: Channel, data: str) -> None:
        """ConfBridge(conference[,bridge_profile[,user_profile]]): until kicked (returns) or hung up."""
        args = [a.strip() for a in data.split(",")] if data else []
        name = args[0] if args else ""
        if not name:
            raise ChannelHungUp(ch.name)  # Asterisk: "ConfBridge requires an argument", hangs up
        profile = self._user_profile(args[2] if len(args) > 2 else "default_user")
        if ch.state != 6:
            self.kernel.set_state(ch, 6)
        confs = self.confs
        conf = confs.get(name)
        if conf is None:
            bridge = ConfBridgeBridge()
            bridge.name = name
            conf = Conference(name, bridge, _yes(profile.get("music_on_hold_when_empty"), False))
            confs[name] = conf
            self.kernel.bridge_create(bridge, [(k, "0") if k == "BridgeNumChannels" else (k, v)
                                               for k, v in bridge.fields()])
            conf.arriving += 1
            try:
                await self.kernel.clock.sleep(SETUP_SECONDS)  # the announcer is set up; others may get in first
            finally:
                conf.arriving -= 1
            if ch.hungup.is_set():
                self._maybe_end(conf)
                raise ChannelHungUp(ch.name)
        member = Member(ch, self.kernel.clock.now(), muted=_yes(profile.get("startmuted"), False),
                        admin=_yes(profile.get("admin"), False))
        self._join(conf, member, _yes(profile.get("music_on_hold_when_empty"), conf.moh_when_empty))
        log.info("pbxsim_confbridge_join", conference=name, channel=ch.name, call_id=ch.linkedid,
                 members=len(conf.members))
        conf.inside += 1
        try:
            await wait_any(self.kernel.clock, [ch.hungup, member.kicked, ch.kick], None)
        finally:
            conf.inside -= 1
        if member in conf.members and ch.hungup.is_set():
            self._hung_up(conf, member)
            raise ChannelHungUp(ch.name)
        if member in conf.members:  # moved away (AMI Redirect): it leaves quietly
            self._leave_event(conf, member, len(conf.bridge.channels) + 1)
            self._remove(conf, member)
            self._alone_music(conf)
            self._maybe_end(conf)
            ch.check()
        # kicked: the last one out of the application destroys the bridge; the dialplan goes on
        if conf.pending_leaves and conf.inside == 0:
            self._flush_leaves(conf)
        if conf.ended and conf.inside == 0:
            if conf in self.kicked:
                self.kicked.remove(conf)
            self._destroy(conf)
        ch.check()

    def _destroy(self, conf: Conference) -> None:
        """BridgeDestroy of the conference (its announcer gone first)."""
        conf.bridge.announcer = False
        self.kernel.bridge_destroy(conf.bridge)

    def _join(self, conf: Conference, m: Member, moh_when_empty: bool) -> None:
        ch = m.channel
        if not conf.started:
            conf.started = True
            self.kernel.emit("ConfbridgeStart", [("Conference", conf.name)] + conf.bridge.fields())
        alone = not conf.members
        for other in conf.members:
            if other.moh:
                other.moh = False
                self.kernel.emit("MusicOnHoldStop", other.channel.fields())
        if alone and moh_when_empty:
            m.moh = True
            self.kernel.emit("MusicOnHoldStart", ch.fields() + [("Class", "default")])
        conf.members.append(m)
        ch.app, ch.appdata = "ConfBridge", ch.appdata
        self.kernel.bridge_enter(conf.bridge, ch)
        if m.moh and conf.arriving:
            m.moh = False
            self.kernel.emit("MusicOnHoldStop", ch.fields())
        self.kernel.emit("ConfbridgeJoin", _join_fields(conf, m))

    def _remove(self, conf: Conference, m: Member) -> None:
        ch = m.channel
        if m in conf.members:
            conf.members.remove(m)
        self.kernel.bridge_leave(conf.bridge, ch)

    def _leave_event(self, conf: Conference, m: Member, count: int) -> None:
        self.kernel.emit("ConfbridgeLeave", _leave_fields(conf, m, count))

    def _alone_music(self, conf: Conference) -> None:
        if len(conf.members) == 1 and conf.moh_when_empty and not conf.members[0].moh:
            conf.members[0].moh = True
            self.kernel.emit("MusicOnHoldStart", conf.members[0].channel.fields() + [("Class", "default")])

    def _maybe_end(self, conf: Conference) -> None:
        if conf.members or conf.ended:
            return
        conf.ended = True
        if not conf.started:  # its creator went before anyone joined
            self._destroy(conf)
            if self.confs.get(conf.name) is conf:
                del self.confs[conf.name]
            return
        self.kernel.emit("ConfbridgeEnd", [("Conference", conf.name)] + conf.bridge.fields())
        if not conf.bridge.channels and conf.inside == 0:
            self._destroy(conf)
            if self.confs.get(conf.name) is conf:
                del self.confs[conf.name]

    def _hung_up(self, conf: Conference, m: Member) -> None:
        """A member hung up (trace 10, 1002's BYE)."""
        ch = m.channel
        if not ch.hangup_by_ami:
            self.kernel.emit("HangupRequest", ch.fields())
        self._leave_event(conf, m, len(conf.bridge.channels) + 1)
        self._remove(conf, m)
        if m.moh:
            m.moh = False
            self.kernel.emit("MusicOnHoldStop", ch.fields())
        self.kernel.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
        self.kernel.emit_cdrs(ch)
        self._alone_music(conf)
        self.kernel.emit_hangup(ch, 16)
        self._maybe_end(conf)
        log.info("pbxsim_confbridge_leave", conference=conf.name, channel=ch.name, call_id=ch.linkedid)

    def kick(self, name: str, channel: str) -> str:
        """ConfbridgeKick Conference Channel (a channel name or ``all``/``participants``)."""
        if not name:
            raise ConfBridgeError("No Conference name provided.")
        if not self._active():
            raise ConfBridgeError("No active conferences.")
        conf = self.confs.get(name)
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
            self._remove(conf, m)
            if conf.members:  # the one left alone hears music for a moment, even if kicked too (trace 10)
                self._alone_music(conf)
        # the kicked go on in the dialplan at once; the conference reports their leaving a moment
        # later (trace 10: after the customer's Hangup() asked for the hangup, before its Hangup)
        conf.pending_leaves = counts
        if conf not in self.kicked:
            self.kicked.append(conf)
        for m, _ in counts:
            m.kicked.set()
        log.info("pbxsim_confbridge_kick", conference=name, channel=channel, kicked=len(counts))
        return "All participants kicked" if channel == "all" else "User kicked"  # as app_confbridge.c words it

    def _flush_leaves(self, conf: Conference) -> None:
        """ConfbridgeLeave of each kicked member (counts as they were), ConfbridgeEnd, music off."""
        counts, conf.pending_leaves = conf.pending_leaves, []
        for _m, fields in counts:
            self.kernel.emit("ConfbridgeLeave", fields)
        self._maybe_end_kicked(conf)
        for m, _ in counts:
            if m.moh:
                m.moh = False
                self.kernel.emit("MusicOnHoldStop", m.channel.fields())

    def _maybe_end_kicked(self, conf: Conference) -> None:
        """After a kick: ConfbridgeEnd when empty; the bridge goes with the last member's exit."""
        if conf.members or conf.ended:
            return
        conf.ended = True
        self.kernel.emit("ConfbridgeEnd", [("Conference", conf.name)] + conf.bridge.fields())
        if self.confs.get(conf.name) is conf:
            del self.confs[conf.name]

    def list_members(self, name: str, aid: Fields) -> list[Fields]:
        """ConfbridgeList items (join order)."""
        if not name:
            raise ConfBridgeError("No Conference name provided.")
        if not self._active():
            raise ConfBridgeError("No active conferences.")
        conf = self.confs.get(name)
        if conf is None or not conf.members:
            raise ConfBridgeError("No Conference by that name found.")
        now = self.kernel.clock.now()
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

    def _active(self) -> list[Conference]:
        return [c for c in self.confs.values() if c.members]

    def list_rooms(self, aid: Fields) -> list[Fields]:
        """ConfbridgeListRooms items."""
        confs = [c for c in self.confs.values() if c.members]
        if not confs:
            raise ConfBridgeError("No active conferences.")
        return [[("Event", "ConfbridgeListRooms")] + aid + [
            ("Conference", c.name), ("Parties", str(len(c.members))), ("Marked", "0"),
            ("Locked", "Yes" if c.locked else "No"), ("Muted", "No")] for c in confs]

    def mute(self, name: str, channel: str, muted: bool) -> str:
        """ConfbridgeMute / ConfbridgeUnmute (ConfbridgeMute / ConfbridgeUnmute events)."""
        if not name:
            raise ConfBridgeError("No Conference name provided.")
        if not channel:
            raise ConfBridgeError("No channel name provided.")
        if not self._active():
            raise ConfBridgeError("No active conferences.")
        conf = self.confs.get(name)
        if conf is None:
            raise ConfBridgeError("No Conference by that name found.")
        targets = [m for m in conf.members if channel.lower() in ("all", "participants") or m.channel.name == channel]
        if not targets:
            raise ConfBridgeError("No Channel by that name found in Conference.")
        for m in targets:
            m.muted = muted
            self.kernel.emit("ConfbridgeMute" if muted else "ConfbridgeUnmute",
                     [("Conference", conf.name)] + conf.bridge.fields() + m.channel.fields() +
                     [("Admin", "Yes" if m.admin else "No")])
        return "User muted" if muted else "User unmuted"
