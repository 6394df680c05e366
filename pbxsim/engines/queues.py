"""app_queue as the recorded Asterisk 22 behaves: members, callers, ringing, bridging.

Event sequences follow ../shared/ami-traces (02 answer, 03 ring-no-answer, 04 abandon,
16 decline with 486, 12 AMI Hangup of a bridged caller, 05 pausing a ringing member).
Times are simulated seconds.

Who is rung (app_queue's can_ring_entry / calc_metric): a member that is not paused, not
already ringing, whose device is free (``ringinuse=no``: NOT_INUSE only, so any call of
the device, also outside the queues, keeps it out; ``ringinuse=yes``: also INUSE/ONHOLD),
and whose ``wrapuptime`` since the end of its last queue call has passed (the last call
is shared between queues, as ``shared_lastcall=yes``); of those, the lowest ``penalty``
tier, in the strategy's order.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from ..channel import Bridge, Channel, ChannelHungUp, Fields
from ..confparse import QueueConf
from ..scripts import Phone

if TYPE_CHECKING:
    from ..sim import PbxSim

log = structlog.get_logger(__name__)

IDLE_POLL = 5.0  # simulated seconds a waiting caller sleeps at most without a change (a safety net)

# AST_DEVICE_* numbering used by QueueMember*/QueueMember Status
DEVICE_STATUS = {"UNKNOWN": 0, "NOT_INUSE": 1, "INUSE": 2, "BUSY": 3, "INVALID": 4, "UNAVAILABLE": 5,
                 "RINGING": 6, "RINGINUSE": 7, "ONHOLD": 8}


def _compress_char(c: str) -> int:
    v = ord(c) & 0x7F
    return 0 if v < 32 else (v - 64 if v > 96 else v - 32)


def member_bucket(interface: str) -> int:
    """app_queue's member_hash_fn bucket (37 buckets): the order Asterisk iterates members in."""
    name = interface[interface.index("/"):] if "/" in interface else interface
    return sum(_compress_char(name[i]) << (i * 6) for i in range(min(5, len(name)))) % 37


class QueueError(Exception):
    """An AMI queue action refused; the message is Asterisk's text."""


@dataclass(eq=False)  # identity: compared and looked up by object, never by value
class Member:
    """A dynamic queue member."""

    queue: str
    interface: str
    name: str
    state_interface: str
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    login_time: int = 0
    last_pause: int = 0
    calls: int = 0
    last_call: int = 0
    in_call: bool = False
    status: int = 1
    ringing: bool = False  # being rung by a caller of this queue
    ringinuse: bool = False  # the queue's ringinuse, copied at QueueAdd as app_queue does
    bucket: int = 0  # member_bucket(interface), app_queue's iteration order

    def event_fields(self) -> Fields:
        """Fields of QueueMemberAdded/Removed/Pause/Status (MemberName/Interface naming)."""
        return [("Queue", self.queue), ("MemberName", self.name), ("Interface", self.interface),
                ("StateInterface", self.state_interface), ("Membership", "dynamic"),
                ("Penalty", str(self.penalty)), ("CallsTaken", str(self.calls)),
                ("LastCall", str(self.last_call)), ("LastPause", str(self.last_pause)),
                ("LoginTime", str(self.login_time)), ("InCall", "1" if self.in_call else "0"),
                ("Status", str(self.status)), ("Paused", "1" if self.paused else "0"),
                ("PausedReason", self.reason), ("Ringinuse", "1" if self.ringinuse else "0"), ("Wrapuptime", "0")]

    def list_fields(self) -> Fields:
        """Fields of a QueueStatus ``QueueMember`` item (Name/Location naming, no Ringinuse)."""
        return [("Queue", self.queue), ("Name", self.name), ("Location", self.interface),
                ("StateInterface", self.state_interface), ("Membership", "dynamic"),
                ("Penalty", str(self.penalty)), ("CallsTaken", str(self.calls)),
                ("LastCall", str(self.last_call)), ("LastPause", str(self.last_pause)),
                ("LoginTime", str(self.login_time)), ("InCall", "1" if self.in_call else "0"),
                ("Status", str(self.status)), ("Paused", "1" if self.paused else "0"),
                ("PausedReason", self.reason), ("Wrapuptime", "0")]


