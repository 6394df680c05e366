"""One log line per call event that matters to an operator, with the call's agent and queue.

At ``info`` a call is its start and its end (the end carries the agent, queue, wait, talk time
and who hung up), plus holds, consults and a caller id changed on the way; the steps between
(queued, each agent rung, a ring ending, answered) are ``debug``: at 100 calls a second they
were half of the lines written, and the work order keeps every step anyway.
(The linkedid is bound by the core for every line logged while an event is applied.)
"""

from __future__ import annotations

import structlog

from ctiserver.agents.book import AgentBook
from ctiserver.calls import model as cm
from ctiserver.workorders.projection import final_agent

log = structlog.get_logger("ctiserver.calls")


class Directory:
    """Agent ids by interface, as the agent book knows them."""

    def __init__(self, book: AgentBook) -> None:
        self.book = book

    def agent_of(self, interface: str) -> str:
        account = self.book.by_interface.get(interface)
        return account.id if account else ""

    def agent_ids(self) -> "Directory":
        """Itself: a call view looks agents up with ``get`` (copying the whole map on every call
        update cost a quarter of the server's time with 2,000 agents)."""
        return self

    def get(self, interface: str, default: str = "") -> str:
        account = self.book.by_interface.get(interface)
        return account.id if account else default


class CallLog:
    def __init__(self, directory: Directory) -> None:
        self.agent_of = directory.agent_of

    def on_call_event(self, ce: object) -> None:
        match ce:
            case cm.CallStarted(call=call):
                log.info("call_started", caller=call.caller_num, direction=call.direction)
            case cm.CallerChanged(call=call, previous=previous):
                log.info("caller_changed", caller=call.caller_num, previous=previous[0])
            case cm.CallQueued(call=call):
                log.debug("call_queued", queue=call.queue)
            case cm.CallRinging(call=call, interface=interface):
                log.debug("call_ringing", agent=self.agent_of(interface), queue=call.queue)
            case cm.CallRingEnded(call=call, interface=interface, why=why):
                log.debug("call_ring_ended", agent=self.agent_of(interface), why=why, queue=call.queue)
            case cm.CallAnswered(call=call, interface=interface):
                log.debug("call_answered", agent=self.agent_of(interface), queue=call.queue, wait=call.wait_seconds)
            case cm.CustomerHeld(call=call, held=held, seconds=seconds):
                log.info("call_hold" if held else "call_retrieved",
                         agent=self.agent_of(call.agent_interface) or None, seconds=seconds or None,
                         holds=call.hold.count)
            case cm.ConsultStarted(call=call, consult=c):
                log.info("call_consult_started", kind=c.kind, by=c.by, agent=self.agent_of(c.from_interface) or None,
                         queue=call.queue or None)
            case cm.ConsultEnded(call=call, consult=c):
                log.info("call_consult_ended", outcome=c.outcome, agent=self.agent_of(c.from_interface) or None,
                         queue=call.queue or None)
            case cm.CallEnded(call=call):
                last = final_agent(call)
                log.info("call_ended", disposition=call.disposition, agent=self.agent_of(last) or None,
                         queue=call.queue or None, wait=call.wait_seconds, talk=call.talk_seconds,
                         hangup_by=call.hangup_by or None)
