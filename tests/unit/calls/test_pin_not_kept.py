"""A PIN the caller keys in never reaches the pop or the work order, even if the caller hangs up mid-PIN.

The DTMF of the PIN crosses AMI like any key; the IVR reports its menu keys (CTI_IVR_KEYS) before
it asks for the PIN, and from then on the server takes the IVR's word, not raw DTMF.
"""

from __future__ import annotations

from ctiserver.agents.book import AgentBook
from ctiserver.ami.events import translate
from ctiserver.ami.message import AmiMessage
from ctiserver.calls import model as cm
from ctiserver.calls.tracker import CallTracker
from ctiserver.workorders.projection import ops_for

CALL = "1700000000.1"


def event(name: str, t: float, **fields: str) -> AmiMessage:
    base = {"Channel": "PJSIP/caller-00000001", "Uniqueid": CALL, "Linkedid": CALL, "ChannelState": "6",
            "CallerIDNum": "13800138000", "CallerIDName": "", "Context": "ivr", "Exten": "s"}
    headers = (("Event", name), ("Timestamp", f"{1700000000 + t:.6f}"), *{**base, **fields}.items())
    return AmiMessage(tuple(headers), 0.0, "")


def test_a_pin_keyed_after_the_ivr_reported_is_not_a_menu_key() -> None:
    tracker = CallTracker(AgentBook().is_agent_endpoint)
    out: list[object] = []
    stream = [event("Newchannel", 0.0), event("DTMFEnd", 1.0, Digit="9", Direction="Received"),
              event("VarSet", 1.1, Variable="CTI_IVR_KEYS", Value="9"),
              *[event("DTMFEnd", 2.0 + i / 10, Digit=d, Direction="Received") for i, d in enumerate("1234")],
              event("Hangup", 3.0, Cause="16", **{"Cause-txt": "Normal Clearing"})]
    for m in stream:
        e = translate(m)
        out += tracker.apply(e) if e is not None else []
    ended = [ce for ce in out if isinstance(ce, cm.CallEnded)]
    assert len(ended) == 1 and ended[0].call.ivr_keys_text == "9"
    written = [op for ce in out for op in ops_for(ce, lambda i: "")]
    assert all("1234" not in str(op.fields.get("ivr_keys", "")) for op in written)
