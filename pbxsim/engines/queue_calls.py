"""The Queue() application as the recorded Asterisk 22 runs it: waiting, ringing, bridging, ending.

Event sequences follow ../shared/ami-traces (02 answer, 03 ring-no-answer, 04 abandon,
16 decline with 486, 12 AMI Hangup of a bridged caller, 05 pausing a ringing member).
Who is rung is the queue engine's (queues.py). Times are simulated seconds.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import structlog

from ..channel import Bridge, Channel, ChannelHungUp, Fields
from ..clock import wait_any
from ..kernel.kernel import Kernel
from .dialplan import Dialplan
from .queues import Entry, Member, QueueEngine, QueueState
from .ringing import Ring

log = structlog.get_logger(__name__)

IDLE_POLL = 5.0  # simulated seconds a waiting caller sleeps at most without a change (a safety net)


@dataclass(eq=False)  # identity: compared and looked up by object, never by value
class Leg(Ring):
    """One member being rung for one caller."""

    member: Member


def queue_prio(ch: Channel) -> int:
    """The caller's QUEUE_PRIO as app_queue.c reads it (sscanf %d: a leading number, else 0)."""
    m = re.match(r"\s*([+-]?\d+)", ch.variables.get("QUEUE_PRIO") or "")
    return int(m.group(1)) if m else 0


def seat(entries: list[Entry], entry: Entry) -> int:
    """Where app_queue.c join_queue() seats a caller: ahead of the first caller of a strictly lower
    priority (behind every caller of the same or a higher one); returns the 1-based position."""
    for i, other in enumerate(entries):
        if entry.prio > other.prio:
            entries.insert(i, entry)
            return i + 1
    entries.append(entry)
    return len(entries)


