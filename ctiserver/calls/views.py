"""What panels see of a call: the screen-pop and the one-line views."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Protocol

from ctiserver.calls.model import Call

NOT_CUSTOMER = "not_customer"


def customer_class(info: dict | None) -> str:
    customer = (info or {}).get("customer")
    return customer.get("class", "ordinary") if customer else NOT_CUSTOMER


def build_pop(call: Call, info: dict | None, now: float, ref: str, ringing_since: float | None = None,
              hold_warning: float = 30.0) -> dict:
    """The screen-pop for the agent a call rings or reaches (with its hold state: held, held_since...)."""
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
        "auth": call.auth or None,  # yes / no (PIN failed) / locked (too many wrong PINs), None: no PIN asked
        "lookup": info.get("lookup", "pending"),
        "ivr_keys": call.ivr_keys_text,
        "ivr_path": list(call.ivr_path),
        "queue": call.queue,
        "waited_seconds": round(max(0.0, waited_to - waited_from), 1),
        "ringing_since": ringing_since,
        "state": "answered" if call.answered_at is not None else "ringing",
        "recent_workorders": info.get("recent", []),
        **hold_view(call, now, hold_warning),
    }


def hold_view(call: Call, now: float, warning: float) -> dict:
    """The hold state a panel shows (a timer from held_since, a warning after ``warning`` seconds), the consult,
    and the conference room (its participants: GET /api/calls/{linkedid}/conference)."""
    return {"held": call.held, "held_since": call.hold.since, "holds": call.hold.count,
            "hold_seconds": call.hold.total_seconds(now), "hold_warning_seconds": warning,
            "consult": consult_view(call), "conference": call.conference.room or None}


def consult_view(call: Call) -> dict | None:
    """The consult under way (None when there is none): kind, target, since, answered."""
    c = call.consult
    if c is None or not c.active:
        return None
    return {"kind": c.kind, "target": c.target, "since": c.started_at, "answered": c.answered_at is not None}


class AgentIds(Protocol):
    """Agent id by interface (a dict, or the agent book's directory)."""

    def get(self, interface: str, default: str = "") -> str: ...


def call_view(call: Call, agent_of: AgentIds, now: float, hold_warning: float = 30.0) -> dict:
    """A live call as the supervisor grid (and the agent on it) shows it."""
    return {
        **hold_view(call, now, hold_warning),
        "linkedid": call.linkedid,
        "caller_number": call.caller_num,
        "caller_name": call.caller_name,
        "direction": call.direction,
        "queue": call.queue,
        "state": ("held" if call.held else "answered" if call.answered_at is not None else "ringing" if call.ringing
                  else "queued" if call.queued_at is not None else "ivr"),
        "agent": agent_of.get(call.agent_interface, ""),
        "ringing": sorted(agent_of.get(i, i) for i in call.ringing.values()),
        "since": call.started_at,
        "queued_since": call.queued_at,  # when it joined its queue (a caller waiting is timed from here)
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
