"""A caller id the dialplan changes after the channel exists (NewCallerid) is the one shown.

Asterisk sends ``NewCallerid`` when ``Set(CALLERID(num)=…)`` strips a carrier prefix or a
name is looked up; the pop, the customer lookup and the work order must use the new values.
"""

from __future__ import annotations

from ctiserver.agents.book import Account, AgentBook
from ctiserver.ami.events import translate
from ctiserver.ami.message import AmiMessage
from ctiserver.calls import model as cm
from ctiserver.calls.tracker import CallTracker
from ctiserver.calls.views import build_pop
from ctiserver.workorders.projection import ops_for

AGENT = Account(id="1001", login="1001", name="Agent 1001", role="agent", interface="PJSIP/1001",
                queues=("support",), penalties=(0,))
CALL, CUSTOMER, LEG = "1700000000.1", "PJSIP/caller-00000001", "PJSIP/1001-00000002"


def event(name: str, t: float, **fields: str) -> AmiMessage:
    headers = (("Event", name), ("Timestamp", f"{1700000000 + t:.6f}"), *fields.items())
    return AmiMessage(tuple(headers), 0.0, "")


def caller(num: str, name: str = "Zhang Wei", **more: str) -> dict[str, str]:
    return {"Channel": CUSTOMER, "Uniqueid": CALL, "Linkedid": CALL, "ChannelState": "4",
            "CallerIDNum": num, "CallerIDName": name, "Context": "from-trunk", "Exten": "96588", **more}


class Feed:
    def __init__(self) -> None:
        self.book = AgentBook([AGENT])
        self.tracker = CallTracker(self.book.is_agent_endpoint)
        self.out: list[object] = []

    def __call__(self, *messages: AmiMessage) -> None:
        for m in messages:
            e = translate(m)
            for ce in self.tracker.apply(e) if e is not None else []:
                self.book.apply_call(ce)
                self.out.append(ce)


def test_a_stripped_prefix_reaches_the_pop_and_the_work_order() -> None:
    feed = Feed()
    feed(event("Newchannel", 0.0, **caller("+8613812345678")),
         event("NewCallerid", 0.01, **caller("13812345678"), **{"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"}),
         event("QueueCallerJoin", 1.0, **caller("13812345678"), Queue="support", Position="1", Count="1"),
         event("Newchannel", 1.1, **{**caller("1001", "Agent 1001"), "Channel": LEG, "Uniqueid": "1700000000.2",
                                     "Context": "agents", "Exten": "s"}),
         event("AgentCalled", 1.1, **caller("13812345678"), DestChannel=LEG, DestUniqueid="1700000000.2",
               DestLinkedid=CALL, Queue="support", Interface="PJSIP/1001", MemberName="Agent 1001"))
    call = feed.tracker.calls[CALL]
    changed = [ce for ce in feed.out if isinstance(ce, cm.CallerChanged)]
    assert [c.previous for c in changed] == [("+8613812345678", "Zhang Wei")]
    pop = build_pop(call, None, 1700000001.2, "WO-1", 1700000001.1, 30.0)
    assert pop["caller_number"] == "13812345678"
    ops = [op for ce in changed for op in ops_for(ce, lambda i: "1001")]
    assert [(op.kind, op.fields["caller_number"], op.data["from"]["number"]) for op in ops] == [
        ("caller_id", "13812345678", "+8613812345678")]


def test_a_name_looked_up_later_replaces_the_carriers_and_an_unchanged_one_is_no_event() -> None:
    feed = Feed()
    feed(event("Newchannel", 0.0, **caller("13812345678", "")),
         event("NewCallerid", 0.5, **caller("13812345678", "张伟")),
         event("NewCallerid", 0.6, **caller("13812345678", "张伟")))
    call = feed.tracker.calls[CALL]
    assert (call.caller_num, call.caller_name) == ("13812345678", "张伟")
    assert len([ce for ce in feed.out if isinstance(ce, cm.CallerChanged)]) == 1


def test_other_legs_caller_ids_do_not_rename_the_caller() -> None:
    """A Local half or the agent's phone gets NewCallerid too (traces 08, 11): that is the far end."""
    feed = Feed()
    feed(event("Newchannel", 0.0, **caller("13812345678")),
         event("Newchannel", 1.0, **{**caller("1001", "Agent 1001"), "Channel": "Local/1002@agents-00000000;2",
                                     "Uniqueid": "1700000000.3"}),
         event("NewCallerid", 1.1, **{**caller("1001", "Agent Alice"), "Channel": "Local/1002@agents-00000000;2",
                                      "Uniqueid": "1700000000.3"}))
    call = feed.tracker.calls[CALL]
    assert (call.caller_num, call.caller_name) == ("13812345678", "Zhang Wei")
    assert not [ce for ce in feed.out if isinstance(ce, cm.CallerChanged)]
