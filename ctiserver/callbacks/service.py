"""Callbacks: taking the request, waiting for its turn, reserving and ringing an agent, dialling the caller.

What Asterisk does and says at each step (asterisk_conf/extensions.conf ``[cti-queue-exit]`` and
``[cti-callback]``, README "Callbacks"):

- request: the caller presses the queue's exit key (queues.conf ``context = cti-queue-exit``):
  app_queue sends them to ``cti-queue-exit,<key>`` (``QueueCallerLeave``, no abandon); the IVR
  takes the number (the caller's own, or keyed in) and sends ``UserEvent CtiCallback`` on the
  caller's channel (Id, Queue, Number, Joined, Position): this server records it, in line at the
  caller's original join time (the ``QueueCallerJoin`` the call tracker saw, else ``Joined``).
- turn: ``scheduler.decide`` per queue, re-run whenever a caller joins, is rung, answered or leaves,
  an agent's state changes, a retry falls due or the AMI link is back.
- reserve: ``QueuePause`` of the agent (every queue) with the reason ``callback``: app_queue rings
  no paused member, so no queue gives that agent away while their phone rings for the callback.
- ring the agent: ``Originate`` ``Channel=PJSIP/<agent>`` ``Context=cti-callback`` ``Exten=<number>``
  ``ChannelId=cti-cb-…``: the agent's phone rings first (the panel gets a ``notice`` of kind
  ``callback``: the pop, marked callback); once answered the dialplan dials the caller.
- outcome: ``DialEnd`` of the agent's channel: ANSWER the callback is done; NOANSWER, BUSY,
  CONGESTION, CHANUNAVAIL spend one attempt (retried ``retry_seconds`` later, at most ``retries``
  times, then a work order asks for a manual callback); the agent not answering
  (``OriginateResponse`` Failure) or hanging up first spends none and the callback keeps its place.
- release: when the agent's channel is gone the ``callback`` pause becomes the usual wrap-up pause
  (or is lifted when there is no wrap-up, or no call took place).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from ctiserver.agents.book import AgentBook, AgentChanged
from ctiserver.agents.model import WRAPUP_REASON, AgentState
from ctiserver.ami import actions
from ctiserver.ami import events as ev
from ctiserver.ami.gateway import AmiGateway
from ctiserver.callbacks import model as m
from ctiserver.callbacks.model import Callback
from ctiserver.callbacks.repo import CallbackRepo
from ctiserver.callbacks.scheduler import Line, decide
from ctiserver.calls import model as cm
from ctiserver.calls.tracker import CallTracker
from ctiserver.errors import Conflict, Forbidden, InvalidInput
from ctiserver.push.hub import SUPERVISORS, Audience, Publisher
from ctiserver.workorders.projection import ref_for

log = structlog.get_logger(__name__)

USER_EVENT = "CtiCallback"
CONTEXT = "cti-callback"
FAILED_STATUSES = (
    "NOANSWER",
    "BUSY",
    "CONGESTION",
    "CHANUNAVAIL",
    "INVALIDARGS",
    "DONTCALL",
    "TORTURE",
)


class Callbacks:
    """The open callbacks, their lines per queue, and the agents reserved for them."""

    def __init__(
        self,
        tracker: CallTracker,
        book: AgentBook,
        gateway: AmiGateway,
        repo: CallbackRepo,
        record: Callable[[cm.CallStep], None],
        hub: Publisher,
        *,
        retries: int,
        retry_seconds: float,
        ring_seconds: int,
        dial_seconds: int,
        queues: tuple[str, ...],
        manual: Callable[[Callback], Any] | None = None,
    ) -> None:
        self.tracker = tracker
        self.book = book
        self.gateway = gateway
        self.repo = repo
        self.record = record
        self.hub = hub
        self.retries = retries
        self.retry_seconds = retry_seconds
        self.ring_seconds = ring_seconds
        self.dial_seconds = dial_seconds
        self.queues = queues
        self.manual = (
            manual  # opens the work order of a callback that failed (a coroutine)
        )
        self.callbacks: dict[str, Callback] = {}  # open ones (pending, ringing) by id
        self.lines: dict[str, Line] = {}
        self.by_call: dict[str, str] = {}  # attempt's call linkedid -> callback id
        self.attempts: dict[
            str, tuple[str, str]
        ] = {}  # attempt's call linkedid -> (agent interface, agent id)
        self.reserved: dict[str, str] = {}  # agent interface -> callback id
        self.dialled: set[str] = (
            set()
        )  # attempts whose caller leg was dialled (a DialEnd came)
        self.left_queue: set[str] = (
            set()
        )  # caller uniqueids that left their queue without an agent
        self.cooldown: dict[
            str, float
        ] = {}  # agent interface -> until when it is not offered a callback
        self.recent: list[Callback] = []  # the last closed ones (the supervisor's list)
        self._evaluation: asyncio.Handle | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}

    # -- start, restart ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Read back the open callbacks (a restarted server carries on with them)."""
        for cb in await self.repo.load_open():
            self._keep(cb)
        log.info("callbacks_loaded", open=len(self.callbacks))

    async def after_resync(self) -> None:
        """After every AMI (re)login: attempts whose call Asterisk no longer has go back in line, agents
        left paused for a callback that is not ringing them any more are released, then turns are taken."""
        now = time.time()
        for cb in list(self.callbacks.values()):
            if cb.state == m.RINGING and cb.call_linkedid not in self.tracker.calls:
                log.info(
                    "callback_attempt_lost",
                    callback=cb.id,
                    call=cb.call_linkedid,
                    agent=cb.agent_id,
                )
                self._update(m.agent_missed(cb, now))
        for linkedid in [c for c in self.attempts if c not in self.tracker.calls]:
            self._finish_attempt(linkedid)
        for interface, account in self.book.by_interface.items():
            status = self.book.status_of(interface)
            held = any(
                mb.paused and mb.reason == m.RESERVED_REASON
                for mb in status.memberships
            )
            cb_id = self.reserved.get(interface)
            if (
                held
                and (cb_id is None or cb_id not in self.callbacks)
                and not status.call
                and not status.ringing
            ):
                self.reserved.pop(interface, None)
                self.gateway.spawn(
                    actions.queue_pause(interface, False), agent=account.id
                )
        self.kick()

    # -- the caller's request ---------------------------------------------------------------------

    def on_ami_event(self, e: object) -> None:
        match e:
            case ev.UserEvent(name=name) if name.lower() == USER_EVENT.lower():
                self._requested(e)
            case ev.CallerLeftQueue(uniqueid=uid):
                self.left_queue.add(uid)
            case ev.CallerJoinedQueue(uniqueid=uid):
                self.left_queue.discard(uid)
            case ev.OriginateResult(ok=False, uniqueid=uid, channel=channel):
                # the agent's phone did not answer, or could not ring at all (then no channel was made,
                # the Uniqueid is <null> and only the dial string tells whose it was)
                linkedid = (
                    uid
                    if uid in self.attempts
                    else next(
                        (
                            c
                            for c, (interface, _) in self.attempts.items()
                            if interface == channel and c not in self.tracker.calls
                        ),
                        "",
                    )
                )
                cb = self.callbacks.get(self.by_call.get(linkedid, ""))
                if cb is not None and cb.call_linkedid == linkedid:
                    self._agent_missed(cb, "agent_no_answer")
                if linkedid and linkedid not in self.tracker.calls:
                    self._finish_attempt(linkedid)
            case ev.DialEnded(uniqueid=uid, status=status) if uid in self.by_call:
                self._dial_ended(self.by_call[uid], status.upper())
            case ev.ChannelHungUp(uniqueid=uid):
                self.left_queue.discard(uid)
            case ev.VariableSet(
                variable="CTI_CALLBACK_ID",
                value=cb_id,
                uniqueid=uid,
                linkedid=linkedid,
                channel=channel,
            ) if uid.startswith(m.CHANNEL_PREFIX):
                self._adopt(cb_id, linkedid, channel)

    def _adopt(self, cb_id: str, linkedid: str, channel: str) -> None:
        """An attempt for one of our callbacks that this server did not start (or no longer knows it
        started: a restart, a write that had not reached PostgreSQL): it is the callback's attempt now."""
        cb = self.callbacks.get(cb_id)
        if cb is None or cb.call_linkedid == linkedid:
            return
        interface = channel.rsplit("-", 1)[0]
        account = self.book.by_interface.get(interface)
        if account is None:
            return
        if cb.call_linkedid:  # an attempt of ours Asterisk never made: forgotten
            old_interface, _ = self.attempts.pop(cb.call_linkedid, ("", ""))
            self.by_call.pop(cb.call_linkedid, None)
            if self.reserved.get(old_interface) == cb.id:
                del self.reserved[old_interface]
        self.lines.get(cb.queue, Line()).remove(cb)
        cb = m.reserved(cb, account.id, linkedid, time.time())
        self.reserved[interface] = cb.id
        self.by_call[linkedid] = cb.id
        self.attempts[linkedid] = (interface, account.id)
        self._step(
            cb,
            "callback_attempt",
            {
                "agent": account.id,
                "attempt": cb.attempts + 1,
                "call": linkedid,
                "adopted": True,
            },
        )
        log.info(
            "callback_attempt_adopted",
            callback=cb.id,
            agent=account.id,
            call=linkedid,
            linkedid=cb.linkedid,
        )
        self._put(cb)
        self._pop(cb, "ringing")

    def _requested(self, e: ev.UserEvent) -> None:
        f = {k.lower(): v for k, v in e.fields.items()}
        cb_id, queue, number = f.get("id", ""), f.get("queue", ""), f.get("number", "")
        if not (
            m.CALLBACK_ID.fullmatch(cb_id)
            and m.QUEUE.fullmatch(queue)
            and m.NUMBER.fullmatch(number)
        ):
            log.warning("callback_request_refused", fields=f, linkedid=e.linkedid)
            return
        if cb_id in self.callbacks:
            return  # the same request seen twice
        call = self.tracker.calls.get(e.linkedid)
        joined = (
            call.queued_at
            if call is not None and call.queued_at is not None
            else _float(f.get("joined"), e.at)
        )
        cb = Callback(
            cb_id,
            queue,
            number,
            joined,
            e.at,
            linkedid=e.linkedid,
            caller_number=call.caller_num if call is not None else f.get("caller", ""),
            customer_no=call.customer_no if call is not None else "",
            position=int(_float(f.get("position"), 0)),
            updated_at=time.time(),
        )  # the server's clock orders the row's writes
        self._keep(cb)
        self.repo.save(cb)
        self._step(
            cb,
            "callback_requested",
            {
                "number": number,
                "queue": queue,
                "position": cb.position,
                "joined_at": joined,
            },
        )
        log.info(
            "callback_requested",
            callback=cb.id,
            linkedid=e.linkedid,
            queue=queue,
            place=self.lines[queue].position(cb),
        )
        self._publish_lines()
        self.kick()

    # -- turns ------------------------------------------------------------------------------------

    def on_call_event(self, ce: object) -> None:
        call = getattr(ce, "call", None)
        if call is None:
            return
        if call.linkedid in self.attempts and isinstance(
            ce, (cm.AgentLegEnded, cm.CallEnded)
        ):
            cb = self.callbacks.get(self.by_call.get(call.linkedid, ""))
            if (
                cb is not None
                and cb.state == m.RINGING
                and cb.call_linkedid == call.linkedid
            ):
                self._agent_missed(
                    cb, "agent_hung_up"
                )  # over before the caller's phone was dialled
            self._finish_attempt(call.linkedid)
        if isinstance(
            ce,
            (
                cm.CallQueued,
                cm.CallRinging,
                cm.CallRingEnded,
                cm.CallAnswered,
                cm.CallEnded,
            ),
        ):
            self.kick()

    def on_agent_change(self, ch: AgentChanged) -> None:
        if (
            ch.new is AgentState.NOT_READY
            and ch.new_reason == m.RESERVED_REASON
            and ch.interface not in self.reserved
            and self.gateway.connected
        ):
            # paused for a callback that is not theirs (any more): a sign-in restored after Asterisk
            # restarted, a pause made elsewhere; nothing would ever lift it
            log.info("callback_stale_pause_lifted", agent=ch.agent_id)
            self.gateway.spawn(
                actions.queue_pause(ch.interface, False), agent=ch.agent_id
            )
        if ch.new is AgentState.READY or ch.old is AgentState.READY:
            self.kick()

    def kick(self) -> None:
        """Take the turns that are due, once, soon (many changes in a row make one evaluation)."""
        if self._evaluation is None:
            self._evaluation = asyncio.get_running_loop().call_soon(self._evaluate)

    def _evaluate(self) -> None:
        self._evaluation = None
        if not self.gateway.connected or not self.callbacks:
            return
        now = time.time()
        waiting = self._earliest_waiting()
        for queue, line in self.lines.items():
            if not line:
                continue
            ready = self._ready_agents(queue)
            for turn in decide(line, self.callbacks, waiting.get(queue), ready, now):
                self._reserve(self.callbacks[turn.callback], turn.agent, now)

    def _earliest_waiting(self) -> dict[str, float]:
        """Per queue, the join time of the earliest caller still waiting for Asterisk to ring an agent."""
        out: dict[str, float] = {}
        for call in self.tracker.calls.values():
            if (
                call.queue
                and call.queued_at is not None
                and call.answered_at is None
                and call.ended_at is None
                and not call.ringing
                and call.caller_leg not in self.left_queue
                and call.queued_at < out.get(call.queue, float("inf"))
            ):
                out[call.queue] = call.queued_at
        return out

    def _ready_agents(self, queue: str) -> list[str]:
        """Interfaces of the queue's ready agents, ready longest first (those who missed it last)."""
        found = []
        now = time.time()
        for interface in self.book.by_interface:
            if interface in self.reserved or self.cooldown.get(interface, 0.0) > now:
                continue
            status = self.book.status_of(interface)
            if status.state is AgentState.READY and any(
                mb.queue == queue and not mb.paused for mb in status.memberships
            ):
                found.append((status.since, interface))
        return [i for _, i in sorted(found)]

    def _reserve(self, cb: Callback, interface: str, now: float) -> None:
        account = self.book.by_interface.get(interface)
        if account is None:
            return
        call_linkedid = f"{m.CHANNEL_PREFIX}{uuid.uuid4().hex[:16]}"
        self.lines[cb.queue].remove(cb)
        cb = m.reserved(cb, account.id, call_linkedid, now)
        self.reserved[interface] = cb.id
        self.by_call[call_linkedid] = cb.id
        self.attempts[call_linkedid] = (interface, account.id)
        self._put(cb)
        self.gateway.run(self._ring(cb, account.id, interface))

    async def _ring(self, cb: Callback, agent_id: str, interface: str) -> None:
        """Pause the agent (reserved), open the attempt's work order, ring the agent's phone."""
        now = time.time()
        waited = round(now - cb.joined_at, 1)
        self._step(
            cb,
            "callback_attempt",
            {
                "agent": agent_id,
                "attempt": cb.attempts + 1,
                "call": cb.call_linkedid,
                "waited_seconds": waited,
            },
        )
        # the attempt is a call of its own (the agent's phone first, like a dial-out): its work order
        # says whose callback it is; no queue on it, the queue's figures count the original call
        self.record(
            cm.CallStep(
                cb.call_linkedid,
                "callback_call",
                {
                    "callback": cb.id,
                    "number": cb.number,
                    "queue": cb.queue,
                    "agent": agent_id,
                    "original": cb.linkedid,
                    "attempt": cb.attempts + 1,
                },
                now,
                fields={
                    "ref": ref_for(cb.call_linkedid, now),
                    "direction": "outbound",
                    "agent_id": agent_id,
                    "caller_number": cb.number,
                    "call_state": "open",
                    "created_at": datetime.fromtimestamp(now, UTC).isoformat(),
                },
            )
        )
        ok = await self.gateway.send_quietly(
            actions.queue_pause(interface, True, m.RESERVED_REASON),
            agent=agent_id,
            callback=cb.id,
        )
        if ok:
            ok = await self.gateway.send_quietly(
                actions.originate(
                    interface,
                    CONTEXT,
                    cb.number,
                    channel_id=cb.call_linkedid,
                    timeout_ms=self.ring_seconds * 1000,
                    caller_id=f'"Callback {cb.number}" <{cb.number}>',
                    variables=f"CTI_CALLBACK_ID={cb.id},CTI_DIAL_BY={agent_id},CTI_CALLBACK_RING={self.dial_seconds}",
                ),
                agent=agent_id,
                callback=cb.id,
            )
        current = self.callbacks.get(cb.id)
        if not ok:
            if current is not None and current.call_linkedid == cb.call_linkedid:
                self._agent_missed(current, "originate_failed")
            self._finish_attempt(cb.call_linkedid)
            return
        log.info(
            "callback_ringing_agent",
            callback=cb.id,
            agent=agent_id,
            queue=cb.queue,
            call=cb.call_linkedid,
            linkedid=cb.linkedid,
            waited=waited,
        )
        if current is not None:
            self._pop(current, "ringing")

    # -- outcomes ---------------------------------------------------------------------------------

    def _dial_ended(self, cb_id: str, status: str) -> None:
        cb = self.callbacks.get(cb_id)
        if cb is None or cb.state != m.RINGING:
            return
        self.dialled.add(cb.call_linkedid)
        if (
            status == "CANCEL"
        ):  # the agent hung up while the caller's phone rang: no attempt spent
            self._agent_missed(cb, "agent_cancelled")
            return
        if status != "ANSWER" and status not in FAILED_STATUSES:
            return
        now = time.time()
        new = m.dialled(
            cb, status, now, retries=self.retries, interval=self.retry_seconds
        )
        if new.state == m.CONNECTED:
            self._step(
                new,
                "callback_connected",
                {
                    "agent": cb.agent_id,
                    "attempt": new.attempts,
                    "call": cb.call_linkedid,
                    "waited_seconds": round(now - cb.joined_at, 1),
                },
            )
            log.info(
                "callback_connected",
                callback=cb.id,
                agent=cb.agent_id,
                linkedid=cb.linkedid,
                waited=round(now - cb.joined_at, 1),
            )
        else:
            self._step(
                new,
                "callback_not_reached",
                {
                    "status": status,
                    "attempt": new.attempts,
                    "retry_at": new.not_before if new.state == m.PENDING else None,
                },
            )
            log.info(
                "callback_not_reached",
                callback=cb.id,
                status=status,
                attempt=new.attempts,
                state=new.state,
                linkedid=cb.linkedid,
            )
        self._update(new)
        if new.state == m.FAILED:
            self._failed(new)

    def _agent_missed(self, cb: Callback, why: str) -> None:
        """The agent did not take the attempt: the callback goes back to its place, no attempt spent."""
        if cb.state != m.RINGING:
            return
        self._step(cb, "callback_agent_missed", {"agent": cb.agent_id, "why": why})
        interface = self._interface(cb.agent_id)
        if (
            interface
        ):  # not offered the next callback at once: another ready agent first
            self.cooldown[interface] = time.time() + self.ring_seconds
            asyncio.get_running_loop().call_later(self.ring_seconds, self.kick)
        log.info(
            "callback_agent_missed",
            callback=cb.id,
            agent=cb.agent_id,
            why=why,
            linkedid=cb.linkedid,
        )
        self._update(m.agent_missed(cb, time.time()))

    def _finish_attempt(self, linkedid: str) -> None:
        """The attempt's call is over (or never began): the agent is no longer held for it."""
        interface, agent_id = self.attempts.pop(linkedid, ("", ""))
        cb_id = self.by_call.pop(linkedid, None)
        self.dialled.discard(linkedid)
        if not interface:
            return
        if self.reserved.get(interface) == cb_id:
            del self.reserved[interface]
        status = self.book.status_of(interface)
        if any(
            mb.paused and mb.reason == m.RESERVED_REASON for mb in status.memberships
        ):
            # after a call the agent's wrap-up (the book started it as the agent's leg ended) is the
            # usual wrap-up pause, which ends by itself; without a call the agent is ready again
            wrapup = status.wrapup_until is not None
            self.gateway.spawn(
                actions.queue_pause(interface, wrapup, WRAPUP_REASON if wrapup else ""),
                agent=agent_id,
            )
            log.info("callback_agent_released", agent=agent_id, wrapup=wrapup)
        self.kick()

    def _failed(self, cb: Callback) -> None:
        self._step(
            cb,
            "callback_failed",
            {"attempts": cb.attempts, "last_status": cb.outcome, "manual": True},
        )
        log.warning(
            "callback_failed",
            callback=cb.id,
            attempts=cb.attempts,
            linkedid=cb.linkedid,
            queue=cb.queue,
        )
        if self.manual is not None:
            self.gateway.run(self._manual(cb))

    async def _manual(self, cb: Callback) -> None:
        try:
            await self.manual(cb)
        except Exception as exc:  # noqa: BLE001 - the failed callback stays listed for the supervisors all the same
            log.warning(
                "callback_manual_workorder_failed",
                callback=cb.id,
                error=str(exc) or type(exc).__name__,
            )

    # -- supervisor's commands ---------------------------------------------------------------------

    def cancel(self, account: Any, cb_id: Any) -> dict:
        """A supervisor takes a pending callback off the list."""
        if not getattr(account, "is_supervisor", False):
            raise Forbidden("only supervisors may cancel callbacks")
        if not isinstance(cb_id, str) or not m.CALLBACK_ID.fullmatch(cb_id):
            raise InvalidInput("id is not a callback id", field="id")
        cb = self.callbacks.get(cb_id)
        if cb is None:
            raise Conflict(f"no open callback {cb_id}", code="no_callback")
        if cb.state != m.PENDING:
            raise Conflict("the callback is being made now", code="callback_ringing")
        new = m.cancelled(cb, time.time())
        self._step(new, "callback_cancelled", {"by": account.id})
        self._update(new)
        return new.to_json()

    # -- views ------------------------------------------------------------------------------------

    def view(self, cb: Callback) -> dict:
        line = self.lines.get(cb.queue)
        return {
            **cb.to_json(),
            "place": line.position(cb)
            if line is not None and cb.state == m.PENDING
            else 0,
        }

    def per_queue(self) -> dict:
        """Pending callbacks per queue in line order, the ones being made, and the last closed ones."""
        queues: dict[str, dict] = {}
        for q in sorted(set(self.queues) | set(self.lines)):
            line = self.lines.get(q, Line())
            pending = [self.view(self.callbacks[i]) for _, i in line.keys]
            ringing = [
                self.view(cb)
                for cb in self.callbacks.values()
                if cb.queue == q and cb.state == m.RINGING
            ]
            queues[q] = {
                "queue": q,
                "pending": pending,
                "ringing": ringing,
                "count": len(pending) + len(ringing),
            }
        return {
            "queues": list(queues.values()),
            "recent": [c.to_json() for c in self.recent[-20:]],
        }

    def snapshot(self, account: Any) -> dict:
        return {
            "callbacks": self.per_queue()
            if getattr(account, "is_supervisor", False)
            else None
        }

    # -- internals --------------------------------------------------------------------------------

    def _keep(self, cb: Callback) -> None:
        self.callbacks[cb.id] = cb
        line = self.lines.setdefault(cb.queue, Line())
        if cb.state == m.PENDING:
            line.add(cb)
            self._retry_timer(cb)
        elif cb.state == m.RINGING:
            self.by_call[cb.call_linkedid] = cb.id
            interface = self._interface(cb.agent_id)
            if interface:
                self.reserved[interface] = cb.id
                self.attempts[cb.call_linkedid] = (interface, cb.agent_id)

    def _put(self, cb: Callback) -> None:
        self.callbacks[cb.id] = cb
        self.repo.save(cb)
        self._publish_lines()

    def _update(self, new: Callback) -> None:
        """Replace a callback's state: back in line, out of the open ones, saved and pushed."""
        old = self.callbacks.get(new.id)
        if old is not None:
            self.lines.get(old.queue, Line()).remove(old)
        if new.open:
            self.callbacks[new.id] = new
            if new.state == m.PENDING:
                self.lines.setdefault(new.queue, Line()).add(new)
                self._retry_timer(new)
        else:
            self.callbacks.pop(new.id, None)
            self.recent = (self.recent + [new])[-50:]
        self.repo.save(new)
        self._publish_lines()
        if new.agent_id and old is not None and old.state == m.RINGING:
            self._pop(new, new.state)
        self.kick()

    def _retry_timer(self, cb: Callback) -> None:
        delay = cb.not_before - time.time()
        old = self._timers.pop(cb.id, None)
        if old is not None:
            old.cancel()
        if delay > 0:
            self._timers[cb.id] = asyncio.get_running_loop().call_later(
                delay, self.kick
            )

    def _interface(self, agent_id: str) -> str:
        account = self.book.by_id.get(agent_id)
        return account.interface if account is not None else ""

    def _step(self, cb: Callback, kind: str, data: dict) -> None:
        if cb.linkedid:
            self.record(
                cm.CallStep(
                    cb.linkedid,
                    kind,
                    {
                        "callback": cb.id,
                        **{k: v for k, v in data.items() if v is not None},
                    },
                    time.time(),
                )
            )

    def _pop(self, cb: Callback, state: str) -> None:
        """The agent's pop, marked callback: who is called back, for which queue, how long they have waited."""
        call = self.tracker.calls.get(cb.linkedid)
        self.hub.publish(
            "notice",
            {
                "kind": "callback",
                "state": state,
                "callback": cb.id,
                "number": cb.number,
                "queue": cb.queue,
                "linkedid": cb.call_linkedid,
                "original": cb.linkedid,
                "caller_number": cb.caller_number,
                "customer_no": cb.customer_no,
                "joined_at": cb.joined_at,
                "requested_at": cb.requested_at,
                "attempts": cb.attempts,
                "agent": cb.agent_id,
                "ivr_path": call.ivr_path if call else None,
            },
            Audience.agents({cb.agent_id}),
        )

    def _publish_lines(self) -> None:
        self.hub.publish(
            "notice", {"kind": "callbacks", **self.per_queue()}, SUPERVISORS
        )

    def close(self) -> None:
        if self._evaluation is not None:
            self._evaluation.cancel()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()


def _float(text: str | None, default: float) -> float:
    try:
        return float(text) if text else default
    except ValueError:
        return default


__all__ = ["Callbacks"]
