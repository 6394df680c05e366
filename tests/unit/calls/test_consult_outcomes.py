"""How a consult asked from the panel ends when Asterisk never makes its consult leg.

AMI Atxfer only queues DTMF; when the digits make no extension of the context, Asterisk asks
again, gives up and returns the agent to the customer: ``Hold`` then ``Unhold`` on the agent's
channel and no Local channel (main/bridge_basic.c grab_transfer; pbxsim/atxfer.py models it).
"""

from __future__ import annotations

from ctiserver.agents.book import Account, AgentBook
from ctiserver.ami.events import translate
from ctiserver.ami.message import AmiMessage
from ctiserver.calls import model as cm
from ctiserver.calls.tracker import CallTracker

AGENT = Account(id="1001", login="1001", name="Agent 1001", role="agent", interface="PJSIP/1001",
                queues=("support",), penalties=(0,))
CALL, CUSTOMER, LEG = "1700000000.1", "PJSIP/caller-00000001", "PJSIP/1001-00000002"


def event(name: str, t: float, **fields: str) -> AmiMessage:
    headers = (("Event", name), ("Timestamp", f"{1700000000 + t:.6f}"), *fields.items())
    return AmiMessage(tuple(headers), 0.0, "")


def channel(name: str, uniqueid: str, **more: str) -> dict[str, str]:
    return {"Channel": name, "Uniqueid": uniqueid, "Linkedid": CALL, "ChannelState": "6",
            "CallerIDNum": "13800138000", "CallerIDName": "", "Context": "from-trunk", "Exten": "96588", **more}


def test_a_consult_asterisk_could_not_dial_ends_failed_and_the_agent_is_on_the_call_not_on_hold() -> None:
    book = AgentBook([AGENT])
    tracker = CallTracker(book.is_agent_endpoint)
    out: list[object] = []

    def feed(*messages: AmiMessage) -> None:
        for m in messages:
            e = translate(m)
            for ce in tracker.apply(e) if e is not None else []:
                book.apply_call(ce)
                out.append(ce)

    feed(event("Newchannel", 0.0, **channel(CUSTOMER, CALL)),
         event("QueueCallerJoin", 1.0, **channel(CUSTOMER, CALL), Queue="support", Position="1", Count="1"),
         event("Newchannel", 1.1, **channel(LEG, "1700000000.2", Context="agents", Exten="s")),
         event("AgentCalled", 1.1, **channel(CUSTOMER, CALL), DestChannel=LEG, DestUniqueid="1700000000.2",
               DestLinkedid=CALL, Queue="support", Interface="PJSIP/1001", MemberName="Agent 1001"),
         event("AgentConnect", 2.0, **channel(CUSTOMER, CALL), DestChannel=LEG, DestUniqueid="1700000000.2",
               DestLinkedid=CALL, Queue="support", Interface="PJSIP/1001", MemberName="Agent 1001",
               HoldTime="1", RingTime="1"))
    call = tracker.calls[CALL]
    assert call.agent_leg == "1700000000.2"
    # what CallControl.consult sets before it sends the Atxfer
    call.consult = cm.Consult("external", "5550100", "PJSIP/1001", "1700000000.2", "1001", 3.0)
    feed(event("Hold", 3.1, **channel(LEG, "1700000000.2")),
         event("Unhold", 12.5, **channel(LEG, "1700000000.2")))
    ended = [ce for ce in out if isinstance(ce, cm.ConsultEnded)]
    assert [e.consult.outcome for e in ended] == ["failed"]
    assert not call.consulting and not call.held and call.hold.count == 0
    assert book.view("1001")["state"] == "on_call"