class QueueCalls:
    """The callers of every queue: the Queue() application of one simulator."""

    def __init__(self, kernel: Kernel, engine: QueueEngine):
        self.kernel = kernel
        self.engine = engine

    def register(self, dp: Dialplan) -> None:
        """Offer the Queue application on ``dp``."""
        dp.register_app("Queue", self.app)
        self.dp = dp

    async def app(self, dp: Dialplan, ch: Channel, data: str) -> None:
        """Queue(name,options,,,timeout): the queue engine; sets QUEUESTATUS."""
        await self.run(ch, data)

    def _set_status(self, ch: Channel, value: str) -> None:
        ch.variables["QUEUESTATUS"] = value
        self.kernel.set_var(ch, "QUEUESTATUS", value)

    async def run(self, ch: Channel, data: str) -> None:
        """Queue(name[,options[,URL[,announce[,timeout]]]]); sets QUEUESTATUS."""
        args = [a.strip() for a in data.split(",")]
        name = args[0] if args else ""
        timeout = float(args[4]) if len(args) > 4 and args[4] else None
        q = self.engine.queues.get(name)
        if q is None:
            log.warning("pbxsim_queue_unknown", queue=name, channel=ch.name)
            self._set_status(ch, "UNKNOWN")
            return
        if not self.engine.usable(q, q.conf.joinempty):
            self._set_status(ch, "JOINEMPTY")
            return
        if q.conf.maxlen and len(q.entries) >= q.conf.maxlen:
            self._set_status(ch, "FULL")
            return
        kernel = self.kernel
        now = kernel.clock.now()
        entry = Entry(ch, now, len(q.entries) + 1, go_on="c" in (args[1] if len(args) > 1 else ""))
        entry.prio = queue_prio(ch)
        entry.original_position = seat(q.entries, entry)
        kernel.devices.set(f"Queue:{name}", "RINGING")
        kernel.emit("QueueCallerJoin", ch.fields() + [("Queue", name), ("Position", str(entry.original_position)),
                                                      ("Count", str(len(q.entries)))])
        kernel.emit("MusicOnHoldStart", ch.fields() + [("Class", q.conf.musicclass)])
        for hook in list(kernel.hooks.queue_joined):  # a caller moved back into a queue: its old agent leg goes (08 C)
            hook(ch)
        deadline = now + timeout if timeout else None
        log.info("pbxsim_queue_join", queue=name, channel=ch.name, call_id=ch.linkedid)
        try:
            while True:
                if ch.hungup.is_set():
                    self._abandon(q, entry, [])
                now = kernel.clock.now()
                if deadline is not None and now >= deadline:
                    self._leave(q, entry)
                    self._set_status(ch, "TIMEOUT")
                    return
                if not self.engine.usable(q, q.conf.leavewhenempty):
                    self._leave(q, entry, abandon=True)
                    self._set_status(ch, "LEAVEEMPTY")
                    return
                members = self.engine.pick(q, entry)
                if not members:
                    # wait for a change (member freed, added, unpaused), a wrap-up end or the deadline
                    wake = [t for t in (deadline, self.engine.next_wrapup_end(q, now)) if t is not None]
                    limit = min([IDLE_POLL] + [t - now for t in wake])
                    key = await self._wait_or_key(ch, q, max(limit, 0.001))
                    if key is not None and self._exit_with_key(q, entry, key):
                        return
                    continue
                outcome = await self._ring(q, entry, members, deadline)
                if outcome == "done":
                    return
                if deadline is not None and kernel.clock.now() >= deadline:
                    continue
                if not self.engine.usable(q, q.conf.leavewhenempty):
                    continue  # LEAVEEMPTY at once, before the retry wait (trace 05 C)
                # nobody answered: wait 'retry' seconds before trying again
                await wait_any(kernel.clock, [ch.hungup], q.conf.retry)
        finally:
            if entry in q.entries:
                q.entries.remove(entry)
            if not q.entries:
                kernel.devices.set(f"Queue:{name}", "NOT_INUSE")

    async def _wait_or_key(self, ch: Channel, q: QueueState, limit: float,
                           events: list[asyncio.Event] | None = None) -> str | None:
        """Wait for a change of the queue (or the caller's hangup, or one of ``events``); with a
        ``context`` the queue also listens to the caller's keys (app_queue's wait_a_bit / valid_exit,
        and wait_for_answer while members ring) and returns the one pressed."""
        watched = [ch.hungup, *(events if events is not None else [q.changed])]
        if not q.conf.context:
            await wait_any(self.kernel.clock, watched, limit)
            return None
        if not ch.dtmf.empty():
            return ch.dtmf.get_nowait()
        key = asyncio.ensure_future(ch.dtmf.get())
        waiters = [key, *(asyncio.ensure_future(e.wait()) for e in watched)]
        try:
            done, _ = await asyncio.wait(waiters, timeout=self.kernel.clock.real(limit),
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                if not w.done():
                    w.cancel()
        return key.result() if key in done else None

    def _exit_with_key(self, q: QueueState, entry: Entry, key: str, legs: list[Leg] | None = None) -> bool:
        """A key that is an extension of the queue's ``context`` lets the caller out (EXITWITHKEY): they
        leave the queue (QueueCallerLeave, no abandon, QUEUESTATUS untouched, QUEUEPOSITION set) and the
        dialplan goes on at ``context,key,1`` once Queue() returns (app_queue's ast_goto_if_exists;
        inside an AGI EXEC the AGI goes on first). Any other key is ignored. Members being rung for the
        caller (``legs``) are cancelled as app_queue's wait_for_answer does (trace 25): DialEnd CANCEL
        twice per leg, the goto, the leave, then the legs hang up (cause 0, no AgentRingNoAnswer)."""
        if self.dp.find(q.conf.context, key) is None:
            return False
        ch = entry.channel
        kernel = self.kernel
        pos = q.entries.index(entry) + 1
        ch.variables["QUEUEPOSITION"] = str(pos)
        # the goto shows at once (trace 21: Newexten at priority 0 with the Queue application still
        # running, then QueueCallerLeave there); the caller's next step is priority 1
        ch.context, ch.exten, ch.priority = q.conf.context, key, 0
        ch.newexten_at = (ch.context, ch.exten, ch.priority)
        for leg in legs or ():
            for _ in range(2):  # as for a caller hanging up while rung (trace 04), the leg is reported twice
                kernel.emit("DialEnd", ch.fields() + leg.channel.fields("Dest") + [("DialStatus", "CANCEL")])
        kernel.emit("Newexten", ch.fields() + [("Extension", key), ("Application", ch.app),
                                               ("AppData", ch.appdata)])
        self._leave(q, entry)
        for leg in legs or ():
            leg.member.ringing = False
            kernel.emit_hangup(leg.channel, 0)
        log.info("pbxsim_queue_exit_with_key", queue=q.conf.name, channel=ch.name, key=key, call_id=ch.linkedid,
                 cancelled=len(legs or ()))
        return True

    def _leave(self, q: QueueState, entry: Entry, abandon: bool = False) -> None:
        """The caller leaves the queue without an agent (timeout / leavewhenempty)."""
        ch = entry.channel
        kernel = self.kernel
        pos = q.entries.index(entry) + 1
        q.entries.remove(entry)
        if abandon:  # LEAVEEMPTY (trace 05 C): Abandon, then MusicOnHoldStop, then Leave
            q.abandoned += 1
            kernel.emit("QueueCallerAbandon", ch.fields() + [
                ("Queue", q.conf.name), ("Position", str(pos)), ("OriginalPosition", str(entry.original_position)),
                ("HoldTime", str(int(kernel.clock.now() - entry.joined)))])
        kernel.emit("MusicOnHoldStop", ch.fields())
        kernel.emit("QueueCallerLeave", ch.fields() + [("Queue", q.conf.name), ("Position", str(pos)),
                                                       ("Count", str(len(q.entries)))])
        q.notify()

    def _abandon(self, q: QueueState, entry: Entry, legs: list[Leg]) -> None:
        """The caller hung up while waiting (trace 04); raises ChannelHungUp."""
        ch = entry.channel
        kernel = self.kernel
        by_ami = ch.hangup_by_ami
        if not by_ami:
            kernel.emit("HangupRequest", ch.fields())
        kernel.emit("MusicOnHoldStop", ch.fields())
        for leg in legs:
            for _ in range(2):  # Asterisk 22 reports the cancelled leg twice (trace 04)
                kernel.emit("DialEnd", ch.fields() + leg.channel.fields("Dest") + [("DialStatus", "CANCEL")])
        pos = q.entries.index(entry) + 1
        q.entries.remove(entry)
        q.abandoned += 1
        kernel.emit("QueueCallerAbandon", ch.fields() + [
            ("Queue", q.conf.name), ("Position", str(pos)), ("OriginalPosition", str(entry.original_position)),
            ("HoldTime", str(int(kernel.clock.now() - entry.joined)))])
        kernel.emit("QueueCallerLeave", ch.fields() + [("Queue", q.conf.name), ("Position", str(pos)),
                                                       ("Count", str(len(q.entries)))])
        for leg in legs:
            leg.member.ringing = False
            kernel.emit_hangup(leg.channel, 0)
        kernel.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
        kernel.emit_cdrs(ch)
        kernel.emit_hangup(ch, 16 if by_ami else 0)
        log.info("pbxsim_queue_abandon", queue=q.conf.name, channel=ch.name, call_id=ch.linkedid)
        q.notify()
        raise ChannelHungUp(ch.name)

    def _start_leg(self, q: QueueState, entry: Entry, m: Member) -> Leg:
        kernel = self.kernel
        ch = entry.channel
        endpoint = m.interface.split("/", 1)[1]
        ep = kernel.endpoints.get(endpoint)
        phone = kernel.phone(endpoint)
        agent = kernel.new_channel(endpoint, ep.context if ep else "default", "s", linkedid=ch.linkedid, state=0)
        agent.exten, agent.app, agent.appdata = ch.exten, "AppQueue", "(Outgoing Line)"
        agent.conn_num, agent.conn_name = ch.cid_num or "<unknown>", ch.cid_name or "<unknown>"
        m.ringing = True
        q.rr_last = m.interface
        dest = agent.fields("Dest")
        kernel.emit("AgentCalled", ch.fields() + dest + [("Queue", q.conf.name), ("Interface", m.interface),
                                                         ("MemberName", m.name)])
        kernel.emit("DialBegin", ch.fields() + dest + [("DialString", m.interface)])
        kernel.emit("NewConnectedLine", ch.fields())
        kernel.emit("Newexten", agent.fields() + [("Extension", agent.exten), ("Application", "AppQueue"),
                                                  ("AppData", "(Outgoing Line)")])
        kernel.set_state(agent, 5)
        kernel.emit("NewConnectedLine", agent.fields())
        kernel.emit("DialState", ch.fields() + agent.fields("Dest") + [("DialStatus", "RINGING")])
        return Leg.of(m.interface, agent, phone, kernel.clock.now(), member=m)

    async def _ring(self, q: QueueState, entry: Entry, members: list[Member], deadline: float | None) -> str:
        """Ring ``members`` for ``entry``: 'done' (answered and finished) or 'noanswer'."""
        kernel = self.kernel
        ch = entry.channel
        legs = [self._start_leg(q, entry, m) for m in members]
        entry.ringing = True
        q.notify()
        ring_deadline = kernel.clock.now() + q.conf.timeout
        if deadline is not None:
            ring_deadline = min(ring_deadline, deadline)
        try:
            while True:
                now = kernel.clock.now()
                times = [ring_deadline] + [t for leg in legs for t in (leg.answer_at, leg.decline_at) if t is not None]
                key = await self._wait_or_key(ch, q, max(min(times) - now, 0.0),
                                              [leg.channel.hungup for leg in legs])
                if ch.hungup.is_set():
                    self._abandon(q, entry, legs)
                if key is not None and self._exit_with_key(q, entry, key, legs):
                    return "done"
                now = kernel.clock.now()
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
        kernel = self.kernel
        ch, agent = entry.channel, leg.channel
        cause = agent.hangup_cause if agent.hangup_cause is not None else 17
        kernel.emit("HangupRequest", agent.fields() + [("Cause", str(cause)), ("TechCause", "486" if cause == 17 else "0")])
        kernel.emit("DialEnd", ch.fields() + agent.fields("Dest") + [("DialStatus", "NOANSWER")])
        kernel.emit("AgentRingNoAnswer", ch.fields() + agent.fields("Dest") + [
            ("Queue", q.conf.name), ("Interface", leg.member.interface), ("MemberName", leg.member.name),
            ("RingTime", str(int((kernel.clock.now() - leg.start) * 1000)))])
        leg.member.ringing = False
        kernel.emit_hangup(agent, cause)
        q.notify()

    def _ring_timeout(self, q: QueueState, entry: Entry, leg: Leg) -> None:
        """The member's ring timeout expired (trace 03)."""
        kernel = self.kernel
        ch, agent = entry.channel, leg.channel
        kernel.emit("AgentRingNoAnswer", ch.fields() + agent.fields("Dest") + [
            ("Queue", q.conf.name), ("Interface", leg.member.interface), ("MemberName", leg.member.name),
            ("RingTime", str(int(round((kernel.clock.now() - leg.start) * 1000))))])
        kernel.emit("DialEnd", ch.fields() + agent.fields("Dest") + [("DialStatus", "NOANSWER")])
        kernel.emit("DialEnd", ch.fields() + agent.fields("Dest") + [("DialStatus", "CANCEL")])
        leg.member.ringing = False
        kernel.emit_hangup(agent, 0)
        q.notify()

    async def _connected(self, q: QueueState, entry: Entry, leg: Leg, others: list[Leg]) -> None:
        """The member answered (traces 02/03/16): bridge, talk, and end the call."""
        kernel = self.kernel
        ch, agent, m = entry.channel, leg.channel, leg.member
        now = kernel.clock.now()
        m.in_call = True
        kernel.set_state(agent, 6)
        m.ringing = False
        kernel.emit("DialEnd", ch.fields() + agent.fields("Dest") + [("DialStatus", "ANSWER")])
        for other in others:
            kernel.emit("DialEnd", ch.fields() + other.channel.fields("Dest") + [("DialStatus", "CANCEL")])
            other.member.ringing = False
            kernel.emit_hangup(other.channel, 26)
        ch.conn_num, ch.conn_name = agent.cid_num or "<unknown>", agent.cid_name or "<unknown>"
        kernel.emit("MusicOnHoldStop", ch.fields())
        pos = q.entries.index(entry) + 1
        q.entries.remove(entry)
        if not q.entries:
            kernel.devices.set(f"Queue:{q.conf.name}", "NOT_INUSE")
        kernel.emit("QueueCallerLeave", ch.fields() + [("Queue", q.conf.name), ("Position", str(pos)),
                                                       ("Count", str(len(q.entries)))])
        hold = int(now - entry.joined)
        q.holdtime = (q.holdtime * 3 + hold) // 4
        kernel.emit("AgentConnect", ch.fields() + agent.fields("Dest") + [
            ("Queue", q.conf.name), ("Interface", m.interface), ("MemberName", m.name),
            ("HoldTime", str(hold)), ("RingTime", str(int(now - leg.start)))])
        for k, v in (("MEMBERINTERFACE", m.interface), ("MEMBERNAME", m.name), ("QUEUENAME", q.conf.name)):
            ch.variables[k] = v
        bridge = kernel.bridge_create(Bridge(owner=ch))
        for party in (agent, ch):
            kernel.bridge_enter(bridge, party)
        log.info("pbxsim_agent_connect", queue=q.conf.name, agent=m.interface, call_id=ch.linkedid, hold=hold)
        kernel.answered(ch, m.interface)
        q.notify()
        talk_start = kernel.clock.now()
        for hook in list(kernel.hooks.queue_connected):
            hook(ch)
        await self._talk(ch, agent, leg, talk_start)
        talk = int(kernel.clock.now() - talk_start)
        q.completed += 1
        q.talktime = (q.talktime * 3 + talk) // 4
        m.calls += 1
        m.last_call = int(kernel.clock.now())
        m.in_call = False
        self.engine.last_call_end[m.interface] = kernel.clock.now()  # wrapuptime counts from here
        complete = ch.fields() + agent.fields("Dest") + [
            ("Queue", q.conf.name), ("Interface", m.interface), ("MemberName", m.name),
            ("HoldTime", str(hold)), ("TalkTime", str(talk))]
        if await bridge.hand_over(ch, agent, complete):  # a feature took the call over (Atxfer)
            q.notify()
            raise ChannelHungUp(ch.name)
        if not (ch.hungup.is_set() or agent.hungup.is_set()):  # moved by AMI Redirect
            kernel.hooks.queue_bridge_moved(bridge, ch, agent, complete, talk_start)  # raises Redirected for ch
            q.notify()
            return
        if entry.go_on and not ch.hungup.is_set():
            self._agent_left(bridge, ch, agent, complete)
            log.info("pbxsim_agent_complete", queue=q.conf.name, agent=m.interface, call_id=ch.linkedid, talk=talk)
            q.notify()
            return
        self._end(bridge, ch, agent, complete)
        log.info("pbxsim_agent_complete", queue=q.conf.name, agent=m.interface, call_id=ch.linkedid, talk=talk)
        q.notify()
        raise ChannelHungUp(ch.name)

    def _agent_left(self, bridge: Bridge, ch: Channel, agent: Channel, complete: Fields) -> None:
        """Queue option c and the agent hung up: the agent's leg goes, the caller leaves the bridge alive."""
        kernel = self.kernel
        if agent.hangup_by_ami:
            kernel.emit("SoftHangupRequest", agent.fields() + [("Cause", "16")])
        else:
            kernel.emit("HangupRequest", agent.fields())
        kernel.emit("AgentComplete", complete + [("Reason", "agent")])
        kernel.bridge_leave(bridge, agent)
        kernel.bridge_leave(bridge, ch)
        kernel.bridge_destroy(bridge)
        self._set_status(ch, "CONTINUE")  # app_queue.c: OPT_GO_ON; before the agent's Hangup (trace 23)
        kernel.emit_hangup(agent, 16)

    async def _talk(self, ch: Channel, agent: Channel, leg: Leg, talk_start: float) -> None:
        """Until one side hangs up (the agent's phone script may), or a Redirect moves one."""
        clock = self.kernel.clock
        hang_at = None if leg.phone.hangup_after_answer is None else talk_start + leg.phone.hangup_after_answer
        while not (ch.hungup.is_set() or agent.hungup.is_set()):
            fired = await wait_any(clock, [ch.hungup, agent.hungup, ch.kick, agent.kick],
                                   None if hang_at is None else hang_at - clock.now())
            if not fired and hang_at is not None:
                agent.request_hangup(16)
            if not (ch.hungup.is_set() or agent.hungup.is_set()) and (ch.redirect or agent.redirect):
                return  # AMI Redirect (features/moves.py)

    def _end(self, bridge: Bridge, ch: Channel, agent: Channel, complete: Fields) -> None:
        """One side hung up: the hangup sequence as recorded (the order differs by who it was)."""
        kernel = self.kernel
        if ch.hungup.is_set() and ch.hangup_by_ami:
            # trace 12: AMI Hangup of the bridged customer
            kernel.bridge_leave(bridge, ch)
            kernel.bridge_leave(bridge, agent)
            kernel.bridge_destroy(bridge)
            kernel.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
            kernel.emit("AgentComplete", complete + [("Reason", "caller")])
            kernel.emit_hangup(agent, 16)
            kernel.emit_cdrs(ch)
            kernel.emit_hangup(ch, 16)
        elif ch.hungup.is_set():
            # trace 02: the customer hangs up
            kernel.emit("HangupRequest", ch.fields())
            kernel.emit("AgentComplete", complete + [("Reason", "caller")])
            kernel.bridge_leave(bridge, ch)
            kernel.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
            kernel.emit_cdrs(ch)
            kernel.emit_hangup(ch, 16)
            kernel.bridge_leave(bridge, agent)
            kernel.bridge_destroy(bridge)
            kernel.emit_hangup(agent, 16)
        else:
            # trace 16: the agent hangs up (Queue has no 'c' option: the caller is hung up too)
            if agent.hangup_by_ami:
                kernel.emit("SoftHangupRequest", agent.fields() + [("Cause", "16")])
            else:
                kernel.emit("HangupRequest", agent.fields())
            kernel.emit("AgentComplete", complete + [("Reason", "agent")])
            kernel.bridge_leave(bridge, agent)
            kernel.bridge_leave(bridge, ch)
            kernel.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
            kernel.bridge_destroy(bridge)
            kernel.emit_cdrs(ch)
            kernel.emit_hangup(ch, 16)
            kernel.emit_hangup(agent, 16)
