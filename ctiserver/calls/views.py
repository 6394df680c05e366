"""What panels see of a call: the screen-pop and the one-line views."""

from __future__ import annotations

from datetime import datetime, timezone

from ctiserver.calls.model import Call

NOT_CUSTOMER = "not_customer"


def customer_class(info: dict | None) -> str:
    customer = (info or {}).get("customer")
    return customer.get("class", "ordinary") if customer else NOT_CUSTOMER


def build_pop(call: Call, info: dict | None, now: float, ref: str, ringing_since: float | None = None) -> dict:
    """The screen-pop for the agent a call rings or reaches."""
    info = info or {}
    waited_from = call.queued_at if call.queued_at is not None else call.started_at
    waited_to = call.answered_at if call.answered_at is not None else now
    return {
        "linkedid": call.linkedid,
        "workorder_ref": ref,
        "caller_number": call.caller_num,
        "caller_name": call.caller_name,
        "customer": info.get("customer"),
        "customer_class": customer_class(info),
        "authenticated": call.authenticated,
        "lookup": info.get("lookup", "pending"),
        "ivr_keys": call.ivr_keys_text,
        "ivr_path": list(call.ivr_path),
        "queue": call.queue,
        "waited_seconds": round(max(0.0, waited_to - waited_from), 1),
        "ringing_since": ringing_since,
        "state": "answered" if call.answered_at is not None else "ringing",
        "recent_workorders": info.get("recent", []),
    }


def call_view(call: Call, agent_of: dict[str, str], now: float) -> dict:
    """A live call as the supervisor grid shows it."""
    return {
        "linkedid": call.linkedid,
        "caller_number": call.caller_num,
        "caller_name": call.caller_name,
        "direction": call.direction,
        "queue": call.queue,
        "state": ("answered" if call.answered_at is not None else "ringing" if call.ringing
                  else "queued" if call.queued_at is not None else "ivr"),
        "agent": agent_of.get(call.agent_interface, ""),
        "ringing": sorted(agent_of.get(i, i) for i in call.ringing.values()),
        "since": call.started_at,
        "duration": round(now - call.started_at, 1),
    }


def summary(call: Call, ref: str, agent_id: str) -> dict:
    """One line of an agent's 'today' list."""
    return {
        "ref": ref,
        "linkedid": call.linkedid,
        "caller_number": call.caller_num,
        "caller_name": call.caller_name,
        "queue": call.queue,
        "agent_id": agent_id,
        "disposition": call.disposition,
        "started_at": datetime.fromtimestamp(call.started_at, timezone.utc).isoformat(),  # as the store gives it
        "wait_seconds": call.wait_seconds,
        "talk_seconds": call.talk_seconds,
    }
