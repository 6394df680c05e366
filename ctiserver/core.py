"""The core: one ordered consumer of the AMI stream that owns calls, agents and pops.

Every AMI item enters through :meth:`Core.sink` (synchronous, called by the AMI
adapter in wire order) and is applied by one task, strictly in order. After
each login the state is rebuilt from ``QueueStatus`` and ``CoreShowChannels``
before any later event is applied. Domain changes fan out to the push hub
(panels) and to the store (work orders, agent log), never the other way round.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import structlog

from ctiserver.agents.book import Account, AgentBook, AgentChanged
from ctiserver.agents.model import WRAPUP_REASON, AgentState
from ctiserver.agents.passwords import verify_password
from ctiserver.agents.service import AgentService
from ctiserver.ami.events import MemberState, translate
from ctiserver.ami.message import AmiMessage, LinkDown, LinkUp, StreamItem
from ctiserver.calls import model as cm
from ctiserver.calls.control import CallControl
from ctiserver.calls.recording import Recorder
from ctiserver.calls.tracker import CallTracker
from ctiserver.calls.views import build_pop, call_view, summary
from ctiserver.config import Config
from ctiserver.errors import InvalidInput, Unauthenticated
from ctiserver.marquee.service import MarqueeService
from ctiserver.push.hub import Audience, PushHub
from ctiserver.store.ops import AgentStateOp
from ctiserver.workorders.projection import customer_op, final_agent, ops_for, ref_for
from ctiserver.workorders.service import WorkOrderQueries

log = structlog.get_logger(__name__)

SUPERVISORS = Audience.roles({"supervisor", "admin"})
TODAY_MAX = 50


def _ivr_nodes(config: Config) -> frozenset[str]:
    """The IVR menu's node names (where 'back to the IVR' may send a caller); empty if unreadable."""
    try:
        from ivr.menu import load_menu

        return frozenset(load_menu(config.ivr.menu_file or None).nodes)
    except Exception as exc:  # the IVR may run elsewhere with its own menu: accept any well-formed node
        log.warning("ivr_menu_unreadable", error=str(exc))
        return frozenset()


def account_from_row(row: Any) -> Account:
    queues = dict(getattr(row, "queues", None) or {})
    return Account(id=row.id, login=row.login, name=row.name, role=row.role, interface=row.interface or "",
                   queues=tuple(queues), penalties=tuple(int(v or 0) for v in queues.values()))


@dataclass(frozen=True, slots=True)
class _WrapupDue:
    """Internal stream item: an agent's wrap-up time ran out (applied in order like an event)."""

    interface: str
    until: float