@dataclass(eq=False)  # identity: compared and looked up by object, never by value
class Entry:
    """A caller waiting in a queue."""

    channel: Channel
    joined: float
    original_position: int
    ringing: bool = False


@dataclass(eq=False)  # identity: compared and looked up by object, never by value
class QueueState:
    """Runtime state of one queue."""

    conf: QueueConf
    members: dict[str, Member] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    holdtime: int = 0
    talktime: int = 0
    rr_last: str | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _order: list[Member] | None = None
    _pos: dict[int, int] = field(default_factory=dict)  # id(member) -> index in ordered()
    _tiers: list[tuple[list[Member], list[int]]] | None = None

    def ordered(self) -> list[Member]:
        """Members in Asterisk's iteration order (hash bucket, then insertion); cached."""
        if self._order is None:
            self._order = sorted(self.members.values(), key=lambda m: m.bucket)
            self._pos = {id(m): i for i, m in enumerate(self._order)}
        return self._order

    def tiers(self) -> list[tuple[list[Member], list[int]]]:
        """(members, their positions in ordered()) per penalty, lowest penalty first; cached."""
        if self._tiers is None:
            by: dict[int, list[Member]] = {}
            for m in self.ordered():
                by.setdefault(m.penalty, []).append(m)
            self._tiers = [(by[p], [self._pos[id(m)] for m in by[p]]) for p in sorted(by)]
        return self._tiers

    def position(self, m: Member) -> int:
        """Index of ``m`` in ordered()."""
        self.ordered()
        return self._pos[id(m)]

    def members_changed(self) -> None:
        """Forget the cached order after a member was added or removed or its penalty changed."""
        self._order = None
        self._tiers = None

    def notify(self) -> None:
        """Wake every caller waiting for a member to become free."""
        self.changed.set()
        self.changed = asyncio.Event()


@dataclass(eq=False)  # identity: compared and looked up by object, never by value
class Leg:
    """One member being rung for one caller."""

    member: Member
    channel: Channel
    phone: Phone
    start: float
    answer_at: float | None
    decline_at: float | None


