"""Call control from the panel: hold, retrieve, transfers, back to the IVR, dial out, hang up.

Each command checks who asks and the call's state, validates its input, then sends ONE
AMI action (two when a held agent leg must go too). Nothing here changes the call's
state: Asterisk's events do, through the tracker, as for every other call fact (a hold
is seen when the customer enters the ``hold`` context, a retrieve when it is bridged
again). Which action each button uses, and why: README "Call control".

- hold: ``Redirect`` of the customer to ``hold,s,1`` with ``ExtraChannel`` = the agent's
  leg to ``agent-wait,s,1``. Redirecting the customer alone hangs the agent's leg up
  (trace 07 B); with ExtraChannel both survive (07 A).
- retrieve: ``Bridge`` of the two channels (07 A). After it, hanging up one hangs up both.
- transfer (agent / queue / external): ``Redirect`` of the customer to ``cti-transfer`` /
  ``cti-queue`` / ``cti-outbound``. Asterisk hangs the agent's leg up at once (07 B, 08 C).
  Chosen over ``BlindTransfer`` because it works whether the customer is bridged or held
  (BlindTransfer needs the agent's leg in a bridge, and emits a stray Unhold), and one
  mechanism serves the three kinds with dialplan the server owns (an unanswered agent
  falls back to the queue).
- ivr: ``Redirect`` of the customer to ``cti-ivr,<node>,1`` (the FastAGI IVR starts at
  that node; same linkedid, so what happens there lands on the same work order).
- dial: ``Originate`` of the agent's phone into ``cti-outbound,<number>`` (trace 11: the
  agent's phone rings first, OriginateResponse when it answers, then the number).
- consult: ``Atxfer`` of the agent's leg to ``agents,<ext>`` (a colleague) or ``cti-outbound,<number>``
  (trace 08 B: Asterisk holds the customer and dials the target through a Local pair);
  complete: ``Hangup`` of the consulting agent's leg (Asterisk merges customer and target);
  cancel: ``Hangup`` of the Local half in the consult bridge (Asterisk puts the agent back
  with the customer, as when the target hangs up or does not answer).
- hangup: ``Hangup`` of the agent's leg (the queue then hangs the customer up, and the
  work order truthfully says the agent ended it, AgentComplete Reason=agent as in trace 16);
  of the customer's leg while held (the agent's leg sits alone in agent-wait then).

A held call whose customer hangs up gets its agent leg hung up; one whose agent leg goes
gets its customer put back into the queue: nobody is left on music with no agent.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import structlog

from ctiserver.agents.model import AgentState
from ctiserver.calls import model as cm
from ctiserver.calls.tracker import UP
from ctiserver.errors import Conflict, Forbidden, InvalidInput, Unavailable
from ctiserver.workorders.projection import control_op, ref_for

log = structlog.get_logger(__name__)

TRANSFER_KINDS = ("agent", "queue", "external")
# Agent states in which a queue would still route a call to the member (not paused, signed in)
TAKING_STATES = frozenset({AgentState.READY.value, AgentState.RINGING.value, AgentState.ON_CALL.value,
                           AgentState.ON_HOLD.value})
CONSULT_KINDS = ("agent", "external")
NUMBER = re.compile(r"[0-9+*#]{1,32}")
AGENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
NODE = re.compile(r"[a-z][a-z0-9_]{1,39}")
EXTENSION = re.compile(r"[0-9]{2,20}")
TRANSFER_CONTEXT = "cti-transfer"
CONSULT_AGENT_CONTEXT = "agents"  # Dial(PJSIP/<ext>,20) then Hangup: an unanswered consult comes back
CONSULT_OUTSIDE_CONTEXT = "cti-consult-out"  # _[0-9*]. -> cti-outbound: keeps collecting the digits Atxfer keys in
CONSULT_NUMBER = re.compile(r"[0-9*]{2,32}")
QUEUE_CONTEXT = "cti-queue"
OUTBOUND_CONTEXT = "cti-outbound"
IVR_CONTEXT = "cti-ivr"
DIAL_TIMEOUT_MS = 30000


def check_number(value: Any, field: str) -> str:
    """An outside number: digits, + * #, 1 to 32 characters (anything else: 400 naming the field)."""
    if not isinstance(value, str) or not NUMBER.fullmatch(value):
        raise InvalidInput(f"{field} must be 1 to 32 of the characters 0-9 + * #", field=field)
    return value


