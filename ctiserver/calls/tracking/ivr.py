"""The caller's way through the IVR: menu keys, the nodes visited, who the IVR says they are."""

from __future__ import annotations

from ctiserver.ami import events as ev
from ctiserver.calls.model import Call, CallEvent, CallIdentified
from ctiserver.calls.tracking.state import TrackerState


def dtmf(s: TrackerState, e: ev.DtmfReceived) -> list[CallEvent]:
    call = s.caller_call(e)
    # Digits pressed before queueing are menu choices, unless our IVR reports them itself
    # (it leaves PIN digits out, which a DTMF trace cannot).
    if call and call.queued_at is None and not call.ivr_reported:
        call.ivr_keys.append(e.digit)
    return []


def dialplan_step(call: Call, e: ev.DialplanStep) -> None:
    """Before the queue, each context/extension the caller's leg steps into is a node of the IVR."""
    if call.caller_leg != e.uniqueid or call.queued_at is not None or call.ivr_reported:
        return
    node = f"{e.context}/{e.exten}"
    if not call.ivr_path or call.ivr_path[-1] != node:
        call.ivr_path.append(node)


def variable_set(s: TrackerState, e: ev.VariableSet) -> list[CallEvent]:
    """What the IVR and the queue set on the caller's channel (CTI_*, QUEUESTATUS)."""
    call = s.caller_call(e)
    if call is None:
        return []
    name = e.variable.upper()
    if name == "CTI_IVR_KEYS":  # after a return to the IVR, what it reports adds to what was there
        call.ivr_keys, call.ivr_reported = list(call.ivr_base[1] + e.value), True
    elif name == "CTI_IVR_PATH":
        call.ivr_path, call.ivr_reported = call.ivr_base[0] + [p for p in e.value.split(",") if p], True
    elif name == "CTI_CUSTOMER_NO":
        call.customer_no = e.value
    elif name == "CTI_AUTHENTICATED":
        call.auth = e.value.strip().lower()[:16]
        call.authenticated = call.auth in ("yes", "1")
        # A number locked after wrong PINs is who the caller says they are: the pop shows that
        # customer's record (marked locked, not authenticated) so the agent can check them.
        if call.identified:
            return [CallIdentified(call, e.at)]
    elif name == "QUEUESTATUS":
        call.queue_status = e.value
    return []