class Core:
    """Owns the live state; the web layer and the AMI adapter talk to it."""

    def __init__(self, config: Config, store: Any, hub: PushHub) -> None:
        self.config = config
        self.store = store
        self.hub = hub
        self.book = AgentBook(wrapup_for=config.callcenter.wrapup_for)
        self.tracker = CallTracker(self.book.is_agent_endpoint)
        self.agents = AgentService(self.book, config.callcenter.busy_reasons, config.callcenter.queues)
        self.marquee = MarqueeService(store, lambda items: hub.publish("marquee", {"items": items}, Audience.ALL))
        self.workorders = WorkOrderQueries(store)
        # --- call control (issue 4): hold, transfers, IVR, dial out, hang up from the panel
        self.calls = CallControl(self)
        self.calls.ivr_nodes = _ivr_nodes(config)
        self.recording = Recorder(self)  # issue 4 recording (ctiserver/calls/recording.py)
        self.ami: Any = None
        self.ami_up = False
        self.link_ready = asyncio.Event()  # set while the AMI link is up and resynced
        self._queue: asyncio.Queue[StreamItem] = asyncio.Queue()
        self._customers: dict[str, dict] = {}  # linkedid -> {"customer", "recent", "lookup"}
        self._popped: dict[str, set[str]] = {}  # linkedid -> agent ids that got its pop
        self._ring_started: dict[tuple[str, str], float] = {}
        self._today: dict[str, deque[dict]] = {}
        self._today_date = ""
        self._tasks: set[asyncio.Task] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.events_handled = 0
        self._wrapup_timers: dict[str, asyncio.TimerHandle] = {}
        self._signin_dirty: set[str] = set()  # interfaces whose confirmed sign-in must be stored
        self._signin_writing = False

    # -- wiring ----------------------------------------------------------------

    def attach_ami(self, ami: Any) -> None:
        self.ami = ami
        self.agents.ami = ami

    async def load(self) -> None:
        """Read accounts, active marquee and today's calls from the store."""
        self.book.set_accounts(account_from_row(r) for r in await self.store.list_agents())
        await self.marquee.load()
        self._today_date = datetime.now(timezone.utc).date().isoformat()
        rows = await self.store.list_work_orders(date=datetime.now(timezone.utc).date(), agent_id=None, caller=None,
                                                 disposition=None, limit=500, offset=0)
        for row in reversed(rows):
            data = row.to_json() if hasattr(row, "to_json") else dict(row)
            if data.get("agent_id"):
                self._today_list(data["agent_id"]).appendleft(data)
        if hasattr(self.store, "on_health"):
            self.store.on_health = self._db_health

    def sink(self, item: StreamItem) -> None:
        """Called by the AMI adapter for every item, in wire order; never blocks."""
        self._idle.clear()
        self._queue.put_nowait(item)

    async def run(self) -> None:
        """The one consumer: applies items strictly in order; a failing item is logged and skipped."""
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, _WrapupDue):
                    self._wrapup_due(item)
                elif isinstance(item, LinkUp):
                    await self._resync(item)
                elif isinstance(item, LinkDown):
                    self._link_down(item)
                else:
                    self._handle(item)
            except Exception:  # one bad event must not stop the stream
                raw = item.raw or repr(item.headers) if isinstance(item, AmiMessage) else repr(item)
                log.exception("event_failed", raw=raw[:2000])
            finally:
                self.events_handled += 1
                if self._queue.empty():
                    self._idle.set()

    async def drained(self) -> None:
        """Wait until every item given to the sink so far has been applied (tests, benchmarks)."""
        await self._idle.wait()

    # -- events --------------------------------------------------------------------

    def _handle(self, msg: AmiMessage) -> None:
        self.recording.observe(msg)  # issue 4 recording: MixMonitor start/end -> work order
        e = translate(msg)
        if e is None:
            return
        if isinstance(e, MemberState):
            if e.kind != "list":  # list items belong to whoever asked for them
                self._agent_changes(self.book.apply_member(e))
                if e.kind in ("added", "removed", "pause"):
                    self._signin_changed(e.interface)
            return
        linkedid = getattr(e, "linkedid", "")
        with structlog.contextvars.bound_contextvars(linkedid=linkedid or None):
            for ce in self.tracker.apply(e):
                self._call_event(ce)

    def _agent_id(self, interface: str) -> str:
        account = self.book.by_interface.get(interface)
        return account.id if account else ""

    def _call_event(self, ce: object) -> None:
        call: cm.Call = ce.call  # type: ignore[attr-defined]
        for op in ops_for(ce, self._agent_id):
            self.store.submit(op)
        self._agent_changes(self.book.apply_call(ce))
        now = getattr(ce, "at", time.time())
        if isinstance(ce, cm.CallStarted):
            self._lookup(call, phone=call.caller_num)
            log.info("call_started", caller=call.caller_num, direction=call.direction)
        elif isinstance(ce, cm.CallIdentified):
            self._lookup(call, customer_no=call.customer_no)
        elif isinstance(ce, cm.CallerChanged):
            if not call.customer_no:  # the customer is found by the number the caller has now
                self._lookup(call, phone=call.caller_num)
            log.info("caller_changed", caller=call.caller_num, previous=ce.previous[0])
        elif isinstance(ce, cm.CallQueued):
            log.info("call_queued", queue=call.queue)
        elif isinstance(ce, cm.CallRinging):
            agent = self._agent_id(ce.interface)
            self._ring_started[(call.linkedid, agent)] = now
            self._send_pop(call, agent, "call_ringing", now)
            log.info("call_ringing", agent=agent, queue=call.queue)
        elif isinstance(ce, cm.CallRingEnded):
            agent = self._agent_id(ce.interface)
            if agent and call.agent_interface != ce.interface:
                self.hub.publish("call_ended", {"linkedid": call.linkedid, "disposition": ce.why,
                                                "workorder_ref": self._ref(call)}, Audience.agents({agent}))
                self._popped.get(call.linkedid, set()).discard(agent)
            log.info("call_ring_ended", agent=agent, why=ce.why, queue=call.queue)
        elif isinstance(ce, cm.CallAnswered):
            agent = self._agent_id(ce.interface)
            self._send_pop(call, agent, "call_update", now)
            log.info("call_answered", agent=agent, queue=call.queue, wait=call.wait_seconds)
        elif isinstance(ce, cm.AgentLegEnded) and (call.moving or (call.agent_interface
                                                                   and ce.interface != call.agent_interface)):
            # the call was moved on (transfer, IVR): it leaves this agent's panel now, not when it ends
            agent = self._agent_id(ce.interface)
            if agent:
                self._popped.get(call.linkedid, set()).discard(agent)
                self.hub.publish("call_ended", {"linkedid": call.linkedid, "disposition": "moved",
                                                "moved": call.moving or "transfer", "workorder_ref": self._ref(call)},
                                 Audience.agents({agent}))
        elif isinstance(ce, cm.CallEnded):
            self._ended(call, now)
        # --- call control (issue 4): follow-ups (a held party left) and hold state to the agent too
        self.calls.on_event(ce)
        if isinstance(ce, cm.CallOnHold):
            log.info("call_hold" if ce.held else "call_retrieved", agent=self._agent_id(call.agent_interface) or None,
                     seconds=ce.seconds or None, holds=call.holds)
            self.publish_call(call, now)
        elif not isinstance(ce, (cm.CallRingEnded, cm.AgentLegEnded, cm.CallEnded, cm.HeldPartyGone)):
            self.hub.publish("call_update", call_view(call, self._agent_ids(), now, self._hold_warning), SUPERVISORS)

    # --- call control (issue 4) ----------------------------------------------------------

    @property
    def _hold_warning(self) -> float:
        return self.config.callcenter.hold_warning_seconds

    def publish_call(self, call: cm.Call, now: float | None = None) -> None:
        """The call's view (with its hold state) to the agent on it and to supervisors."""
        now = time.time() if now is None else now
        agent = self._agent_id(call.agent_interface) if call.agent_interface else ""
        self._send_pop(call, agent, "call_update", now)  # the agent's pop shows held / held_since
        self.hub.publish("call_update", call_view(call, self._agent_ids(), now, self._hold_warning), SUPERVISORS)

    def spawn_quiet(self, action: dict, linkedid: str) -> None:
        """Send an action the server decides on its own (failures logged; the next resync repairs)."""
        self._spawn(self._quiet_send(action, agent=None))

    def _agent_ids(self) -> dict[str, str]:
        return {i: a.id for i, a in self.book.by_interface.items()}

    def _ref(self, call: cm.Call) -> str:
        return ref_for(call.linkedid, call.started_at)

    def _send_pop(self, call: cm.Call, agent: str, kind: str, now: float) -> None:
        if not agent:
            return
        pop = build_pop(call, self._customers.get(call.linkedid), now, self._ref(call),
                        self._ring_started.get((call.linkedid, agent)), self._hold_warning)
        self._popped.setdefault(call.linkedid, set()).add(agent)
        self.hub.publish(kind, pop, Audience.agents({agent}))

    def _ended(self, call: cm.Call, now: float) -> None:
        last = final_agent(call)  # after a move: the last agent who had the call
        agent = self._agent_id(last) if last else ""
        data = {"linkedid": call.linkedid, "disposition": call.disposition, "workorder_ref": self._ref(call)}
        targets = self._popped.pop(call.linkedid, set()) | ({agent} if agent else set())
        self.hub.publish("call_ended", data, Audience.agents(targets) | SUPERVISORS)
        self._customers.pop(call.linkedid, None)
        for key in [k for k in self._ring_started if k[0] == call.linkedid]:
            del self._ring_started[key]
        if agent:
            item = summary(call, self._ref(call), agent)
            self._today_list(agent).appendleft(item)
            self.hub.publish("workorder_update", item, Audience.agents({agent}) | SUPERVISORS)
        log.info("call_ended", disposition=call.disposition, agent=agent or None, queue=call.queue or None,
                 wait=call.wait_seconds, talk=call.talk_seconds, hangup_by=call.hangup_by or None)

    def _agent_changes(self, changes: list[AgentChanged]) -> None:
        for ch in changes:
            if ch.new is AgentState.WRAP_UP and ch.status.wrapup_until is not None:
                self._start_wrapup(ch)
            by = ch.status.changed_by[0] if ch.status.changed_by else None
            self.store.submit(AgentStateOp.new(ch.agent_id, ch.old.value, ch.new.value, ch.new_reason or None,
                                               ch.cause, at=ch.at, by=by))
            view = self.book.view(ch.agent_id)
            self.hub.publish("agent_state", view, Audience.agents({ch.agent_id}) | SUPERVISORS)
            log.info("agent_state", agent=ch.agent_id, state=ch.new.value, reason=ch.new_reason or None,
                     previous=ch.old.value, cause=ch.cause)

    # -- wrap-up (after-call work) ----------------------------------------------------

    def _start_wrapup(self, ch: AgentChanged) -> None:
        """Pause the agent with the wrap-up reason (no call is routed) and time its end."""
        until = ch.status.wrapup_until
        assert until is not None
        if not ch.status.paused:
            self._spawn(self._quiet_send({"Action": "QueuePause", "Interface": ch.interface, "Paused": "true",
                                          "Reason": WRAPUP_REASON}, agent=ch.agent_id))
        old = self._wrapup_timers.pop(ch.interface, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        delay = max(0.0, until - time.time())
        self._wrapup_timers[ch.interface] = loop.call_later(
            delay, lambda: self._enqueue(_WrapupDue(ch.interface, until)))
        log.info("wrapup_started", agent=ch.agent_id, seconds=round(delay, 1))

    def _wrapup_due(self, due: "_WrapupDue") -> None:
        self._wrapup_timers.pop(due.interface, None)
        self._agent_changes(self.book.end_wrapup(due.interface, due.until, time.time()))
        self._end_wrapup_pause(due.interface)

    def _end_wrapup_pause(self, interface: str) -> None:
        """Unpause a member whose only pause is the wrap-up (its end is confirmed by Asterisk's event)."""
        status = self.book.status_of(interface)
        if status.wrapup_until is None and any(m.paused and m.reason == WRAPUP_REASON for m in status.memberships):
            account = self.book.by_interface.get(interface)
            self._spawn(self._quiet_send({"Action": "QueuePause", "Interface": interface, "Paused": "false"},
                                         agent=account.id if account else None))

    def _enqueue(self, item: object) -> None:
        self._idle.clear()
        self._queue.put_nowait(item)  # type: ignore[arg-type]

    async def _quiet_send(self, action: dict, agent: str | None = None) -> None:
        """An action the server takes on its own: failures are logged, the next resync repairs."""
        from ctiserver.ami.errors import AmiError

        if self.ami is None:
            return
        try:
            await self.ami.send(action)
        except AmiError as exc:
            log.warning("ami_action_failed", action=action.get("Action"), agent=agent, error=str(exc))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- who should be signed in (the store remembers, Asterisk may forget) -------------

    def _signin_changed(self, interface: str) -> None:
        if not hasattr(self.store, "set_signin"):
            return
        self._signin_dirty.add(interface)
        if not self._signin_writing:
            self._signin_writing = True
            self._spawn(self._signin_writer())

    async def _signin_writer(self) -> None:
        """Stores each agent's latest confirmed sign-in, one at a time (never an older one last).

        The store journals it, so it is kept even while PostgreSQL is away."""
        try:
            while self._signin_dirty:
                interface = self._signin_dirty.pop()
                account = self.book.by_interface.get(interface)
                if account is None:
                    continue
                status = self.book.status_of(interface)
                reasons = [m.reason for m in status.memberships if m.paused and m.reason != WRAPUP_REASON]
                paused = status.paused and bool(reasons)
                try:
                    if status.memberships:
                        await self.store.set_signin(account.id, {m.queue: m.penalty for m in status.memberships},
                                                    paused, reasons[-1] if paused else None)
                    else:
                        await self.store.clear_signin(account.id)
                except InvalidInput as exc:  # e.g. a pause reason with control characters set at the PBX
                    log.warning("signin_not_stored", agent=account.id, error=str(exc))
        finally:
            self._signin_writing = False  # set before this task ends, so a new change starts a new writer

    async def settled(self) -> None:
        """Everything received is applied and every follow-up (restores, writes, lookups) is done."""
        while True:
            await self.drained()
            pending = [t for t in self._tasks if not t.done()]
            if not pending and self._queue.empty():
                return
            await asyncio.gather(*pending, return_exceptions=True)

    async def _restore_signins(self) -> None:
        """After a login: sign agents back in whom Asterisk forgot (a restart), as the store says."""
        from ctiserver.store.errors import StoreUnavailable

        if not hasattr(self.store, "list_signins"):
            return
        try:
            wanted = await self.store.list_signins(timeout=2.0)
        except StoreUnavailable as exc:
            log.warning("signin_restore_skipped", error=str(exc))
            return
        known = set()
        for signin in wanted:
            account = self.book.by_id.get(signin.agent_id)
            if account is None:
                continue
            known.add(account.interface)
            status = self.book.status_of(account.interface)
            missing = [q for q in signin.queues if q not in status.queues]
            if not missing:
                continue
            log.info("agent_restored", agent=account.id, queues=missing, paused=signin.paused, reason=signin.reason)
            for queue in missing:
                await self._quiet_send({"Action": "QueueAdd", "Queue": queue, "Interface": account.interface,
                                        "MemberName": account.name, "StateInterface": account.interface,
                                        "Penalty": str(signin.queues[queue]),
                                        "Paused": "true" if signin.paused else "false",
                                        **({"Reason": signin.reason} if signin.paused and signin.reason else {})},
                                       agent=account.id)
        for interface, status in self.book.status.items():
            if status.memberships and interface not in known:
                self._signin_changed(interface)  # signed in at the PBX itself: remember it too
            if status.wrapup_until is None:
                self._end_wrapup_pause(interface)  # a wrap-up whose timer we lost is over

    # -- customer lookups (off the ordered path) ------------------------------------

    def _lookup(self, call: cm.Call, phone: str = "", customer_no: str = "") -> None:
        task = asyncio.create_task(self._do_lookup(call, phone, customer_no))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _do_lookup(self, call: cm.Call, phone: str, customer_no: str) -> None:
        from ctiserver.store.errors import StoreUnavailable

        try:
            if customer_no:
                found = await self.store.find_customer_by_no(customer_no)
            else:
                found = await self.store.find_customer_by_phone(phone) if phone else None
            customer = found.to_json() if found else None
            recent = await self.store.recent_work_orders(
                caller_number=None if customer else phone, customer_id=customer["id"] if customer else None,
                limit=self.config.callcenter.recent_workorders + 1)
            recent = [r.to_json() if hasattr(r, "to_json") else dict(r) for r in recent]
            recent = [r for r in recent if r.get("linkedid") != call.linkedid][: self.config.callcenter.recent_workorders]
            info = {"customer": customer, "recent": recent, "lookup": "done"}
        except StoreUnavailable as exc:
            log.warning("customer_lookup_failed", linkedid=call.linkedid, error=str(exc))
            info = {"customer": None, "recent": [], "lookup": "unavailable"}
        if call.linkedid not in self.tracker.calls:
            return
        if not customer_no and (call.customer_no or call.caller_num != phone):
            return  # overtaken: the caller id changed or the IVR identified the customer meanwhile
        self._customers[call.linkedid] = info
        if info["lookup"] == "done":
            self.store.submit(customer_op(call, info["customer"]))
        for agent in self._popped.get(call.linkedid, set()):
            self._send_pop(call, agent, "call_update", time.time())

    # -- link and resync -------------------------------------------------------------

    async def _resync(self, up: LinkUp) -> None:
        from ctiserver.ami.errors import AmiError

        try:
            status = await self.ami.send({"Action": "QueueStatus"})
            channels = await self.ami.send({"Action": "CoreShowChannels"})
        except AmiError as exc:
            log.warning("resync_failed", error=str(exc))
            return
        now = up.at
        members = [e for m in status.events if isinstance(e := translate(m), MemberState)]
        entries = [e for m in status.events if m.name == "QueueEntry" and (e := translate(m)) is not None]
        snaps = [e for m in channels.events if m.name == "CoreShowChannel" and (e := translate(m)) is not None]
        for ce in self.tracker.resync(snaps, entries, now):
            self._call_event(ce)
        self._agent_changes(self.book.resync_members(members, now))
        self._spawn(self._restore_signins())
        self.ami_up = True
        self.link_ready.set()
        self._publish_link()
        log.info("resynced", reconnect=up.reconnect, members=len(members), channels=len(snaps),
                 calls=len(self.tracker.calls))

    def _link_down(self, down: LinkDown) -> None:
        self.ami_up = False
        self.link_ready.clear()
        self._publish_link()
        log.warning("ami_link_down", reason=down.reason)

    def _db_health(self, healthy: bool) -> None:
        self._publish_link()

    def link_status(self) -> dict:
        return {"ami": self.ami_up, "db": bool(getattr(self.store, "healthy", True))}

    def _publish_link(self) -> None:
        self.hub.publish("link", self.link_status(), Audience.ALL)

    # -- what the web layer calls ---------------------------------------------------------

    async def authenticate(self, login: str, password: str) -> Account:
        """Check a login and password; raises Unauthenticated (same message for both failures)."""
        row = await self.store.get_agent_by_login(login)
        ok = row is not None and await asyncio.to_thread(verify_password, password, row.password_hash)
        if not ok:
            raise Unauthenticated("wrong login or password")
        account = account_from_row(row)
        if account.id not in self.book.by_id:  # created after start
            self.book.set_accounts([*self.book.by_id.values(), account])
        return self.book.by_id[account.id]

    def account(self, agent_id: str) -> Account | None:
        return self.book.by_id.get(agent_id)

    def _today_list(self, agent_id: str) -> deque[dict]:
        today = datetime.now(timezone.utc).date().isoformat()
        if today != self._today_date:
            self._today.clear()
            self._today_date = today
        return self._today.setdefault(agent_id, deque(maxlen=TODAY_MAX))

    def pop_for(self, agent_id: str) -> dict | None:
        account = self.book.by_id.get(agent_id)
        if account is None:
            return None
        now = time.time()
        for call in self.tracker.calls.values():
            if call.agent_interface == account.interface or account.interface in call.ringing.values():
                return build_pop(call, self._customers.get(call.linkedid), now, self._ref(call),
                                 self._ring_started.get((call.linkedid, agent_id)), self._hold_warning)
        return None

    def snapshot_for(self, account: Account) -> dict:
        """Everything a user's panel shows, at connect or on resync."""
        now = time.time()
        ids = self._agent_ids()
        calls = [call_view(c, ids, now, self._hold_warning) for c in self.tracker.calls.values()]
        if not account.is_supervisor:
            calls = [c for c in calls if c["agent"] == account.id or account.id in c["ringing"]]
        return {
            "me": self.book.view(account.id),
            "agents": self.book.views() if account.is_supervisor else [],
            "pop": self.pop_for(account.id),
            "calls": calls,
            "marquee": self.marquee.active(),
            "link": self.link_status(),
            "today": list(self._today_list(account.id)),
            "busy_reasons": list(self.config.callcenter.busy_reasons),
            "queues": list(account.queues or self.config.callcenter.queues),
            "server_time": now,  # durations are shown against the server's clock, not the browser's
            "hold_warning_seconds": self._hold_warning,  # call control: the panel warns past this hold time
        }

    async def close(self) -> None:
        self.marquee.close()
        for handle in self._wrapup_timers.values():
            handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
