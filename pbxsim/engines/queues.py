"""app_queue as the recorded Asterisk 22 behaves: queues, their members, and who is rung.

The Queue() application itself (callers waiting, ringing, bridging) is queue_calls.py.
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

from ..channel import Channel, Fields
from ..confparse import QueueConf
from ..kernel.actions import ActionError
from ..kernel.kernel import Kernel

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


class QueueError(ActionError):
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
    go_on: bool = False   # Queue option c: the caller goes on in the dialplan when the agent hangs up
    prio: int = 0         # QUEUE_PRIO: seated ahead of every caller with a lower one (queue_calls.seat)


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


class QueueEngine:
    """All queues of queues.conf, their members and waiting callers."""

    def __init__(self, kernel: Kernel, confs: dict[str, QueueConf]):
        self.kernel = kernel
        self.queues = {name: QueueState(conf) for name, conf in confs.items()}
        self.by_state_if: dict[str, list[Member]] = {}  # state interface -> its memberships
        self.by_interface: dict[str, list[Member]] = {}  # interface -> its memberships
        self.last_call_end: dict[str, float] = {}  # interface -> end of its last queue call (shared_lastcall)
        kernel.devices.listeners.append(self._device_changed)

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
        return until if until > self.kernel.clock.now() else None

    # --- members (AMI actions) ---------------------------------------------
    def _now(self) -> int:
        return int(self.kernel.clock.now())

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
        state = self.kernel.devices.get(state_if)
        if state == "UNKNOWN" and state_if.startswith("PJSIP/") and state_if[6:] not in self.kernel.endpoints:
            state = "INVALID"  # no such endpoint: Asterisk cannot ring it
        m.status = DEVICE_STATUS.get(state, 0)
        q.members[interface] = m
        q.members_changed()
        self.by_state_if.setdefault(state_if, []).append(m)
        self.by_interface.setdefault(interface, []).append(m)
        self.kernel.devices.set(f"Queue:{queue}_pause_{interface}", "INUSE" if paused else "NOT_INUSE")
        self.kernel.emit("QueueMemberAdded", m.event_fields())
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
        self.kernel.emit("QueueMemberRemoved", m.event_fields())
        self._queue_devices(q)
        self.kernel.devices.set(f"Queue:{queue}_pause_{interface}", "NOT_INUSE")
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
            self.kernel.devices.set(f"Queue:{m.queue}_pause_{interface}", "INUSE" if paused else "NOT_INUSE")
            self._queue_devices(q, m)
            self.kernel.emit("QueueMemberPause", m.event_fields())
            q.notify()

    def set_penalty(self, interface: str, penalty: int, queue: str | None = None) -> None:
        """QueuePenalty (one queue, or every queue the interface is in): QueueMemberPenalty."""
        found = [m for m in self.by_interface.get(interface, ()) if queue is None or m.queue == queue]
        if not found or penalty < 0:
            raise QueueError("Invalid interface, queuename or penalty")
        for m in found:
            m.penalty = penalty
            self.queues[m.queue].members_changed()
            self.kernel.emit("QueueMemberPenalty", m.event_fields())
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
                self.kernel.emit("QueueMemberStatus", m.event_fields())
                self._queue_devices(q, m)
                q.notify()

    def _queue_devices(self, q: QueueState, changed: Member | None = None) -> None:
        """Queue:<name>_avail: NOT_INUSE while some member is unpaused and free."""
        name = q.conf.name
        if changed is not None and not changed.paused and changed.status == 1:
            avail = True  # no need to look at the others
        else:
            avail = any(not m.paused and m.status == 1 for m in q.members.values())
        self.kernel.devices.set(f"Queue:{name}_avail", "NOT_INUSE" if avail else "INUSE")

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
                ("Wait", str(int(self.kernel.clock.now() - e.joined))), ("Priority", "0")]

    def summary_fields(self, q: QueueState) -> Fields:
        """A ``QueueSummary`` item."""
        now = self.kernel.clock.now()
        logged = [m for m in q.members.values() if m.status not in (4, 5)]
        avail = [m for m in logged if not m.paused and m.status == 1]
        longest = int(max((now - e.joined for e in q.entries), default=0))
        return [("Queue", q.conf.name), ("LoggedIn", str(len(logged))), ("Available", str(len(avail))),
                ("Callers", str(len(q.entries))), ("HoldTime", str(q.holdtime)), ("TalkTime", str(q.talktime)),
                ("LongestHoldTime", str(longest))]

    # --- who is rung -------------------------------------------------------
    def usable(self, q: QueueState, conditions: frozenset[str]) -> bool:
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

    def can_ring(self, q: QueueState, m: Member, now: float) -> bool:
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

    def next_wrapup_end(self, q: QueueState, now: float) -> float | None:
        """The soonest end of a wrap-up among members otherwise free (when to look again)."""
        wrap = q.conf.wrapuptime
        if wrap <= 0:
            return None
        ends = [self.last_call_end[m.interface] + wrap for m in q.members.values()
                if m.interface in self.last_call_end and not m.paused and m.status == 1]
        ends = [t for t in ends if t > now]
        return min(ends) if ends else None

    def pick(self, q: QueueState, entry: Entry) -> list[Member]:
        """Members to ring now for ``entry`` (autofill: an entry rings once those ahead ring).

        The lowest penalty tier with a member that can be rung; in it, ringall rings every
        such member, rrmemory the first one after the last member rung (app_queue's order).
        """
        idx = q.entries.index(entry)
        if any(not e.ringing for e in q.entries[:idx]):
            return []
        now = self.kernel.clock.now()
        ringall = q.conf.strategy == "ringall"
        last = q.members.get(q.rr_last) if q.rr_last is not None else None
        last_pos = q.position(last) if last is not None else -1
        for tier, positions in q.tiers():
            if ringall:
                free = [m for m in tier if self.can_ring(q, m, now)]
                if free:
                    return free
                continue
            n = len(tier)
            start = bisect_right(positions, last_pos)
            for i in range(n):
                m = tier[(start + i) % n]
                if self.can_ring(q, m, now):
                    return [m]
        return []
