"""Monitoring and intercepting live calls, and what Asterisk's events say of them.

- monitor: ``Originate`` of the supervisor's phone into ``cti-spy,<agent's extension>``
  (``ChanSpy(PJSIP/<ext>,qdES<w|B>)``, ChannelId ``cti-spy-…``): the phone rings first, then
  ``ChanSpyStart`` says the session is live (trace 09).
- switch mode: ``PlayDTMF`` ``Receive=true`` of 4 / 5 / 6 on the supervisor's channel: ChanSpy's
  ``d`` option reads it as listen / whisper / barge, so the phone does not ring again; the
  ``DTMFEnd`` received on that channel confirms it.
- stop: ``Hangup`` of the supervisor's channel. The server does the same when the call ends,
  is moved away from the agent, goes on hold, into a consult or a conference: ChanSpy notices
  a hangup only when a frame arrives (trace 09), so it is never left to notice by itself.
- intercept: ``QueuePause`` of the agent with the reason ``intercepted``, ``Setvar
  CTI_IVR_DONE=yes`` on the customer, then ``Bridge`` of the customer with the supervisor's live
  channel (monitoring first when it is not). What Asterisk 22 does then (trace 18): the customer
  is moved into the new bridge, its Queue() still running; the queue's bridge dissolves and
  Asterisk hangs the agent's leg up itself; the supervisor's channel is yanked out of ChanSpy
  (no ChanSpyStop), keeps its name and Uniqueid and takes the call's Linkedid. When the supervisor
  hangs up, the customer goes on at its after-bridge goto, the step after its Queue: for a caller
  queued by the IVR that is ``[ivr]``'s check of CTI_IVR_DONE, which without the Setvar sends it to
  the failsafe queue (queued again, or voicemail); with it the dialplan hangs up. When the
  customer hangs up, the supervisor's channel ends at its own after-bridge goto (Hangup()).

Every step is on the call's work order (``monitor_*``, ``intercept*``): the audit log a
supervisor lists is read from there.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog

from ctiserver.agents.book import Account, AgentBook
from ctiserver.ami import actions
from ctiserver.ami import events as ev
from ctiserver.ami.gateway import AmiGateway
from ctiserver.calls import model as cm
from ctiserver.calls.tracker import CallTracker
from ctiserver.errors import Conflict, Forbidden, InvalidInput, Unavailable
from ctiserver.push.hub import SUPERVISORS, Audience, Publisher
from ctiserver.supervision.model import (
    CHANSPY_FLAG,
    MODE_OF_DIGIT,
    MODES,
    SPY_PREFIX,
    SWITCH_DIGIT,
    Session,
)

log = structlog.get_logger(__name__)

SPY_CONTEXT = "cti-spy"
INTERCEPTED = "intercepted"  # the busy reason an intercepted agent is left with
EXTENSION = re.compile(r"[0-9]{2,20}")
LINKEDID = re.compile(r"[A-Za-z0-9._-]{1,150}")


class Supervision:
    def __init__(self, tracker: CallTracker, book: AgentBook, gateway: AmiGateway,
                 record: Callable[[cm.CallStep], None], hub: Publisher, *, show_agent_modes: tuple[str, ...],
                 ring_seconds: int, take_over: Callable[[cm.Call, str], None]) -> None:
        self.tracker = tracker
        self.book = book
        self.gateway = gateway
        self.record = record
        self.hub = hub
        self.show_agent_modes = frozenset(show_agent_modes)
        self.ring_seconds = ring_seconds
        self.take_over = take_over  # the call is the supervisor's from now on (tracker intent)
        self.sessions: dict[str, Session] = {}  # spy channel id -> session (live ones)
        self.by_supervisor: dict[str, str] = {}
        # agents paused for an intercept that did not happen while Asterisk was away: interface -> pause before
        self.pauses_to_restore: dict[str, tuple[bool, str]] = {}

    # -- what the routes call --------------------------------------------------------------

    def owns(self, e: object) -> bool:
        """Events of the supervisors' spy channels are this package's, not calls of their own."""
        linkedid = getattr(e, "linkedid", "")
        return isinstance(linkedid, str) and linkedid.startswith(SPY_PREFIX)

    def views(self) -> list[dict]:
        now = time.time()
        return [s.view(now) for s in self.sessions.values()]

    def snapshot(self, account: Account) -> dict:
        """The sessions (supervisors), and the banner the user's own panel shows now (a reconnect keeps it)."""
        shown = next((n for s in self.sessions.values() if s.agent == account.id
                      and (n := self._notice(s))["active"]), None)
        return {"monitoring": self.views() if account.is_supervisor else [], "monitored": shown}

    async def start(self, account: Account, linkedid: Any, mode: Any, *, intercepting: bool = False) -> dict:
        """Ring the supervisor's phone; once answered it hears the agent's call in ``mode``."""
        self._supervisor(account)
        if mode not in MODES:
            raise InvalidInput(f"mode must be one of {', '.join(MODES)}", field="mode")
        if account.id in self.by_supervisor:
            raise Conflict("you are monitoring a call already: stop it first", code="already_monitoring")
        call, interface, ext = self._monitorable(account, linkedid)
        self.gateway.ready()
        agent = self.book.by_interface.get(interface)
        session = Session(f"{SPY_PREFIX}{uuid.uuid4().hex[:16]}", account.id, account.name, account.interface,
                          call.linkedid, agent.id if agent else "", interface, mode, time.time(),
                          intercepting=intercepting)
        self.sessions[session.id] = session  # before the action: its events may come before the reply
        self.by_supervisor[account.id] = session.id
        self._step(session, "monitor_requested", {"mode": mode, "intercept": intercepting or None})
        try:
            await self.gateway.send(actions.originate(
                account.interface, SPY_CONTEXT, ext, channel_id=session.id, timeout_ms=self.ring_seconds * 1000,
                caller_id=f'"Monitor {session.agent or ext}" <{ext}>',
                variables=f"CTI_SPY_MODE={CHANSPY_FLAG[mode]}"))
        except BaseException as exc:
            self._forget(session)
            self._step(session, "monitor_failed", {"error": getattr(exc, "message", None) or repr(exc)})
            raise
        log.info("monitor_requested", linkedid=call.linkedid, agent=session.agent, supervisor=account.id, mode=mode)
        self._publish(session)
        return session.view(time.time())

    async def switch(self, account: Account, mode: Any) -> dict:
        """Change the mode of the live session: the digit ChanSpy's ``d`` option reads, as if keyed."""
        self._supervisor(account)
        if mode not in MODES:
            raise InvalidInput(f"mode must be one of {', '.join(MODES)}", field="mode")
        session = self._own(account)
        if session.state != "active" or not session.channel:
            raise Conflict("the monitoring has not started yet: answer your phone first", code="not_active")
        if mode != session.mode:
            session.switching_to = mode
            try:
                await self.gateway.send({"Action": "PlayDTMF", "Channel": session.channel,
                                         "Digit": SWITCH_DIGIT[mode], "Receive": "true"})
            except BaseException:
                session.switching_to = ""
                raise
            self._publish(session)
        return session.view(time.time())

    async def stop(self, account: Account) -> dict:
        """End the caller's own session: its channel is hung up (ringing or live)."""
        self._supervisor(account)
        session = self._own(account)
        session.end_reason = session.end_reason or "stopped"
        if session.channel:
            await self.gateway.send(actions.hangup(session.channel))
        return session.view(time.time())

    async def intercept(self, account: Account, linkedid: Any) -> dict:
        """Take the caller over: from a live session at once, else monitoring starts first (the phone rings)."""
        self._supervisor(account)
        sid = self.by_supervisor.get(account.id)
        if sid is None:
            return await self.start(account, linkedid, "listen", intercepting=True)
        session = self.sessions[sid]
        if session.linkedid != linkedid:
            raise Conflict("you are monitoring another call: stop it first", code="already_monitoring")
        session.intercepting = True
        if session.state == "active":
            await self._bridge(session)
        return session.view(time.time())

    # -- Asterisk's side ---------------------------------------------------------------------

    def on_ami_event(self, e: object) -> None:
        match e:
            case ev.ChannelCreated(uniqueid=uid, channel=channel) if uid in self.sessions:
                self.sessions[uid].channel = channel
            case ev.SpyStarted(spyer_uniqueid=uid, at=at) if uid in self.sessions:
                self._started(self.sessions[uid], at)
            case ev.DtmfReceived(uniqueid=uid, digit=digit) if uid in self.sessions and digit in MODE_OF_DIGIT:
                self._switched(self.sessions[uid], MODE_OF_DIGIT[digit])
            case ev.ChannelHungUp(uniqueid=uid) if uid in self.sessions:
                self._ended(self.sessions[uid], time.time())
            case ev.OriginateResult(ok=False, uniqueid=uid, channel=channel):
                # the supervisor's phone did not answer, or could not ring at all (not registered:
                # then no channel was made and only this says so)
                session = self.sessions.get(uid) or next(
                    (s for s in self.sessions.values() if s.state == "ringing" and not s.channel
                     and s.interface == channel), None)
                if session is not None and session.state == "ringing" and not session.channel:
                    self._ended(session, time.time())

    def on_call_event(self, ce: object) -> None:
        call = getattr(ce, "call", None)
        if call is None:
            return
        for session in [s for s in self.sessions.values() if s.linkedid == call.linkedid]:
            if session.state == "intercepted":
                self._after_intercept(session, call, ce)
                continue
            reason = self._why_over(session, call, ce)
            if reason:
                self._end_by_server(session, reason)

    def _after_intercept(self, session: Session, call: cm.Call, ce: object) -> None:
        if isinstance(ce, cm.AgentLegEnded) and ce.interface == session.agent_interface:
            self.take_over(call, session.interface)  # the rest of the call is the supervisor's
        elif isinstance(ce, cm.CallEnded) and session.channel:
            # (its after-bridge goto, Hangup(), has usually ended it already)
            self._hang_up(session.channel, call.linkedid, None)

    # -- internals ---------------------------------------------------------------------------

    @staticmethod
    def _supervisor(account: Account) -> None:
        if not account.is_supervisor:
            raise Forbidden("only supervisors may monitor or intercept calls")

    def _own(self, account: Account) -> Session:
        sid = self.by_supervisor.get(account.id)
        if sid is None:
            raise Conflict("you are not monitoring a call", code="not_monitoring")
        return self.sessions[sid]

    def _monitorable(self, account: Account, linkedid: Any) -> tuple[cm.Call, str, str]:
        if not isinstance(linkedid, str) or not LINKEDID.fullmatch(linkedid):
            raise InvalidInput("linkedid is not a call id", field="linkedid")
        if not account.interface:
            raise Conflict("your account has no phone to monitor with", code="no_phone")
        call = self.tracker.calls.get(linkedid)
        if call is None:
            raise Conflict(f"no live call {linkedid}", code="no_call")
        interface, leg = self.tracker.agent_leg(call)
        if not leg or call.answered_at is None:
            raise Conflict("the call has no agent on it yet", code="not_answered")
        if call.held:
            raise Conflict("the call is on hold", code="held")
        if call.consulting:
            raise Conflict("the agent is consulting: the customer is on hold", code="consult_active")
        if call.conferencing:
            raise Conflict("the call is a conference", code="conference")
        if interface == account.interface:
            raise InvalidInput("this is your own call", field="linkedid")
        ext = interface.partition("/")[2]
        if not EXTENSION.fullmatch(ext):
            raise Conflict(f"the agent's phone {interface} cannot be monitored", code="not_monitorable")
        return call, interface, ext

    def _why_over(self, session: Session, call: cm.Call, ce: object) -> str:
        if isinstance(ce, cm.CallEnded):
            return "call_ended"
        if isinstance(ce, cm.AgentLegEnded) and ce.interface == session.agent_interface:
            # the call's last leg, or one whose party hung up, ends the call; else it went on without the agent
            return "transferred" if call.legs and not call.hangup_by else "call_ended"
        if call.agent_interface != session.agent_interface:
            return "transferred"
        if call.held:
            return "held"
        if call.consulting:
            return "consult"
        if call.conferencing:
            return "conference"
        return ""

    def _end_by_server(self, session: Session, reason: str) -> None:
        session.end_reason = session.end_reason or reason
        if session.channel and not session.hung_up:
            session.hung_up = True  # once: the call's end comes as the agent's leg and then the call
            self._hang_up(session.channel, session.linkedid)

    def _hang_up(self, channel: str, linkedid: str, cause: int | None = 16) -> None:
        """Hang ``channel`` up in the background; gone already (Asterisk was first) is fine."""
        async def hang_up() -> None:
            try:
                await self.gateway.send(actions.hangup(channel, cause), tolerate="No such channel")
            except (Conflict, InvalidInput, Unavailable) as exc:
                log.warning("ami_followup_failed", action="Hangup", error=exc.message, linkedid=linkedid)
        self.gateway.run(hang_up())

    def _started(self, session: Session, at: float) -> None:
        session.state, session.started_at = "active", at
        self._step(session, "monitor_started", {"mode": session.mode})
        log.info("monitor_started", linkedid=session.linkedid, agent=session.agent, supervisor=session.supervisor,
                 mode=session.mode)
        self._publish(session)
        self._tell_agent(session)
        if session.intercepting:
            self.gateway.run(self._bridge_quietly(session))

    def _switched(self, session: Session, mode: str) -> None:
        before, session.mode, session.switching_to = session.mode, mode, ""
        if before == mode:
            return
        self._step(session, "monitor_mode", {"from": before, "to": mode})
        log.info("monitor_mode", linkedid=session.linkedid, agent=session.agent, supervisor=session.supervisor,
                 mode=mode, previous=before)
        self._publish(session)
        self._tell_agent(session)

    def _ended(self, session: Session, at: float) -> None:
        intercepted = session.state == "intercepted"
        call = self.tracker.calls.get(session.linkedid)
        if intercepted and call is not None:  # the supervisor hung up: the customer's call is over too
            customer = self.tracker.legs.get(self.tracker.customer_leg(call))
            if customer is not None:  # (the IVR's dialplan ends it already: CTI_IVR_DONE, see _bridge)
                self._hang_up(customer.channel, call.linkedid, None)
        reason = session.end_reason or ("hung_up" if session.state == "active" else "no_answer")
        session.ended_at, session.end_reason = at, reason
        self._forget(session)
        if not intercepted:
            seconds = round(at - session.started_at, 1) if session.started_at is not None else 0.0
            self._step(session, "monitor_ended", {"mode": session.mode, "why": reason, "seconds": seconds})
            log.info("monitor_ended", linkedid=session.linkedid, agent=session.agent, supervisor=session.supervisor,
                     why=reason, seconds=seconds)
        session.state = "ended"
        self._publish(session)
        self._tell_agent(session)

    async def _bridge(self, session: Session) -> None:
        """Intercept: the agent is left busy, the customer is bridged with the supervisor's channel."""
        call = self.tracker.calls.get(session.linkedid)
        customer = self.tracker.legs.get(self.tracker.customer_leg(call)) if call is not None else None
        if call is None or customer is None:
            raise Conflict("the call is over", code="no_call")
        _, agent_leg = self.tracker.agent_leg(call)
        agent = self.tracker.legs.get(agent_leg)
        self._step(session, "intercept", {"from": session.agent})
        before = self.book.status_of(session.agent_interface)
        reasons = [m.reason for m in before.memberships if m.paused and m.reason]
        session.pause_before = (before.paused, reasons[-1] if reasons else "")
        # paused first: the agent stays busy ('intercepted') through the wrap-up that follows
        await self.gateway.send(actions.queue_pause(session.agent_interface, True, INTERCEPTED))
        session.previous_move = self.tracker.intend_move(call, "intercept")
        session.state = "intercepted"
        sent = False
        try:
            # when the supervisor hangs up, the customer's after-bridge goto is the step after its
            # Queue(): for the IVR's EXEC Queue that is [ivr]'s CTI_IVR_DONE check, which hangs up
            # rather than queue the caller again (trace 18 B and D)
            await self.gateway.send(actions.setvar(customer.channel, "CTI_IVR_DONE", "yes"))
            sent = True
            await self.gateway.send(actions.bridge(customer.channel, session.channel))
        except Unavailable:
            if not sent:  # the Bridge never went out: the caller is with the agent
                self._not_intercepted(session, call, "Asterisk went away before the intercept")
                raise
            # the Bridge went out and the link went before the answer: Asterisk may have done it.
            # Whether the caller is with the supervisor or the agent is read after the resync
            # (reconcile); meanwhile nothing is hung up on either side.
            session.unsure = True
            log.warning("intercept_unsure", linkedid=session.linkedid, agent=session.agent,
                        supervisor=session.supervisor)
            self._publish(session)
            raise
        except BaseException as exc:
            self._not_intercepted(session, call, getattr(exc, "message", None) or repr(exc))
            raise
        if agent is not None:  # Asterisk hangs it up as the queue's bridge dissolves (trace 18); in case not
            self._hang_up(agent.channel, call.linkedid, None)
        log.info("intercepted", linkedid=session.linkedid, agent=session.agent, supervisor=session.supervisor)
        self._publish(session)

    def _not_intercepted(self, session: Session, call: cm.Call | None, error: str, **data: Any) -> None:
        """The intercept did not happen: the caller is with the agent, who is not left busy for it."""
        if call is not None:
            self.tracker.drop_move(call, session.previous_move)
        session.state, session.intercepting, session.unsure = "active", False, False
        session.error = error
        self._step(session, "intercept_failed", {"error": error, **data})
        self._restore_pause(session.agent_interface, session.pause_before)

    def _restore_pause(self, interface: str, pause: tuple[bool, str]) -> None:
        """Give the agent their pause back; if Asterisk is away, again after the resync (reconcile)."""
        self.pauses_to_restore[interface] = pause

        async def restore() -> None:
            done = await self.gateway.send_quietly(actions.queue_pause(interface, *pause), interface=interface)
            if done and self.pauses_to_restore.get(interface) == pause:
                del self.pauses_to_restore[interface]
        if self.gateway.connected:
            self.gateway.run(restore())

    async def reconcile(self) -> None:
        """After a resync: what happened to each session while the AMI link was away, from Asterisk's channels.

        A spy channel that is gone ended its session (for an intercepted call the supervisor hung
        up); a ringing one now live in ChanSpy started; an intercept whose answer was lost is done
        if the spy channel shares the customer's bridge, else undone (the caller is with the agent).
        """
        for interface, pause in list(self.pauses_to_restore.items()):
            self._restore_pause(interface, pause)
        if not self.sessions:
            return
        try:
            reply = await self.gateway.send({"Action": "CoreShowChannels"})
        except (Conflict, Unavailable) as exc:  # the link went again: the next resync tries again
            log.warning("supervision_reconcile_failed", error=exc.message)
            return
        channels = {e.uniqueid: e for m in getattr(reply, "events", []) if m.name == "CoreShowChannel"
                    and isinstance(e := ev.translate(m), ev.ChannelSnapshot)}
        now = time.time()
        for session in list(self.sessions.values()):
            ch = channels.get(session.id)
            call = self.tracker.calls.get(session.linkedid)
            if session.unsure:
                customer = self.tracker.legs.get(self.tracker.customer_leg(call)) if call is not None else None
                theirs = channels.get(customer.uniqueid) if customer is not None else None
                if ch is not None and ch.bridge_id and theirs is not None and theirs.bridge_id == ch.bridge_id:
                    session.unsure, session.channel = False, ch.channel
                    self._step(session, "intercept_confirmed", {"caller_with": "supervisor"})
                    for uid in list(call.legs) if call is not None else []:  # the agent's leg, if Asterisk left it
                        leg = self.tracker.legs.get(uid)
                        if leg is not None and leg.endpoint == session.agent_interface and uid in channels:
                            self._hang_up(leg.channel, session.linkedid, None)
                    log.info("intercepted", linkedid=session.linkedid, agent=session.agent,
                             supervisor=session.supervisor, after_resync=True)
                    self._publish(session)
                    continue
                self._not_intercepted(session, call, "the link to Asterisk went away before the intercept",
                                      caller_with="agent" if theirs is not None else "nobody")
                self._publish(session)
                if ch is None:
                    self._ended(session, now)
                continue
            if ch is None and not session.channel and session.state == "ringing":
                continue  # its Originate may be on its way now (asked for just after the link came back)
            if ch is None:
                self._ended(session, now)
            elif session.state == "ringing" and ch.state == 6 and ch.application == "ChanSpy":
                session.channel = ch.channel
                self._started(session, now)

    async def _bridge_quietly(self, session: Session) -> None:
        try:
            await self._bridge(session)
        except Exception as exc:  # noqa: BLE001 - the monitoring goes on; the supervisor sees the failure
            log.warning("intercept_failed", linkedid=session.linkedid, error=getattr(exc, "message", repr(exc)))
            self._publish(session)

    def _forget(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        if self.by_supervisor.get(session.supervisor) == session.id:
            del self.by_supervisor[session.supervisor]

    def _step(self, session: Session, kind: str, data: dict) -> None:
        self.record(cm.CallStep(session.linkedid, kind, {"supervisor": session.supervisor, "agent": session.agent,
                                                         **{k: v for k, v in data.items() if v is not None}},
                                time.time()))

    def _publish(self, session: Session) -> None:
        view = session.view(time.time())
        self.hub.publish("supervision", view, SUPERVISORS)

    def _tell_agent(self, session: Session) -> None:
        """The monitored agent's panel shows the modes the configuration says (default whisper and barge)."""
        if not session.agent:
            return
        self.hub.publish("notice", self._notice(session), Audience.agents({session.agent}))

    def _notice(self, session: Session) -> dict:
        """What the monitored agent's panel is told of ``session`` (the ``notice`` push, the snapshot's ``monitored``)."""
        shown = session.state == "active" and session.mode in self.show_agent_modes
        return {"kind": "monitoring", "active": shown, "mode": session.mode if shown else None,
                "by": session.supervisor_name if shown else None, "linkedid": session.linkedid}