class CallControl:
    """The call-control commands of the API; the core owns the state it reads."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self._busy: set[str] = set()  # linkedids with a command under way
        self.ivr_nodes: frozenset[str] = frozenset()
        self._ending: set[str] = set()  # rooms the server is emptying (ConfbridgeKick all sent)

    # -- checks ----------------------------------------------------------------

    @property
    def tracker(self) -> Any:
        return self.core.tracker

    def _call_for(self, account: Any, linkedid: str) -> cm.Call:
        if not isinstance(linkedid, str) or not re.fullmatch(r"[A-Za-z0-9._-]{1,150}", linkedid):
            raise InvalidInput("linkedid is not a call id", field="linkedid")
        call = self.tracker.calls.get(linkedid)
        if call is None:
            raise Conflict(f"no live call {linkedid}", code="no_call")
        if not account.is_supervisor and account.interface not in (call.agent_interface,
                                                                     *call.outside.values()):
            raise Forbidden("only the agent on the call or a supervisor may control it")
        return call

    def _channel(self, uniqueid: str) -> str:
        leg = self.tracker.legs.get(uniqueid)
        return leg.channel if leg else ""

    def _connected_legs(self, call: cm.Call, what: str) -> tuple[str, str]:
        """(customer channel, agent channel) of an answered call (inbound, or the agent's outbound), or 409."""
        customer = self._channel(self.tracker.customer_leg(call))
        agent = self._channel(self.tracker.agent_leg(call)[1])
        if not customer or not agent or call.answered_at is None:
            raise Conflict(f"no answered customer call to {what}", code="no_call")
        return customer, agent

    @staticmethod
    def _not_in_conference(call: cm.Call, what: str) -> None:
        """A conference call is everyone's: moving or holding it would take the others along (409)."""
        if call.conference or call.conference_pending:
            raise Conflict(f"cannot {what} a conference call: remove the others or hang up", code="conference")

    def _ready(self) -> Any:
        ami = self.core.ami
        if ami is None or not ami.connected:
            raise Unavailable("Asterisk is not reachable; nothing was changed", code="ami_down")
        return ami

    async def _send(self, action: dict) -> Any:
        from ctiserver.ami.errors import AmiActionFailed, AmiError, AmiInjectionError

        ami = self._ready()
        try:
            return await ami.send(action)
        except AmiActionFailed as exc:
            raise Conflict(f"Asterisk refused {action['Action']}: {exc.message}", code="asterisk_refused") from exc
        except AmiInjectionError as exc:
            raise InvalidInput(str(exc)) from exc
        except AmiError as exc:
            raise Unavailable(f"Asterisk did not confirm {action['Action']}: {exc}", code="ami_down") from exc

    def _guard(self, linkedid: str) -> None:
        if linkedid in self._busy:
            raise Conflict("another command on this call is under way", code="busy")
        self._busy.add(linkedid)

    def _agent_of(self, interface: str) -> str:
        account = self.core.book.by_interface.get(interface)
        return account.id if account else ""

    def _record(self, call_or_id: cm.Call | str, kind: str, data: dict, fields: dict | None = None) -> None:
        linkedid = call_or_id if isinstance(call_or_id, str) else call_or_id.linkedid
        self.core.store.submit(control_op(linkedid, kind, data, fields=fields))

    # -- hold / retrieve ----------------------------------------------------------

    async def hold(self, account: Any, linkedid: str) -> dict:
        call = self._call_for(account, linkedid)
        if call.held:
            raise Conflict("the call is already on hold", code="already_held")
        self._not_in_conference(call, "hold")
        if call.consulting:
            raise Conflict("the customer already waits while you consult", code="consult_active")
        customer, agent = self._connected_legs(call, "hold")
        self._guard(linkedid)
        try:
            await self._send({"Action": "Redirect", "Channel": customer, "Context": cm.HOLD_CONTEXT, "Exten": "s",
                              "Priority": 1, "ExtraChannel": agent, "ExtraContext": cm.AGENT_WAIT_CONTEXT,
                              "ExtraExten": "s", "ExtraPriority": 1})
        finally:
            self._busy.discard(linkedid)
        log.info("call_hold_requested", linkedid=linkedid, agent=self._agent_of(self.tracker.agent_leg(call)[0]),
                 queue=call.queue or None, by=account.id)
        return {"linkedid": linkedid, "requested": "hold"}

    async def retrieve(self, account: Any, linkedid: str) -> dict:
        call = self._call_for(account, linkedid)
        if not call.held:
            raise Conflict("the call is not on hold", code="not_held")
        if call.hold_by_phone:
            raise Conflict("the phone holds this call: take it back on the phone", code="held_by_phone")
        customer, agent = self._connected_legs(call, "retrieve")
        self._guard(linkedid)
        try:
            await self._send({"Action": "Bridge", "Channel1": customer, "Channel2": agent, "Tone": "no"})
        finally:
            self._busy.discard(linkedid)
        log.info("call_retrieve_requested", linkedid=linkedid, by=account.id)
        return {"linkedid": linkedid, "requested": "retrieve"}

    # -- moves: transfer, IVR -------------------------------------------------------

    def _transfer_target(self, call: cm.Call, kind: Any, target: Any) -> tuple[str, str, dict]:
        """(context, extension, work-order data) of a transfer, after every check."""
        if kind not in TRANSFER_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(TRANSFER_KINDS)}", field="kind")
        if not isinstance(target, str) or not target:
            raise InvalidInput("target is required", field="target")
        if kind == "external":
            return OUTBOUND_CONTEXT, check_number(target, "target"), {"number": target}
        if kind == "queue":
            queues = self.core.config.callcenter.queues
            if target not in queues:
                raise InvalidInput(f"unknown queue {target[:40]!r}; known: {', '.join(queues)}", field="target")
            # queues.conf joinempty=paused,unavailable,invalid: with nobody but paused or signed-out
            # members (the agent handing the call over is in wrap-up next), Asterisk turns the caller away
            takers = [v for v in self.core.book.views() if target in v.get("queues", ())
                      and v.get("state") in TAKING_STATES and v.get("interface") != call.agent_interface]
            if not takers:
                raise Conflict(f"nobody in queue {target} can take the call now", code="queue_empty")
            return QUEUE_CONTEXT, target, {"queue": target}
        if not AGENT_ID.fullmatch(target):
            raise InvalidInput("target is not an agent id", field="target")
        other = self.core.book.by_id.get(target)
        if other is None or not other.interface:
            raise InvalidInput(f"no agent {target}", field="target")
        if other.interface == call.agent_interface:
            raise InvalidInput("the call cannot be transferred to the agent who has it", field="target")
        view = self.core.book.view(other.id) or {}
        if view.get("state") != AgentState.READY.value:
            reason = f" ({view['reason']})" if view.get("reason") else ""
            raise Conflict(f"agent {other.id} is not ready: {view.get('state', 'unknown')}{reason}",
                           code="agent_not_ready")
        extension = other.interface.partition("/")[2]
        if not EXTENSION.fullmatch(extension):
            raise Conflict(f"agent {other.id}'s phone {other.interface} cannot be dialled", code="not_dialable")
        return TRANSFER_CONTEXT, extension, {"agent": other.id}

    async def _move(self, account: Any, call: cm.Call, context: str, exten: str, kind: str, data: dict,
                    before: Any = None) -> None:
        """Redirect the customer elsewhere; the agent's leg goes (a held one is hung up too).

        The step is written on the work order before the Redirect, so it comes before what
        Asterisk reports of it (the next agent ringing...); a refusal is written after it.
        """
        self._not_in_conference(call, "transfer" if kind == "transfer" else "send to the IVR")
        if call.consulting:
            raise Conflict("finish the consult first", code="consult_active")
        customer, agent = self._connected_legs(call, kind)
        self._guard(call.linkedid)
        was_held = call.held
        frm = self._agent_of(self.tracker.agent_leg(call)[0])
        moving, call.moving = call.moving, kind
        try:
            if before is not None:
                before()
            self._record(call, kind, {**data, "from": frm, "by": account.id})
            if context == TRANSFER_CONTEXT and call.queue:  # unanswered: back to the call's own queue
                await self._send({"Action": "Setvar", "Channel": customer, "Variable": "CTI_FALLBACK_QUEUE",
                                  "Value": call.queue})
            await self._send({"Action": "Redirect", "Channel": customer, "Context": context, "Exten": exten,
                              "Priority": 1})
        except BaseException as exc:
            call.moving = moving
            self._record(call, f"{kind}_failed", {"error": getattr(exc, "message", None) or repr(exc)})
            raise
        finally:
            self._busy.discard(call.linkedid)
        if was_held:  # the agent's leg sits alone in agent-wait: end it
            await self._quiet({"Action": "Hangup", "Channel": agent}, call.linkedid)
        log.info("call_moved", linkedid=call.linkedid, kind=kind, to=f"{context},{exten}", agent=frm,
                 queue=call.queue or None, by=account.id)

    async def transfer(self, account: Any, linkedid: str, kind: Any, target: Any) -> dict:
        call = self._call_for(account, linkedid)
        context, exten, data = self._transfer_target(call, kind, target)
        await self._move(account, call, context, exten, "transfer", {"kind": kind, **data})
        return {"linkedid": linkedid, "requested": "transfer", "kind": kind, "target": target}

    async def to_ivr(self, account: Any, linkedid: str, node: Any) -> dict:
        call = self._call_for(account, linkedid)
        if not isinstance(node, str) or not NODE.fullmatch(node) or (self.ivr_nodes and node not in self.ivr_nodes):
            known = f"; known: {', '.join(sorted(self.ivr_nodes))}" if self.ivr_nodes else ""
            raise InvalidInput(f"node is not an IVR node{known}", field="node")
        old_base = call.ivr_base

        def remember() -> None:  # what the IVR reports next adds to what the call already has
            call.ivr_base = (list(call.ivr_path), call.ivr_keys_text)

        try:
            await self._move(account, call, IVR_CONTEXT, node, "ivr", {"node": node}, before=remember)
        except BaseException:
            call.ivr_base = old_base
            raise
        return {"linkedid": linkedid, "requested": "ivr", "node": node}

    # -- consult (attended transfer) ----------------------------------------------------

    async def consult(self, account: Any, linkedid: str, kind: Any, target: Any) -> dict:
        """``Atxfer`` of the agent's leg to the colleague (``agents,<ext>``) or the number (``cti-outbound``).

        The customer waits on music while the agent talks to the target (trace 08 B); the
        consult's legs and how it ends are followed by the tracker (``call.consult``).
        """
        call = self._call_for(account, linkedid)
        if kind not in CONSULT_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(CONSULT_KINDS)}", field="kind")
        if call.consulting:
            raise Conflict("a consult is already under way on this call", code="consult_active")
        self._not_in_conference(call, "consult on")
        if call.held:
            raise Conflict("take the call back from hold first", code="held")
        if kind == "agent":
            _, exten, data = self._transfer_target(call, "agent", target)
            context = CONSULT_AGENT_CONTEXT
        else:
            if not isinstance(target, str) or not CONSULT_NUMBER.fullmatch(target):
                raise InvalidInput("target must be 2 to 32 of the characters 0-9 *: Asterisk keys an outside "
                                   "number to consult in as DTMF", field="target")
            exten = target + "#"  # '#' ends Asterisk's digit collection at once (ast_app_dtget)
            context, data = CONSULT_OUTSIDE_CONTEXT, {"number": target}
        _, agent = self._connected_legs(call, "consult")
        interface, agent_leg = self.tracker.agent_leg(call)
        self._guard(linkedid)
        frm = self._agent_of(interface)
        # set before the action: the legs Asterisk creates for it are the consult's
        call.consult = cm.Consult(kind, target, interface, agent_leg, account.id, time.time())
        try:
            self._record(call, "consult_started", {"kind": kind, **data, "from": frm, "by": account.id})
            await self._send({"Action": "Atxfer", "Channel": agent, "Context": context, "Exten": exten})
        except BaseException as exc:
            call.consult = None
            self._record(call, "consult_failed", {"error": getattr(exc, "message", None) or repr(exc)})
            raise
        finally:
            self._busy.discard(linkedid)
        self.core.publish_call(call)
        log.info("call_consult_requested", linkedid=linkedid, kind=kind, agent=frm, queue=call.queue or None,
                 by=account.id)
        return {"linkedid": linkedid, "requested": "consult", "kind": kind, "target": target}

    def _consult_of(self, account: Any, linkedid: str) -> tuple[cm.Call, cm.Consult]:
        call = self._call_for(account, linkedid)
        if not call.consulting:
            raise Conflict("no consult under way on this call", code="no_consult")
        return call, call.consult  # type: ignore[return-value]

    async def consult_complete(self, account: Any, linkedid: str) -> dict:
        """The transfer completes: ``Hangup`` of the consulting agent's leg (trace 08 B)."""
        call, consult = self._consult_of(account, linkedid)
        if consult.answered_at is None:
            raise Conflict("the consult has not been answered yet: cancel it or wait", code="consult_not_answered")
        channel = self._channel(consult.from_leg)
        if not channel:
            raise Conflict("the consulting agent's leg is gone", code="no_call")
        self._guard(linkedid)
        try:
            await self._send({"Action": "Hangup", "Channel": channel, "Cause": 16})
        finally:
            self._busy.discard(linkedid)
        log.info("call_consult_complete_requested", linkedid=linkedid, by=account.id)
        return {"linkedid": linkedid, "requested": "consult_complete"}

    async def consult_cancel(self, account: Any, linkedid: str) -> dict:
        """Back to the customer: ``Hangup`` of the consult leg (Asterisk then reconnects agent and customer)."""
        call, consult = self._consult_of(account, linkedid)
        up = [u for u in sorted(consult.legs) if u in call.legs and self._channel(u)]
        # the Local half in the consult bridge is the transfer target Asterisk sees; else every leg of it
        first = [u for u in up if self._channel(u).startswith("Local/") and self._channel(u).endswith(";1")] or up
        if not first:
            raise Conflict("the consult has no leg left to end", code="no_consult")
        self._guard(linkedid)
        consult.cancel_requested = True
        try:
            for uid in first:
                await self._send({"Action": "Hangup", "Channel": self._channel(uid), "Cause": 16})
        except BaseException:
            consult.cancel_requested = False
            raise
        finally:
            self._busy.discard(linkedid)
        log.info("call_consult_cancel_requested", linkedid=linkedid, by=account.id)
        return {"linkedid": linkedid, "requested": "consult_cancel"}

    async def consult_conference(self, account: Any, linkedid: str) -> dict:
        """Everyone in a conference: ``Redirect`` of the consulted party into the call's ConfBridge room.

        Asterisk then ends the consult's Local pair and puts the agent back with the customer (an
        Atxfer whose target leaves, as a cancel); once the two are bridged again the tracker says
        so (``ConferenceReady``) and both follow with the dual ``Redirect`` of ``conference/add``.
        """
        call, consult = self._consult_of(account, linkedid)
        if consult.answered_at is None:
            raise Conflict("the consult has not been answered yet: cancel it or wait", code="consult_not_answered")
        party = consult.target_leg or next(
            (u for u in sorted(consult.legs) if u in call.legs and (leg := self.tracker.legs.get(u)) is not None
             and leg.state == UP and not leg.channel.startswith("Local/")), "")
        channel = self._channel(party)
        if not channel:
            raise Conflict("the consulted party is gone", code="no_consult")
        room = cm.room_name(linkedid)
        self._guard(linkedid)
        try:
            self._record(call, "conference_from_consult", {"room": room, "by": account.id})
            call.conference_pending = room
            self.tracker.rooms[room] = linkedid
            call.guests.add(party)
            await self._send({"Action": "Redirect", "Channel": channel, "Context": cm.CONFERENCE_CONTEXT,
                              "Exten": room, "Priority": 1})
        except BaseException as exc:
            call.conference_pending = ""
            call.guests.discard(party)
            self._record(call, "conference_failed", {"error": getattr(exc, "message", None) or repr(exc)})
            raise
        finally:
            self._busy.discard(linkedid)
        log.info("call_consult_conference_requested", linkedid=linkedid, room=room, by=account.id,
                 queue=call.queue or None)
        return {"linkedid": linkedid, "requested": "consult_conference", "room": room}

    def _conference_ready(self, ce: cm.ConferenceReady) -> None:
        """Consult -> conference, second step: customer and agent join the colleague in the room."""
        call = ce.call
        customer = self._channel(self.tracker.customer_leg(call))
        agent = self._channel(call.agent_leg) if call.agent_leg in call.legs else ""
        if not customer:  # the customer left before the move: nobody for the colleague to wait for
            self._record(call, "conference_failed", {"error": "the customer left before joining", "room": ce.room})
            self.core.spawn_quiet({"Action": "ConfbridgeKick", "Conference": ce.room, "Channel": "all"},
                                  call.linkedid)
            return
        call.conference = ce.room
        action = {"Action": "Redirect", "Channel": customer, "Context": cm.CONFERENCE_CONTEXT, "Exten": ce.room,
                  "Priority": 1}
        if agent:  # else the agent left meanwhile: the customer joins the colleague alone
            action.update(ExtraChannel=agent, ExtraContext=cm.CONFERENCE_CONTEXT, ExtraExten=ce.room, ExtraPriority=1)
        self.core.spawn_quiet(action, call.linkedid)
        self.core.publish_call(call, ce.at)

    # -- conference ---------------------------------------------------------------------

    async def conference_add(self, account: Any, linkedid: str, kind: Any, target: Any) -> dict:
        """Move customer and agent into a ConfBridge room (dual ``Redirect``, trace 10), then ``Originate``
        the added party there (a ready agent's phone, or ``Local/<number>@cti-outbound``)."""
        call = self._call_for(account, linkedid)
        if kind not in CONSULT_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(CONSULT_KINDS)}", field="kind")
        if call.consulting:
            raise Conflict("finish the consult first", code="consult_active")
        if call.held:
            raise Conflict("take the call back from hold first", code="held")
        if kind == "agent":
            _, exten, data = self._transfer_target(call, "agent", target)
            channel = f"PJSIP/{exten}"
        else:
            number = check_number(target, "target")
            channel, data = f"Local/{number}@{OUTBOUND_CONTEXT}", {"number": number}
        room = call.conference or cm.room_name(linkedid)
        if not call.conference:
            customer, agent = self._connected_legs(call, "conference")
        self._guard(linkedid)
        first = not call.conference
        try:
            self._record(call, "conference_add", {"kind": kind, **data, "room": room, "by": account.id})
            if first:
                # set before the action: Asterisk's events of the move may come before its answer
                call.conference = room
                self.tracker.rooms[room] = linkedid
                await self._send({"Action": "Redirect", "Channel": customer, "Context": cm.CONFERENCE_CONTEXT,
                                  "Exten": room, "Priority": 1, "ExtraChannel": agent,
                                  "ExtraContext": cm.CONFERENCE_CONTEXT, "ExtraExten": room, "ExtraPriority": 1})
            channel_id = f"cti-conf-{uuid.uuid4().hex[:16]}"
            originate = {"Action": "Originate", "Channel": channel, "Context": cm.CONFERENCE_CONTEXT, "Exten": room,
                         "Priority": 1, "Async": "true", "Timeout": DIAL_TIMEOUT_MS, "ChannelId": channel_id}
            self.tracker.join(channel_id, call)  # the added party is on this call's work order, not one of its own
            if NUMBER.fullmatch(call.caller_num or ""):  # the added party sees who the customer is
                originate["CallerID"] = f'"{call.caller_num}" <{call.caller_num}>'
            await self._send(originate)
        except BaseException as exc:
            if first and not any(leg.room == room for leg in self.tracker.legs.values()):
                call.conference = ""  # nobody got there: not a conference after all
                self.tracker.rooms.pop(room, None)
            self._record(call, "conference_failed", {"error": getattr(exc, "message", None) or repr(exc)})
            raise
        finally:
            self._busy.discard(linkedid)
        log.info("call_conference_add_requested", linkedid=linkedid, room=room, kind=kind, by=account.id,
                 queue=call.queue or None)
        return {"linkedid": linkedid, "requested": "conference_add", "room": room, "kind": kind, "target": target}

    def participants(self, room: str) -> list[dict]:
        """Who is in the room now, in join order of their legs: {participant, who, kind}."""
        main = self.tracker.calls.get(self.tracker.rooms.get(room, ""))
        out = []
        for leg in self.tracker.legs.values():
            if leg.room != room:
                continue
            agent = self._agent_of(leg.endpoint)
            if main is not None and leg.uniqueid == main.caller_leg:
                who, kind = main.caller_num, "customer"
            elif agent:
                who, kind = agent, "agent"
            else:
                who = leg.number or (leg.exten if leg.exten not in ("", "s") else leg.connected[0]) or leg.channel
                kind = "external"
            out.append({"participant": leg.channel, "who": who, "kind": kind})
        return out

    async def conference(self, account: Any, linkedid: str) -> dict:
        call = self._call_for(account, linkedid)
        if not call.conference:
            raise Conflict("this call is not a conference", code="no_conference")
        return {"linkedid": linkedid, "room": call.conference, "participants": self.participants(call.conference)}

    async def conference_remove(self, account: Any, linkedid: str, participant: Any) -> dict:
        call = self._call_for(account, linkedid)
        if not call.conference:
            raise Conflict("this call is not a conference", code="no_conference")
        if not isinstance(participant, str) or participant not in {p["participant"]
                                                                    for p in self.participants(call.conference)}:
            raise InvalidInput("participant is not in this conference", field="participant")
        self._guard(linkedid)
        try:
            await self._send({"Action": "ConfbridgeKick", "Conference": call.conference, "Channel": participant})
        finally:
            self._busy.discard(linkedid)
        self._record(call, "conference_remove", {"participant": participant, "by": account.id})
        return {"linkedid": linkedid, "requested": "conference_remove", "participant": participant}

    def _conference_left(self, ce: cm.ConferenceLeft) -> None:
        linkedid = self.tracker.rooms.get(ce.room)
        main = self.tracker.calls.get(linkedid or "")
        left = self.participants(ce.room)
        if main is not None:
            self._record(main, "conference_left", {"participant": self._channel(ce.leg) or ce.leg,
                                                   "left": len(left)})
            self.core.publish_call(main, ce.at)
        customer_gone = main is None or main.caller_leg not in main.legs or ce.leg == main.caller_leg
        if left and (customer_gone or len(left) <= 1) and ce.room not in self._ending:
            self._ending.add(ce.room)  # the conference ends cleanly: nobody stays alone in it (kicked once)
            self.core.spawn_quiet({"Action": "ConfbridgeKick", "Conference": ce.room, "Channel": "all"},
                                  linkedid or ce.call.linkedid)
        if not left:
            self.tracker.rooms.pop(ce.room, None)
            self._ending.discard(ce.room)

    # -- hang up ----------------------------------------------------------------------

    async def hangup(self, account: Any, linkedid: str) -> dict:
        call = self._call_for(account, linkedid)
        agent_leg = self.tracker.agent_leg(call)[1]
        if (call.held or call.holds) and call.hold_parties[0] in call.legs:
            # Held: the agent's leg waits alone, the customer is the call now. Retrieved: the two
            # were joined by an AMI Bridge, and real Asterisk sends the survivor back to its
            # dialplan (the customer to `hold`) when one leg hangs up; hanging up the customer
            # ends both (checked on Asterisk 22.10.1: tests/integration/test_call_control_asterisk.py).
            target = call.hold_parties[0]
        elif agent_leg:
            target = agent_leg
        else:
            raise Conflict("no answered call to hang up", code="no_call")
        by = "supervisor" if account.is_supervisor and account.interface != call.agent_interface else "agent"
        self._guard(linkedid)
        old = call.hangup_by
        if not call.hangup_by:
            call.hangup_by = by
        try:
            await self._send({"Action": "Hangup", "Channel": self._channel(target), "Cause": 16})
        except BaseException:
            call.hangup_by = old
            raise
        finally:
            self._busy.discard(linkedid)
        self._record(call, "hangup_requested", {"by": account.id, "as": by})
        log.info("call_hangup_requested", linkedid=linkedid, by=account.id)
        return {"linkedid": linkedid, "requested": "hangup"}

    # -- dial out ---------------------------------------------------------------------

    async def dial(self, account: Any, number: Any) -> dict:
        number = check_number(number, "number")
        if not account.interface:
            raise Conflict("this account has no phone to call from", code="no_phone")
        view = self.core.book.view(account.id) or {}
        if view.get("state") in (AgentState.ON_CALL.value, AgentState.ON_HOLD.value, AgentState.RINGING.value):
            raise Conflict(f"finish the current call first ({view['state']})", code="busy")
        if any(account.interface in (c.agent_interface, *c.outside.values()) for c in self.tracker.calls.values()):
            raise Conflict("finish the current call first", code="busy")
        linkedid = f"cti-dial-{uuid.uuid4().hex[:16]}"
        now = time.time()
        # the work order exists from the click (its reference as the call's events will give it)
        self._record(linkedid, "dial_out", {"number": number, "agent": account.id},
                     fields={"ref": ref_for(linkedid, now), "direction": "outbound", "agent_id": account.id,
                             "status": "open", "created_at": datetime.fromtimestamp(now, timezone.utc).isoformat()})
        try:
            await self._send({"Action": "Originate", "Channel": account.interface, "Context": OUTBOUND_CONTEXT,
                              "Exten": number, "Priority": 1, "CallerID": f'"{number}" <{number}>',
                              "Timeout": DIAL_TIMEOUT_MS, "Async": "true", "ChannelId": linkedid,
                              "Variable": f"CTI_DIAL_BY={account.id}"})
        except (Conflict, Unavailable) as exc:  # the attempt stays on record, with why it did not start
            self._record(linkedid, "dial_failed", {"error": exc.message})
            raise
        log.info("dial_out_requested", linkedid=linkedid, agent=account.id)
        return {"linkedid": linkedid, "requested": "dial", "number": number}

    # -- reactions to what Asterisk reports (called by the core, in event order) --------

    def on_event(self, ce: object) -> None:
        if isinstance(ce, cm.ConferenceLeft):
            self._conference_left(ce)
            return
        if isinstance(ce, cm.ConferenceJoined):
            main = self.tracker.calls.get(self.tracker.rooms.get(ce.room, ""))
            if main is not None:  # on the work order, and the panels on the call refresh their participant list
                who = next((p for p in self.participants(ce.room) if p["participant"] == self._channel(ce.leg)), None)
                if who is not None:
                    self._record(main, "conference_joined", {**who, "room": ce.room})
                self.core.publish_call(main, ce.at)
            return
        if isinstance(ce, cm.ConferenceReady):
            self._conference_ready(ce)
            return
        if isinstance(ce, cm.ConsultStarted):  # from the phone (or another AMI client), not the panel
            c = ce.consult
            self._record(ce.call, "consult_started", {"kind": c.kind, "target": c.target,
                                                      "from": self._agent_of(c.from_interface), "by": c.by})
            log.info("call_consult_started", linkedid=ce.call.linkedid, kind=c.kind, by=c.by,
                     agent=self._agent_of(c.from_interface) or None, queue=ce.call.queue or None)
            self.core.publish_call(ce.call, ce.at)
            return
        if isinstance(ce, cm.ConsultEnded):
            c = ce.consult
            self._record(ce.call, "consult", {
                "kind": c.kind, "from": self._agent_of(c.from_interface),
                "to": self._agent_of(c.target_interface) or c.target if c.kind == "agent" else c.target,
                "outcome": c.outcome, "by": c.by,
                "talk_seconds": round(ce.at - c.answered_at, 3) if c.answered_at is not None else None})
            log.info("call_consult_ended", linkedid=ce.call.linkedid, outcome=c.outcome,
                     agent=self._agent_of(c.from_interface) or None, queue=ce.call.queue or None)
            if ce.call.ended_at is None:
                self.core.publish_call(ce.call, ce.at)
            return
        if isinstance(ce, cm.ConsultAnswered):  # the consulting agent's panel shows it
            self._record(ce.call, "consult_answered", {"kind": ce.consult.kind, "target": ce.consult.target})
            self.core.publish_call(ce.call, ce.at)
            return
        if isinstance(ce, cm.HeldPartyGone):
            call = ce.call
            customer_leg, _, agent_leg = call.hold_parties
            if ce.retrieved:  # after a retrieve the call was a whole again: whoever left ended it
                other = agent_leg if ce.who == "caller" else customer_leg
                if other in call.legs:
                    self.core.spawn_quiet({"Action": "Hangup", "Channel": self._channel(other)}, call.linkedid)
                return
            if ce.who == "caller" and agent_leg in call.legs:
                # the held customer hung up: the agent's leg must not sit in agent-wait
                self.core.spawn_quiet({"Action": "Hangup", "Channel": self._channel(agent_leg)}, call.linkedid)
            elif ce.who == "agent" and customer_leg in call.legs:
                # nobody must stay on music with no agent: back to the queue (or hung up without one)
                customer = self._channel(customer_leg)
                call.moving = "requeue"
                if call.queue:
                    action = {"Action": "Redirect", "Channel": customer, "Context": QUEUE_CONTEXT,
                              "Exten": call.queue, "Priority": 1}
                else:
                    action = {"Action": "Hangup", "Channel": customer}
                self.core.spawn_quiet(action, call.linkedid)
                self._record(call, "requeued" if call.queue else "hangup_requested",
                             {"why": "the agent left while the caller was on hold", "queue": call.queue or None})

    async def _quiet(self, action: dict, linkedid: str) -> None:
        from ctiserver.ami.errors import AmiError

        try:
            await self._ready().send(action)
        except (AmiError, Unavailable) as exc:
            log.warning("call_control_followup_failed", linkedid=linkedid, action=action.get("Action"),
                        error=str(exc))
