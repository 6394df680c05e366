"""``UserEvent(CtiStep)`` from the IVR -> one step on the call's work order.

The FastAGI IVR may run in its own process (``python -m ivr``) and has no store of its own
for work orders: it tells what a node did with a UserEvent on the caller's channel, which
Asterisk sends over AMI with the channel's Linkedid. Only the step kinds listed here are
written, each with the fields it may carry, cut to a sane length: a UserEvent is something
any dialplan can send, so nothing in it is trusted further.
"""

from __future__ import annotations

from typing import Any

import structlog

from ctiserver.ami.events import UserEvent
from ctiserver.calls.model import CallEnded
from ctiserver.store.ops import WorkOrderOp

log = structlog.get_logger(__name__)

# step kind -> the UserEvent headers kept in the history event's data (lower-cased)
STEPS: dict[str, tuple[str, ...]] = {
    "selfservice": ("node", "outcome", "seconds"),
    # the line closed where the call entered (ivr/policy.py)
    "service_hours": ("outcome", "reason", "hotline"),
    # PIN authentication failed (all tries) or the number is locked
    "pin": ("outcome", "customer", "attempt"),
    # the queue priority the customer's class gave the caller
    "priority": ("class", "prio", "queue"),
}
MAX_VALUE = 64


class IvrSteps:
    """Writes each known IVR step to the work order of the call it was sent on.

    The self-service node says ``Outcome: asking`` before it asks its back-end: a call that ends
    before the answer's step (the caller hung up meanwhile, and a dead channel sends nothing)
    gets the step with outcome ``hung_up`` then.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self.asking: dict[str, str] = {}  # linkedid -> the self-service node asking now

    def on_call_event(self, ce: object) -> None:
        if isinstance(ce, CallEnded) and ce.call.linkedid in self.asking:
            node = self.asking.pop(ce.call.linkedid)
            log.info(
                "ivr_step",
                step="selfservice",
                linkedid=ce.call.linkedid,
                node=node,
                outcome="hung_up",
            )
            self.store.submit(
                WorkOrderOp.new(
                    ce.call.linkedid,
                    "selfservice",
                    data={"node": node, "outcome": "hung_up"},
                    at=ce.at,
                )
            )

    def on_ami_event(self, e: object) -> None:
        if not isinstance(e, UserEvent) or e.name != "CtiStep" or not e.linkedid:
            return
        fields = {k.lower(): v for k, v in e.fields.items()}
        kind = fields.get("step", "")
        keep = STEPS.get(kind)
        if keep is None:
            log.warning("ivr_step_unknown", step=kind[:MAX_VALUE], linkedid=e.linkedid)
            return
        data: dict[str, Any] = {k: fields[k][:MAX_VALUE] for k in keep if k in fields}
        if kind == "selfservice":
            if data.get("outcome") == "asking":
                self.asking[e.linkedid] = data.get("node", "")
                return
            self.asking.pop(e.linkedid, None)
        if "seconds" in data:
            try:
                data["seconds"] = round(float(data["seconds"]), 3)
            except ValueError:
                data.pop("seconds")
        log.info("ivr_step", step=kind, linkedid=e.linkedid, **data)
        self.store.submit(WorkOrderOp.new(e.linkedid, kind, data=data, at=e.at or None))
