"""Call events -> work-order writes. Every call is a work order from its first event.

Writes are ops submitted to the store's ordered, journaled writer, so nothing is
lost while PostgreSQL is away and a replayed op is applied once.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from ctiserver.calls import model as m
from ctiserver.store.ops import WorkOrderOp


@functools.lru_cache(maxsize=4096)  # asked for on every pop, push and write of a live call
def ref_for(linkedid: str, started_at: float) -> str:
    """A short human reference, stable for a call (a replay or a restart gives the same one)."""
    day = datetime.fromtimestamp(started_at, timezone.utc).strftime("%Y%m%d")
    digest = base64.b32encode(hashlib.sha1(linkedid.encode()).digest()).decode()[:8]
    return f"WO-{day}-{digest}"


def _ts(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, timezone.utc).isoformat()


def _op(call: m.Call, kind: str, at: float, fields: dict, data: dict | None = None) -> WorkOrderOp:
    return WorkOrderOp(op_id=str(uuid.uuid4()), at=at, linkedid=call.linkedid, kind=kind,
                       fields=fields, data=data if data is not None else {})


def _ivr(call: m.Call) -> dict:
    return {"ivr_keys": call.ivr_keys_text, "ivr_path": list(call.ivr_path)}


def ops_for(ce: object, agent_of: Callable[[str], str]) -> list[WorkOrderOp]:
    """The work-order writes one call event implies."""
    if isinstance(ce, m.CallStep):
        return [WorkOrderOp(op_id=str(uuid.uuid4()), at=ce.at, linkedid=ce.linkedid, kind=ce.kind,
                            fields=ce.fields, data=ce.data)]
    if isinstance(ce, m.ConsultStarted):  # from the phone or another AMI client (the panel's is a CallStep)
        c = ce.consult
        return [_op(ce.call, "consult_started", ce.at, {}, {"kind": c.kind, "target": c.target,
                                                           "from": agent_of(c.from_interface), "by": c.by})]
    if isinstance(ce, m.ConsultAnswered):
        return [_op(ce.call, "consult_answered", ce.at, {}, {"kind": ce.consult.kind, "target": ce.consult.target})]
    if isinstance(ce, m.ConsultEnded):
        c = ce.consult
        return [_op(ce.call, "consult", ce.at, {}, {
            "kind": c.kind, "from": agent_of(c.from_interface),
            "to": agent_of(c.target_interface) or c.target if c.kind == "agent" else c.target,
            "outcome": c.outcome, "by": c.by,
            "talk_seconds": round(ce.at - c.answered_at, 3) if c.answered_at is not None else None})]
    if isinstance(ce, m.CallStarted):
        c = ce.call
        return [_op(c, "created", ce.at, {
            "ref": ref_for(c.linkedid, c.started_at), "direction": c.direction, "caller_number": c.caller_num,
            "caller_name": c.caller_name, "call_state": "open", "created_at": _ts(c.started_at)},
            {"resynced": c.resynced})]
    if isinstance(ce, m.CallerChanged):
        c = ce.call
        return [_op(c, "caller_id", ce.at, {"caller_number": c.caller_num, "caller_name": c.caller_name},
                    {"from": {"number": ce.previous[0], "name": ce.previous[1]}})]
    if isinstance(ce, m.CallQueued):
        c = ce.call
        return [_op(c, "queued", ce.at, {"queue": c.queue, "queued_at": _ts(c.queued_at), "call_state": "queued",
                                         **_ivr(c)}, {"queue": c.queue})]
    if isinstance(ce, m.CallRinging):
        agent = agent_of(ce.interface)
        return [_op(ce.call, "ringing", ce.at, {"agent_id": agent, "ringing_at": _ts(ce.at), "call_state": "ringing"},
                    {"agent": agent, "interface": ce.interface})]
    if isinstance(ce, m.CallRingEnded):
        agent = agent_of(ce.interface)
        return [_op(ce.call, "ring_ended", ce.at, {}, {"agent": agent, "why": ce.why})]
    if isinstance(ce, m.CallAnswered):
        c = ce.call
        agent = agent_of(ce.interface)
        return [_op(c, "answered", ce.at, {"agent_id": agent, "answered_at": _ts(c.answered_at),
                                           "call_state": "in_call", "wait_seconds": c.wait_seconds},
                    {"agent": agent})]
    if isinstance(ce, m.CustomerHeld):  # a hold (the panel's Redirect to music, or the phone's) and its end
        c = ce.call
        agent = agent_of(c.agent_interface) if c.agent_interface else None
        if ce.held:
            return [_op(c, "hold", ce.at, {}, {"agent": agent, "holds": c.hold.count,
                                               "by": "phone" if c.hold.by_phone else "panel"})]
        return [_op(c, "retrieve", ce.at, {}, {"agent": agent, "seconds": ce.seconds, "holds": c.hold.count,
                                               "hold_seconds": c.hold.seconds})]
    if isinstance(ce, m.HeldPartyGone):
        return [_op(ce.call, "held_party_gone", ce.at, {}, {"who": ce.who})]
    if isinstance(ce, m.CallEnded):
        c = ce.call
        fields = {"ended_at": _ts(c.ended_at), "call_state": "ended", "disposition": c.disposition,
                  "wait_seconds": c.wait_seconds, "talk_seconds": c.talk_seconds,
                  "hangup_by": c.hangup_by or None, **_ivr(c)}
        # The agent who answered (the last one after transfers), or none: a ringing op set
        # agent_id to whoever was rung last.
        last = final_agent(c)
        fields["agent_id"] = agent_of(last) if last else None
        data = {"disposition": c.disposition, "hangup_by": c.hangup_by, "queue_status": c.queue_status}
        if c.hold.count or c.previous_agents:
            data.update(holds=c.hold.count, hold_seconds=c.hold.seconds,
                        agents=[agent_of(i) or i for i in [*c.previous_agents, c.agent_interface] if i])
        return [_op(c, "ended", ce.at, fields, data)]
    return []


def final_agent(call: m.Call) -> str:
    """The interface of the agent who had the call last (after a move to an external number: the one before;
    an outbound call: the agent who made it)."""
    return (call.agent_interface or (call.previous_agents[-1] if call.previous_agents else "")
            or next(iter(call.direct_agents.values()), ""))


def customer_step(call: m.Call, customer: dict | None, at: float | None = None) -> m.CallStep:
    """Record who the caller is, once the lookup is done."""
    fields = {"customer_id": customer["id"] if customer else None,
              "customer_class": customer.get("class") if customer else "not_customer"}
    return m.CallStep(call.linkedid, "customer", {"customer_no": customer.get("customer_no") if customer else None,
                                                  "authenticated": call.authenticated}, at or time.time(), fields)


class WorkOrderRecorder:
    """Writes every call event's work-order ops to the store (journaled, ordered): the only writer of steps."""

    def __init__(self, store: Any, agent_of: Callable[[str], str]) -> None:
        self.store = store
        self.agent_of = agent_of
        self._last: tuple[object, list[WorkOrderOp]] | None = None

    def on_call_event(self, ce: object) -> None:
        ops = ops_for(ce, self.agent_of)
        self._last = (ce, ops)
        for op in ops:
            self.store.submit(op)

    def ops_of(self, ce: object) -> list[WorkOrderOp]:
        """The ops of a call event: those just written for it when it is the last one, else made anew.

        The work-order service follows the same events right after this writer; it reads them
        here instead of building every op of every event a second time."""
        last = self._last
        return last[1] if last is not None and last[0] is ce else ops_for(ce, self.agent_of)