async def wait_any(clock, events: list[asyncio.Event], sim_timeout: float | None) -> bool:
    """Wait until one of ``events`` is set or ``sim_timeout`` simulated seconds pass."""
    if any(e.is_set() for e in events):
        return True
    if sim_timeout is not None and sim_timeout <= 0:
        return False
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        done, _ = await asyncio.wait(waiters, timeout=None if sim_timeout is None else clock.real(sim_timeout),
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
    return bool(done)


class QueueEngine:
    """All queues of queues.conf, their members and waiting callers."""

    def __init__(self, sim: "PbxSim", confs: dict[str, QueueConf]):
        self.sim = sim
        self.queues = {name: QueueState(conf) for name, conf in confs.items()}
        self.by_state_if: dict[str, list[Member]] = {}  # state interface -> its memberships
        self.by_interface: dict[str, list[Member]] = {}  # interface -> its memberships
        self.last_call_end: dict[str, float] = {}  # interface -> end of its last queue call (shared_lastcall)
        sim.devices.listeners.append(self._device_changed)

    def reset(self) -> None:
        """Forget every member, caller and statistic (an Asterisk restart, persistentmembers=no)."""
        for q in self.queues.values():
            q.members.clear()
            q.entries.clear()
            q.members_changed()
            q.completed = q.abandoned = q.holdtime = q.talktime = 0
            q.rr_last = None
        self.by_state_if.clear()
        self.by_interface.clear()
        self.last_call_end.clear()

    def memberships(self, interface: str) -> list[Member]:
        """Every queue membership of ``interface``."""
        return list(self.by_interface.get(interface, ()))

    def wrapup_until(self, m: Member) -> float | None:
        """Simulated epoch until which ``m`` is in wrap-up (not rung), or None."""
        q = self.queues.get(m.queue)
        end = self.last_call_end.get(m.interface)
        if q is None or end is None or q.conf.wrapuptime <= 0:
            return None
        until = end + q.conf.wrapuptime
        return until if until > self.sim.clock.now() else None

    # --- members (AMI actions) ---------------------------------------------
    def _now(self) -> int:
        return int(self.sim.clock.now())

    def add_member(self, queue: str, interface: str, name: str = "", state_interface: str = "",
                   penalty: int = 0, paused: bool = False, reason: str = "") -> None:
        """QueueAdd."""
        q = self.queues.get(queue)
        if q is None:
            raise QueueError("Unable to add interface to queue: No such queue")
        if interface in q.members:
            raise QueueError("Unable to add interface: Already there")
        state_if = state_interface or interface
        if penalty < 0:
            raise QueueError("Unable to add interface to queue: Invalid penalty")
        m = Member(queue, interface, name or interface, state_if, penalty, paused, reason if paused else "",
                   login_time=self._now(), last_pause=self._now() if paused else 0,
                   ringinuse=q.conf.ringinuse, bucket=member_bucket(interface))
        state = self.sim.devices.get(state_if)
        if state == "UNKNOWN" and state_if.startswith("PJSIP/") and state_if[6:] not in self.sim.endpoints:
            state = "INVALID"  # no such endpoint: Asterisk cannot ring it
        m.status = DEVICE_STATUS.get(state, 0)
        q.members[interface] = m
        q.members_changed()
        self.by_state_if.setdefault(state_if, []).append(m)
        self.by_interface.setdefault(interface, []).append(m)
        self.sim.devices.set(f"Queue:{queue}_pause_{interface}", "INUSE" if paused else "NOT_INUSE")
        self.sim.emit("QueueMemberAdded", m.event_fields())
        self._queue_devices(q, m)
        q.notify()

    def remove_member(self, queue: str, interface: str) -> None:
        """QueueRemove."""
        q = self.queues.get(queue)
        if q is None:
            raise QueueError("Unable to remove interface from queue: No such queue")
        m = q.members.get(interface)
        if m is None:
            raise QueueError("Unable to remove interface: Not there")
        del q.members[interface]
        q.members_changed()
        for index, key in ((self.by_state_if, m.state_interface), (self.by_interface, m.interface)):
            lst = index.get(key, [])
            if m in lst:
                lst.remove(m)
            if not lst:
                index.pop(key, None)
        self.sim.emit("QueueMemberRemoved", m.event_fields())
        self._queue_devices(q)
        self.sim.devices.set(f"Queue:{queue}_pause_{interface}", "NOT_INUSE")
        q.notify()

    def pause_member(self, interface: str, paused: bool, reason: str = "", queue: str | None = None) -> None:
        """QueuePause (one queue, or every queue the interface is in when ``queue`` is None)."""
        targets = [self.queues[queue]] if queue and queue in self.queues else (
            [] if queue else list(self.queues.values()))
        found = [q.members[interface] for q in targets if interface in q.members]
        if not found:
            raise QueueError("Interface not found")
        for m in found:
            m.paused = paused
            m.reason = reason if paused else ""
            m.last_pause = self._now() if paused else m.last_pause
            q = self.queues[m.queue]
            self.sim.devices.set(f"Queue:{m.queue}_pause_{interface}", "INUSE" if paused else "NOT_INUSE")
            self._queue_devices(q, m)
            self.sim.emit("QueueMemberPause", m.event_fields())
            q.notify()

    def set_penalty(self, interface: str, penalty: int, queue: str | None = None) -> None:
        """QueuePenalty (one queue, or every queue the interface is in): QueueMemberPenalty."""
        found = [m for m in self.by_interface.get(interface, ()) if queue is None or m.queue == queue]
        if not found or penalty < 0:
            raise QueueError("Invalid interface, queuename or penalty")
        for m in found:
            m.penalty = penalty
            self.queues[m.queue].members_changed()
            self.sim.emit("QueueMemberPenalty", m.event_fields())
            self.queues[m.queue].notify()

    def _device_changed(self, device: str, state: str) -> None:
        members = self.by_state_if.get(device)
        if not members:
            return
        status = DEVICE_STATUS.get(state, 0)
        for m in list(members):
            if m.status != status:
                m.status = status
                q = self.queues[m.queue]
                self.sim.emit("QueueMemberStatus", m.event_fields())
                self._queue_devices(q, m)
                q.notify()

    def _queue_devices(self, q: QueueState, changed: Member | None = None) -> None:
        """Queue:<name>_avail: NOT_INUSE while some member is unpaused and free."""
        name = q.conf.name
        if changed is not None and not changed.paused and changed.status == 1:
            avail = True  # no need to look at the others
        else:
            avail = any(not m.paused and m.status == 1 for m in q.members.values())
        self.sim.devices.set(f"Queue:{name}_avail", "NOT_INUSE" if avail else "INUSE")

    # --- lists -----------------------------------------------------------
    def params_fields(self, q: QueueState) -> Fields:
        """A QueueStatus ``QueueParams`` item."""
        return [("Queue", q.conf.name), ("Max", str(q.conf.maxlen)), ("Strategy", q.conf.strategy),
                ("Calls", str(len(q.entries))), ("Holdtime", str(q.holdtime)), ("TalkTime", str(q.talktime)),
                ("Completed", str(q.completed)), ("Abandoned", str(q.abandoned)), ("ServiceLevel", "0"),
                ("ServicelevelPerf", "0.0"), ("ServicelevelPerf2", "0.0"), ("Weight", "0")]

    def entry_fields(self, q: QueueState, pos: int, e: Entry) -> Fields:
        """A QueueStatus ``QueueEntry`` item."""
        ch = e.channel
        return [("Queue", q.conf.name), ("Position", str(pos)), ("Channel", ch.name), ("Uniqueid", ch.uniqueid),
                ("CallerIDNum", ch.cid_num or "<unknown>"), ("CallerIDName", ch.cid_name or "<unknown>"),
                ("ConnectedLineNum", ch.conn_num), ("ConnectedLineName", ch.conn_name),
                ("Wait", str(int(self.sim.clock.now() - e.joined))), ("Priority", "0")]

    def summary_fields(self, q: QueueState) -> Fields:
        """A ``QueueSummary`` item."""
        now = self.sim.clock.now()
        logged = [m for m in q.members.values() if m.status not in (4, 5)]
        avail = [m for m in logged if not m.paused and m.status == 1]
        longest = int(max((now - e.joined for e in q.entries), default=0))
        return [("Queue", q.conf.name), ("LoggedIn", str(len(logged))), ("Available", str(len(avail))),
                ("Callers", str(len(q.entries))), ("HoldTime", str(q.holdtime)), ("TalkTime", str(q.talktime)),
                ("LongestHoldTime", str(longest))]

    # --- the Queue application ---------------------------------------------
    def _usable(self, q: QueueState, conditions: frozenset[str]) -> bool:
        """Is some member usable given joinempty/leavewhenempty ``conditions``?"""
        if not conditions:
            return True
        for m in q.members.values():
            if "paused" in conditions and m.paused:
                continue
            if "unavailable" in conditions and m.status == 5:
                continue
            if "invalid" in conditions and m.status == 4:
                continue
            if "unknown" in conditions and m.status == 0:
                continue
            if "inuse" in conditions and m.status in (2, 7):
                continue
            if "ringing" in conditions and m.status == 6:
                continue
            return True
        return False

    def _can_ring(self, q: QueueState, m: Member, now: float) -> bool:
        """app_queue's can_ring_entry: unpaused, not ringing, device free, wrap-up over."""
        if m.paused or m.ringing:
            return False
        if m.status not in ((1, 2, 8) if m.ringinuse else (1,)):
            return False  # ringinuse=no: a device on any call is not rung
        if m.ringinuse is False and m.in_call:
            return False
        wrap = q.conf.wrapuptime
        if wrap > 0:
            end = self.last_call_end.get(m.interface)
            if end is not None and now < end + wrap:
                return False
        return True

    def _next_wrapup_end(self, q: QueueState, now: float) -> float | None:
        """The soonest end of a wrap-up among members otherwise free (when to look again)."""
        wrap = q.conf.wrapuptime
        if wrap <= 0:
            return None
        ends = [self.last_call_end[m.interface] + wrap for m in q.members.values()
                if m.interface in self.last_call_end and not m.paused and m.status == 1]
        ends = [t for t in ends if t > now]
        return min(ends) if ends else None

    def _pick(self, q: QueueState, entry: Entry) -> list[Member]:
        """Members to ring now for ``entry`` (autofill: an entry rings once those ahead ring).

        The lowest penalty tier with a member that can be rung; in it, ringall rings every
        such member, rrmemory the first one after the last member rung (app_queue's order).
        """
        idx = q.entries.index(entry)
        if any(not e.ringing for e in q.entries[:idx]):
            return []
        now = self.sim.clock.now()
        ringall = q.conf.strategy == "ringall"
        last = q.members.get(q.rr_last) if q.rr_last is not None else None
        last_pos = q.position(last) if last is not None else -1
        for tier, positions in q.tiers():
            if ringall:
                free = [m for m in tier if self._can_ring(q, m, now)]
                if free:
                    return free
                continue
            n = len(tier)
            start = bisect_right(positions, last_pos)
            for i in range(n):
                m = tier[(start + i) % n]
                if self._can_ring(q, m, now):
                    return [m]
        return []

    def _set_status(self, ch: Channel, value: str) -> None:
        ch.variables["QUEUESTATUS"] = value
        self.sim.set_var(ch, "QUEUESTATUS", value)

    async def run(self, ch: Channel, data: str) -> None:
        """Queue(name[,options[,URL[,announce[,timeout]]]]); sets QUEUESTATUS."""
        args = [a.strip() for a in data.split(",")]
        name = args[0] if args else ""
        timeout = float(args[4]) if len(args) > 4 and args[4] else None
        q = self.queues.get(name)
        if q is None:
            log.warning("pbxsim_queue_unknown", queue=name, channel=ch.name)
            self._set_status(ch, "UNKNOWN")
            return
        if not self._usable(q, q.conf.joinempty):
            self._set_status(ch, "JOINEMPTY")
            return
        if q.conf.maxlen and len(q.entries) >= q.conf.maxlen:
            self._set_status(ch, "FULL")
            return
        sim = self.sim
        now = sim.clock.now()
        entry = Entry(ch, now, len(q.entries) + 1)
        q.entries.append(entry)
        sim.devices.set(f"Queue:{name}", "RINGING")
        sim.emit("QueueCallerJoin", ch.fields() + [("Queue", name), ("Position", str(len(q.entries))),
                                                   ("Count", str(len(q.entries)))])
        sim.emit("MusicOnHoldStart", ch.fields() + [("Class", q.conf.musicclass)])
        from ..features.moves import after_queue_join  # call control hook: the old agent leg goes now (trace 08 C)
        after_queue_join(ch)
        deadline = now + timeout if timeout else None
        log.info("pbxsim_queue_join", queue=name, channel=ch.name, call_id=ch.linkedid)
        try:
            while True:
                if ch.hungup.is_set():
                    self._abandon(q, entry, [])
                now = sim.clock.now()
                if deadline is not None and now >= deadline:
                    self._leave(q, entry)
                    self._set_status(ch, "TIMEOUT")
                    return
                if not self._usable(q, q.conf.leavewhenempty):
                    self._leave(q, entry, abandon=True)
                    self._set_status(ch, "LEAVEEMPTY")
                    return
                members = self._pick(q, entry)
                if not members:
                    # wait for a change (member freed, added, unpaused), a wrap-up end or the deadline
                    wake = [t for t in (deadline, self._next_wrapup_end(q, now)) if t is not None]
                    limit = min([IDLE_POLL] + [t - now for t in wake])
                    await wait_any(sim.clock, [ch.hungup, q.changed], max(limit, 0.001))
                    continue
                outcome = await self._ring(q, entry, members, deadline)
                if outcome == "done":
                    return
                if deadline is not None and sim.clock.now() >= deadline:
                    continue
                if not self._usable(q, q.conf.leavewhenempty):
                    continue  # LEAVEEMPTY at once, before the retry wait (trace 05 C)
                # nobody answered: wait 'retry' seconds before trying again
                await wait_any(sim.clock, [ch.hungup], q.conf.retry)
        finally:
            if entry in q.entries:
                q.entries.remove(entry)
            if not q.entries:
                sim.devices.set(f"Queue:{name}", "NOT_INUSE")

    def _leave(self, q: QueueState, entry: Entry, abandon: bool = False) -> None:
        """The caller leaves the queue without an agent (timeout / leavewhenempty)."""
        ch = entry.channel
        sim = self.sim
        pos = q.entries.index(entry) + 1
        q.entries.remove(entry)
        if abandon:  # LEAVEEMPTY (trace 05 C): Abandon, then MusicOnHoldStop, then Leave
            q.abandoned += 1
            sim.emit("QueueCallerAbandon", ch.fields() + [
                ("Queue", q.conf.name), ("Position", str(pos)), ("OriginalPosition", str(entry.original_position)),
                ("HoldTime", str(int(sim.clock.now() - entry.joined)))])
        sim.emit("MusicOnHoldStop", ch.fields())
        sim.emit("QueueCallerLeave", ch.fields() + [("Queue", q.conf.name), ("Position", str(pos)),
                                                    ("Count", str(len(q.entries)))])
        q.notify()

    def _abandon(self, q: QueueState, entry: Entry, legs: list[Leg]) -> None:
        """The caller hung up while waiting (trace 04); raises ChannelHungUp."""
        ch = entry.channel
        sim = self.sim
        by_ami = getattr(ch, "hangup_by_ami", False)
        if not by_ami:
            sim.emit("HangupRequest", ch.fields())
        sim.emit("MusicOnHoldStop", ch.fields())
        for leg in legs:
            for _ in range(2):  # Asterisk 22 reports the cancelled leg twice (trace 04)
                sim.emit("DialEnd", ch.fields() + leg.channel.fields("Dest") + [("DialStatus", "CANCEL")])
        pos = q.entries.index(entry) + 1
        q.entries.remove(entry)
        q.abandoned += 1
        sim.emit("QueueCallerAbandon", ch.fields() + [
            ("Queue", q.conf.name), ("Position", str(pos)), ("OriginalPosition", str(entry.original_position)),
            ("HoldTime", str(int(sim.clock.now() - entry.joined)))])
        sim.emit("QueueCallerLeave", ch.fields() + [("Queue", q.conf.name), ("Position", str(pos)),
                                                    ("Count", str(len(q.entries)))])
        for leg in legs:
            leg.member.ringing = False
            sim.emit_hangup(leg.channel, 0)
        sim.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
        sim.dialplan.emit_cdrs(ch)
        sim.emit_hangup(ch, 16 if by_ami else 0)
        log.info("pbxsim_queue_abandon", queue=q.conf.name, channel=ch.name, call_id=ch.linkedid)
        q.notify()
        raise ChannelHungUp(ch.name)

    def _start_leg(self, q: QueueState, entry: Entry, m: Member) -> Leg:
        sim = self.sim
        ch = entry.channel
        endpoint = m.interface.split("/", 1)[1]
        ep = sim.endpoints.get(endpoint)
        phone = sim.phone(endpoint)
        agent = sim.new_channel(endpoint, ep.context if ep else "default", "s", linkedid=ch.linkedid, state=0)
        agent.exten, agent.app, agent.appdata = ch.exten, "AppQueue", "(Outgoing Line)"
        agent.conn_num, agent.conn_name = ch.cid_num or "<unknown>", ch.cid_name or "<unknown>"
        m.ringing = True
        q.rr_last = m.interface
        dest = agent.fields("Dest")
        sim.emit("AgentCalled", ch.fields() + dest + [("Queue", q.conf.name), ("Interface", m.interface),
                                                      ("MemberName", m.name)])
        sim.emit("DialBegin", ch.fields() + dest + [("DialString", m.interface)])
        sim.emit("NewConnectedLine", ch.fields())
        sim.emit("Newexten", agent.fields() + [("Extension", agent.exten), ("Application", "AppQueue"),
                                               ("AppData", "(Outgoing Line)")])
        sim.set_state(agent, 5)
        sim.emit("NewConnectedLine", agent.fields())
        sim.emit("DialState", ch.fields() + agent.fields("Dest") + [("DialStatus", "RINGING")])
        start = sim.clock.now()
        answer_at = decline_at = None
        if phone.decline_after is not None:
            decline_at = start + phone.decline_after
        elif not phone.ring_forever and phone.answer_after is not None:
            answer_at = start + phone.answer_after
        return Leg(m, agent, phone, start, answer_at, decline_at)

    async def _ring(self, q: QueueState, entry: Entry, members: list[Member], deadline: float | None) -> str:
        """Ring ``members`` for ``entry``: 'done' (answered and finished) or 'noanswer'."""
        sim = self.sim
        ch = entry.channel
        legs = [self._start_leg(q, entry, m) for m in members]
        entry.ringing = True
        q.notify()
        ring_deadline = sim.clock.now() + q.conf.timeout
        if deadline is not None:
            ring_deadline = min(ring_deadline, deadline)
        try:
            while True:
                now = sim.clock.now()
                times = [ring_deadline] + [t for leg in legs for t in (leg.answer_at, leg.decline_at) if t is not None]
                await wait_any(sim.clock, [ch.hungup] + [leg.channel.hungup for leg in legs], min(times) - now)
                if ch.hungup.is_set():
                    self._abandon(q, entry, legs)
                now = sim.clock.now()
                for leg in list(legs):
                    if leg.channel.hungup.is_set() or (leg.decline_at is not None and now >= leg.decline_at):
                        legs.remove(leg)
                        self._declined(q, entry, leg)
                    elif leg.answer_at is not None and now >= leg.answer_at:
                        legs.remove(leg)
                        await self._connected(q, entry, leg, legs)
                        return "done"
                if not legs:
                    return "noanswer"
                if now >= ring_deadline:
                    for leg in legs:
                        self._ring_timeout(q, entry, leg)
                    return "noanswer"
        finally:
            entry.ringing = False

    def _declined(self, q: QueueState, entry: Entry, leg: Leg) -> None:
        """The phone answered 486 Busy Here (trace 16) or its channel was hung up."""
        sim = self.sim
        ch, agent = entry.channel, leg.channel
        cause = agent.hangup_cause if agent.hangup_cause is not None else 17
        sim.emit("HangupRequest", agent.fields() + [("Cause", str(cause)), ("TechCause", "486" if cause == 17 else "0")])
        sim.emit("DialEnd", ch.fields() + agent.fields("Dest") + [("DialStatus", "NOANSWER")])
        sim.emit("AgentRingNoAnswer", ch.fields() + agent.fields("Dest") + [
            ("Queue", q.conf.name), ("Interface", leg.member.interface), ("MemberName", leg.member.name),
            ("RingTime", str(int((sim.clock.now() - leg.start) * 1000)))])
        leg.member.ringing = False
        sim.emit_hangup(agent, cause)
        q.notify()

    def _ring_timeout(self, q: QueueState, entry: Entry, leg: Leg) -> None:
        """The member's ring timeout expired (trace 03)."""
        sim = self.sim
        ch, agent = entry.channel, leg.channel
        sim.emit("AgentRingNoAnswer", ch.fields() + agent.fields("Dest") + [
            ("Queue", q.conf.name), ("Interface", leg.member.interface), ("MemberName", leg.member.name),
            ("RingTime", str(int(round((sim.clock.now() - leg.start) * 1000))))])
        sim.emit("DialEnd", ch.fields() + agent.fields("Dest") + [("DialStatus", "NOANSWER")])
        sim.emit("DialEnd", ch.fields() + agent.fields("Dest") + [("DialStatus", "CANCEL")])
        leg.member.ringing = False
        sim.emit_hangup(agent, 0)
        q.notify()

    async def _connected(self, q: QueueState, entry: Entry, leg: Leg, others: list[Leg]) -> None:
        """The member answered (traces 02/03/16): bridge, talk, and end the call."""
        sim = self.sim
        ch, agent, m = entry.channel, leg.channel, leg.member
        now = sim.clock.now()
        m.in_call = True
        sim.set_state(agent, 6)
        m.ringing = False
        sim.emit("DialEnd", ch.fields() + agent.fields("Dest") + [("DialStatus", "ANSWER")])
        for other in others:
            sim.emit("DialEnd", ch.fields() + other.channel.fields("Dest") + [("DialStatus", "CANCEL")])
            other.member.ringing = False
            sim.emit_hangup(other.channel, 26)
        ch.conn_num, ch.conn_name = agent.cid_num or "<unknown>", agent.cid_name or "<unknown>"
        sim.emit("MusicOnHoldStop", ch.fields())
        pos = q.entries.index(entry) + 1
        q.entries.remove(entry)
        if not q.entries:
            sim.devices.set(f"Queue:{q.conf.name}", "NOT_INUSE")
        sim.emit("QueueCallerLeave", ch.fields() + [("Queue", q.conf.name), ("Position", str(pos)),
                                                    ("Count", str(len(q.entries)))])
        hold = int(now - entry.joined)
        q.holdtime = (q.holdtime * 3 + hold) // 4
        sim.emit("AgentConnect", ch.fields() + agent.fields("Dest") + [
            ("Queue", q.conf.name), ("Interface", m.interface), ("MemberName", m.name),
            ("HoldTime", str(hold)), ("RingTime", str(int(now - leg.start)))])
        for k, v in (("MEMBERINTERFACE", m.interface), ("MEMBERNAME", m.name), ("QUEUENAME", q.conf.name)):
            ch.variables[k] = v
        bridge = Bridge()
        sim.bridges[bridge.uniqueid] = bridge
        sim.emit("BridgeCreate", bridge.fields())
        for party in (agent, ch):
            bridge.channels.append(party)
            party.bridge = bridge
            sim.emit("BridgeEnter", bridge.fields() + party.fields())
        log.info("pbxsim_agent_connect", queue=q.conf.name, agent=m.interface, call_id=ch.linkedid, hold=hold)
        handle = getattr(ch, "handle", None)
        if handle is not None:
            handle.answered_by = m.interface
            handle.answered.set()
        q.notify()
        talk_start = sim.clock.now()
        hang_at = None if leg.phone.hangup_after_answer is None else talk_start + leg.phone.hangup_after_answer
        if getattr(ch, "pending_complete", None) is not None:  # call control hook: back from a Redirect (08 C)
            ch.requeued = True
        while not (ch.hungup.is_set() or agent.hungup.is_set()):
            fired = await wait_any(sim.clock, [ch.hungup, agent.hungup, ch.kick, agent.kick],
                                   None if hang_at is None else hang_at - sim.clock.now())
            if not fired and hang_at is not None:
                agent.request_hangup(16)
            if not (ch.hungup.is_set() or agent.hungup.is_set()) and (ch.redirect or agent.redirect):
                break  # call control hook: AMI Redirect (pbxsim/moves.py), handled below
        talk = int(sim.clock.now() - talk_start)
        q.completed += 1
        q.talktime = (q.talktime * 3 + talk) // 4
        m.calls += 1
        m.last_call = int(sim.clock.now())
        m.in_call = False
        self.last_call_end[m.interface] = sim.clock.now()  # wrapuptime counts from here
        complete = ch.fields() + agent.fields("Dest") + [
            ("Queue", q.conf.name), ("Interface", m.interface), ("MemberName", m.name),
            ("HoldTime", str(hold)), ("TalkTime", str(talk))]

        def leave(party: Channel) -> None:
            if party in bridge.channels:
                bridge.channels.remove(party)
                party.bridge = None
                sim.emit("BridgeLeave", bridge.fields() + party.fields())

        def destroy() -> None:
            sim.bridges.pop(bridge.uniqueid, None)
            sim.emit("BridgeDestroy", bridge.fields())

        from ..features.local import run_takeover  # issue 4 hook: a feature moved the parties (Atxfer, pbxsim/atxfer.py)
        if await run_takeover(bridge, ch, agent, complete):
            q.notify()
            raise ChannelHungUp(ch.name)
        if not (ch.hungup.is_set() or agent.hungup.is_set()):  # call control hook: moved by AMI Redirect
            from ..features.moves import queue_bridge_moved
            queue_bridge_moved(sim, bridge, ch, agent, complete, talk_start)  # raises Redirected for ch
            q.notify()
            return
        if ch.hungup.is_set() and getattr(ch, "hangup_by_ami", False):
            # trace 12: AMI Hangup of the bridged customer
            leave(ch)
            leave(agent)
            destroy()
            sim.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
            sim.emit("AgentComplete", complete + [("Reason", "caller")])
            sim.emit_hangup(agent, 16)
            sim.dialplan.emit_cdrs(ch)
            sim.emit_hangup(ch, 16)
        elif ch.hungup.is_set():
            # trace 02: the customer hangs up
            sim.emit("HangupRequest", ch.fields())
            sim.emit("AgentComplete", complete + [("Reason", "caller")])
            leave(ch)
            sim.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
            sim.dialplan.emit_cdrs(ch)
            sim.emit_hangup(ch, 16)
            leave(agent)
            destroy()
            sim.emit_hangup(agent, 16)
        else:
            # trace 16: the agent hangs up (Queue has no 'c' option: the caller is hung up too)
            if getattr(agent, "hangup_by_ami", False):
                sim.emit("SoftHangupRequest", agent.fields() + [("Cause", "16")])
            else:
                sim.emit("HangupRequest", agent.fields())
            sim.emit("AgentComplete", complete + [("Reason", "agent")])
            leave(agent)
            leave(ch)
            sim.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
            destroy()
            sim.dialplan.emit_cdrs(ch)
            sim.emit_hangup(ch, 16)
            sim.emit_hangup(agent, 16)
        log.info("pbxsim_agent_complete", queue=q.conf.name, agent=m.interface, call_id=ch.linkedid, talk=talk)
        q.notify()
        raise ChannelHungUp(ch.name)
