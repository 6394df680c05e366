"""The plain call commands: hold, retrieve, transfer, back to the IVR, hang up, dial out.

Which AMI action each button uses, and why (README "Call control"):

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
- hangup: ``Hangup`` of the agent's leg (the queue then hangs the customer up, and the
  work order truthfully says the agent ended it, AgentComplete Reason=agent as in trace 16);
  of the customer's leg while held (the agent's leg sits alone in agent-wait then).
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

import structlog

from ctiserver.agents.book import Account
from ctiserver.agents.model import AgentState
from ctiserver.ami import actions
from ctiserver.calls import dialplan
from ctiserver.calls import model as cm
from ctiserver.calls.desk import DIAL_TIMEOUT_MS, CallDesk, check_number
from ctiserver.errors import Conflict, InvalidInput, Unavailable
from ctiserver.workorders.projection import ref_for

log = structlog.get_logger(__name__)

TRANSFER_KINDS = ("agent", "queue", "external")
# Agent states in which a queue would still route a call to the member (not paused, signed in)
TAKING_STATES = frozenset({AgentState.READY.value, AgentState.RINGING.value, AgentState.ON_CALL.value,
                           AgentState.ON_HOLD.value})
NODE = re.compile(r"[a-z][a-z0-9_]{1,39}")


class CallCommands:
    def __init__(self, desk: CallDesk, ivr_nodes: frozenset[str] = frozenset()) -> None:
        self.desk = desk
        self.ivr_nodes = ivr_nodes

    # -- hold / retrieve ----------------------------------------------------------------

    async def hold(self, account: Account, linkedid: str) -> dict:
        desk = self.desk
        call = desk.call_for(account, linkedid)
        if call.held:
            raise Conflict("the call is already on hold", code="already_held")
        desk.not_in_conference(call, "hold")
        if call.consulting:
            raise Conflict("the customer already waits while you consult", code="consult_active")
        customer, agent = desk.connected_legs(call, "hold")
        desk.claim(linkedid)
        try:
            await desk.gateway.send(actions.redirect(customer, dialplan.HOLD, "s",
                                                     extra=(agent, dialplan.AGENT_WAIT, "s")))
        finally:
            desk.release(linkedid)
        log.info("call_hold_requested", linkedid=linkedid, agent=desk.agent_of(desk.tracker.agent_leg(call)[0]),
                 queue=call.queue or None, by=account.id)
        return {"linkedid": linkedid, "requested": "hold"}

    async def retrieve(self, account: Account, linkedid: str) -> dict:
        desk = self.desk
        call = desk.call_for(account, linkedid)
        if not call.held:
            raise Conflict("the call is not on hold", code="not_held")
        if call.hold.by_phone:
            raise Conflict("the phone holds this call: take it back on the phone", code="held_by_phone")
        customer, agent = desk.connected_legs(call, "retrieve")
        desk.claim(linkedid)
        try:
            await desk.gateway.send(actions.bridge(customer, agent))
        finally:
            desk.release(linkedid)
        log.info("call_retrieve_requested", linkedid=linkedid, by=account.id)
        return {"linkedid": linkedid, "requested": "retrieve"}

    # -- moves: transfer, IVR -----------------------------------------------------------

    def transfer_target(self, call: cm.Call, kind: Any, target: Any) -> tuple[str, str, dict]:
        """(context, extension, work-order data) of a transfer, after every check."""
        if kind not in TRANSFER_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(TRANSFER_KINDS)}", field="kind")
        if not isinstance(target, str) or not target:
            raise InvalidInput("target is required", field="target")
        if kind == "external":
            return dialplan.OUTBOUND, check_number(target, "target"), {"number": target}
        if kind == "queue":
            queues = self.desk.queues
            if target not in queues:
                raise InvalidInput(f"unknown queue {target[:40]!r}; known: {', '.join(queues)}", field="target")
            # queues.conf joinempty=paused,unavailable,invalid: with nobody but paused or signed-out
            # members (the agent handing the call over is in wrap-up next), Asterisk turns the caller away
            takers = [v for v in self.desk.book.views() if target in v.get("queues", ())
                      and v.get("state") in TAKING_STATES and v.get("interface") != call.agent_interface]
            if not takers:
                raise Conflict(f"nobody in queue {target} can take the call now", code="queue_empty")
            return dialplan.QUEUE, target, {"queue": target}
        other, extension = self.desk.ready_agent(call, target)
        return dialplan.TRANSFER, extension, {"agent": other.id}

    async def _move(self, account: Account, call: cm.Call, context: str, exten: str, kind: str, data: dict,
                    before: Callable[[], Callable[[], None]] | None = None) -> None:
        """Redirect the customer elsewhere; the agent's leg goes (a held one is hung up too).

        The step is written on the work order before the Redirect, so it comes before what
        Asterisk reports of it (the next agent ringing...); a refusal is written after it.
        """
        desk = self.desk
        desk.not_in_conference(call, "transfer" if kind == "transfer" else "send to the IVR")
        if call.consulting:
            raise Conflict("finish the consult first", code="consult_active")
        customer, agent = desk.connected_legs(call, kind)
        desk.claim(call.linkedid)
        was_held = call.held
        frm = desk.agent_of(desk.tracker.agent_leg(call)[0])
        previous = desk.tracker.intend_move(call, kind)
        undo = before() if before is not None else None
        try:
            desk.step(call.linkedid, kind, {**data, "from": frm, "by": account.id})
            if context == dialplan.TRANSFER and call.queue:  # unanswered: back to the call's own queue
                await desk.gateway.send(actions.setvar(customer, "CTI_FALLBACK_QUEUE", call.queue))
            await desk.gateway.send(actions.redirect(customer, context, exten))
        except BaseException as exc:
            desk.tracker.drop_move(call, previous)
            if undo is not None:
                undo()
            desk.failed(call, f"{kind}_failed", exc)
            raise
        finally:
            desk.release(call.linkedid)
        if was_held:  # the agent's leg sits alone in agent-wait: end it
            await desk.gateway.send_quietly(actions.hangup(agent, None), linkedid=call.linkedid)
        log.info("call_moved", linkedid=call.linkedid, kind=kind, to=f"{context},{exten}", agent=frm,
                 queue=call.queue or None, by=account.id)

    async def transfer(self, account: Account, linkedid: str, kind: Any, target: Any) -> dict:
        call = self.desk.call_for(account, linkedid)
        context, exten, data = self.transfer_target(call, kind, target)
        await self._move(account, call, context, exten, "transfer", {"kind": kind, **data})
        return {"linkedid": linkedid, "requested": "transfer", "kind": kind, "target": target}

    async def to_ivr(self, account: Account, linkedid: str, node: Any) -> dict:
        call = self.desk.call_for(account, linkedid)
        if not isinstance(node, str) or not NODE.fullmatch(node) or (self.ivr_nodes and node not in self.ivr_nodes):
            known = f"; known: {', '.join(sorted(self.ivr_nodes))}" if self.ivr_nodes else ""
            raise InvalidInput(f"node is not an IVR node{known}", field="node")
        tracker = self.desk.tracker

        def remember() -> Callable[[], None]:
            previous = tracker.intend_ivr_return(call)
            return lambda: tracker.drop_ivr_return(call, previous)

        await self._move(account, call, dialplan.IVR, node, "ivr", {"node": node}, before=remember)
        return {"linkedid": linkedid, "requested": "ivr", "node": node}

    # -- hang up ------------------------------------------------------------------------

    async def hangup(self, account: Account, linkedid: str) -> dict:
        desk = self.desk
        call = desk.call_for(account, linkedid)
        agent_leg = desk.tracker.agent_leg(call)[1]
        if (call.held or call.hold.count) and call.hold.customer_leg in call.legs:
            # Held: the agent's leg waits alone, the customer is the call now. Retrieved: the two
            # were joined by an AMI Bridge, and real Asterisk sends the survivor back to its
            # dialplan (the customer to `hold`) when one leg hangs up; hanging up the customer
            # ends both (checked on Asterisk 22.10.1: tests/integration/test_call_control_asterisk.py).
            target = call.hold.customer_leg
        elif agent_leg:
            target = agent_leg
        else:
            raise Conflict("no answered call to hang up", code="no_call")
        by = "supervisor" if account.is_supervisor and account.interface != call.agent_interface else "agent"
        desk.claim(linkedid)
        previous = desk.tracker.intend_hangup(call, by)
        try:
            await desk.gateway.send(actions.hangup(desk.channel(target)))
        except BaseException:
            desk.tracker.drop_hangup(call, previous)
            raise
        finally:
            desk.release(linkedid)
        desk.step(linkedid, "hangup_requested", {"by": account.id, "as": by})
        log.info("call_hangup_requested", linkedid=linkedid, by=account.id)
        return {"linkedid": linkedid, "requested": "hangup"}

    # -- dial out -----------------------------------------------------------------------

    async def dial(self, account: Account, number: Any) -> dict:
        desk = self.desk
        number = check_number(number, "number")
        if not account.interface:
            raise Conflict("this account has no phone to call from", code="no_phone")
        view = desk.book.view(account.id) or {}
        if view.get("state") in (AgentState.ON_CALL.value, AgentState.ON_HOLD.value, AgentState.RINGING.value):
            raise Conflict(f"finish the current call first ({view['state']})", code="busy")
        if any(account.interface in (c.agent_interface, *c.direct_agents.values())
               for c in desk.tracker.calls.values()):
            raise Conflict("finish the current call first", code="busy")
        linkedid = f"cti-dial-{uuid.uuid4().hex[:16]}"
        now = time.time()
        # the work order exists from the click (its reference as the call's events will give it)
        desk.step(linkedid, "dial_out", {"number": number, "agent": account.id},
                  fields={"ref": ref_for(linkedid, now), "direction": "outbound", "agent_id": account.id,
                          "call_state": "open", "created_at": datetime.fromtimestamp(now, timezone.utc).isoformat()},
                  at=now)
        try:
            await desk.gateway.send(actions.originate(
                account.interface, dialplan.OUTBOUND, number, channel_id=linkedid, timeout_ms=DIAL_TIMEOUT_MS,
                caller_id=f'"{number}" <{number}>', variables=f"CTI_DIAL_BY={account.id}"))
        except (Conflict, Unavailable) as exc:  # the attempt stays on record, with why it did not start
            desk.step(linkedid, "dial_failed", {"error": exc.message})
            raise
        log.info("dial_out_requested", linkedid=linkedid, agent=account.id)
        return {"linkedid": linkedid, "requested": "dial", "number": number}
