"""Consult (内部求助 / 外部求助): the agent talks to a colleague or an outside number while the customer waits.

- start: ``Atxfer`` of the agent's leg to ``agents,<ext>`` (a colleague) or ``cti-consult-out,<number>#``
  (trace 08 B: Asterisk holds the customer and dials the target through a Local pair). Atxfer
  keys the target in as DTMF, and Asterisk collects digits only while a longer extension could
  still match (``ast_app_dtget``), so an outside number goes through ``cti-consult-out``'s
  ``_[0-9*].`` and ends with ``#``;
- complete: ``Hangup`` of the consulting agent's leg (Asterisk merges customer and target);
- cancel: ``Hangup`` of the Local half in the consult bridge (Asterisk puts the agent back
  with the customer, as when the target hangs up or does not answer);
- conference: ``Redirect`` of the consulted party into the call's ConfBridge room; the
  customer and the agent follow once Asterisk has put them back together (``reactions``).

The consult's legs and how it ends are followed by the tracker (``call.consult``).
"""

from __future__ import annotations

import re
import time
from typing import Any

import structlog

from ctiserver.agents.book import Account
from ctiserver.ami import actions
from ctiserver.calls import dialplan
from ctiserver.calls import model as cm
from ctiserver.calls.desk import CallDesk
from ctiserver.errors import Conflict, InvalidInput

log = structlog.get_logger(__name__)

CONSULT_KINDS = ("agent", "external")
CONSULT_NUMBER = re.compile(r"[0-9*]{2,32}")


class Consults:
    def __init__(self, desk: CallDesk) -> None:
        self.desk = desk

    async def start(self, account: Account, linkedid: str, kind: Any, target: Any) -> dict:
        desk = self.desk
        call = desk.call_for(account, linkedid)
        if kind not in CONSULT_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(CONSULT_KINDS)}", field="kind")
        if call.consulting:
            raise Conflict("a consult is already under way on this call", code="consult_active")
        desk.not_in_conference(call, "consult on")
        if call.held:
            raise Conflict("take the call back from hold first", code="held")
        if kind == "agent":
            if not isinstance(target, str) or not target:
                raise InvalidInput("target is required", field="target")
            other, exten = desk.ready_agent(call, target)
            context, data = dialplan.AGENTS, {"agent": other.id}
        else:
            if not isinstance(target, str) or not CONSULT_NUMBER.fullmatch(target):
                raise InvalidInput("target must be 2 to 32 of the characters 0-9 *: Asterisk keys an outside "
                                   "number to consult in as DTMF", field="target")
            exten = target + "#"  # '#' ends Asterisk's digit collection at once (ast_app_dtget)
            context, data = dialplan.CONSULT_OUTSIDE, {"number": target}
        _, agent = desk.connected_legs(call, "consult")
        interface, agent_leg = desk.tracker.agent_leg(call)
        desk.claim(linkedid)
        frm = desk.agent_of(interface)
        desk.tracker.intend_consult(call, cm.Consult(kind, target, interface, agent_leg, account.id, time.time()))
        try:
            desk.step(linkedid, "consult_started", {"kind": kind, **data, "from": frm, "by": account.id})
            await desk.gateway.send(actions.atxfer(agent, context, exten))
        except BaseException as exc:
            desk.tracker.drop_consult(call)
            desk.failed(call, "consult_failed", exc)
            raise
        finally:
            desk.release(linkedid)
        desk.notifier.publish_call(call)
        log.info("call_consult_requested", linkedid=linkedid, kind=kind, agent=frm, queue=call.queue or None,
                 by=account.id)
        return {"linkedid": linkedid, "requested": "consult", "kind": kind, "target": target}

    def _consult_of(self, account: Account, linkedid: str) -> tuple[cm.Call, cm.Consult]:
        call = self.desk.call_for(account, linkedid)
        if not call.consulting or call.consult is None:
            raise Conflict("no consult under way on this call", code="no_consult")
        return call, call.consult

    async def complete(self, account: Account, linkedid: str) -> dict:
        """The transfer completes: ``Hangup`` of the consulting agent's leg (trace 08 B)."""
        desk = self.desk
        call, consult = self._consult_of(account, linkedid)
        if consult.answered_at is None:
            raise Conflict("the consult has not been answered yet: cancel it or wait", code="consult_not_answered")
        channel = desk.channel(consult.from_leg)
        if not channel:
            raise Conflict("the consulting agent's leg is gone", code="no_call")
        desk.claim(linkedid)
        try:
            await desk.gateway.send(actions.hangup(channel))
        finally:
            desk.release(linkedid)
        log.info("call_consult_complete_requested", linkedid=linkedid, by=account.id)
        return {"linkedid": linkedid, "requested": "consult_complete"}

    async def cancel(self, account: Account, linkedid: str) -> dict:
        """Back to the customer: ``Hangup`` of the consult leg (Asterisk then reconnects agent and customer)."""
        desk = self.desk
        call, consult = self._consult_of(account, linkedid)
        up = [u for u in sorted(consult.legs) if u in call.legs and desk.channel(u)]
        # the Local half in the consult bridge is the transfer target Asterisk sees; else every leg of it
        first = [u for u in up if desk.channel(u).startswith("Local/") and desk.channel(u).endswith(";1")] or up
        if not first:
            raise Conflict("the consult has no leg left to end", code="no_consult")
        desk.claim(linkedid)
        desk.tracker.intend_consult_cancel(call)
        try:
            for uid in first:
                await desk.gateway.send(actions.hangup(desk.channel(uid)))
        except BaseException:
            desk.tracker.intend_consult_cancel(call, False)
            raise
        finally:
            desk.release(linkedid)
        log.info("call_consult_cancel_requested", linkedid=linkedid, by=account.id)
        return {"linkedid": linkedid, "requested": "consult_cancel"}

    async def conference(self, account: Account, linkedid: str) -> dict:
        """Everyone in a conference: ``Redirect`` of the consulted party into the call's ConfBridge room.

        Asterisk then ends the consult's Local pair and puts the agent back with the customer (an
        Atxfer whose target leaves, as a cancel); once the two are bridged again the tracker says
        so (``ConferenceReady``) and both follow with a dual ``Redirect`` (``reactions``).
        """
        desk = self.desk
        call, consult = self._consult_of(account, linkedid)
        if consult.answered_at is None:
            raise Conflict("the consult has not been answered yet: cancel it or wait", code="consult_not_answered")
        party = consult.target_leg or next(
            (u for u in sorted(consult.legs) if u in call.legs and (leg := desk.tracker.legs.get(u)) is not None
             and leg.state == cm.UP and not leg.channel.startswith("Local/")), "")
        channel = desk.channel(party)
        if not channel:
            raise Conflict("the consulted party is gone", code="no_consult")
        room = cm.room_name(linkedid)
        desk.claim(linkedid)
        try:
            desk.step(linkedid, "conference_from_consult", {"room": room, "by": account.id})
            desk.tracker.intend_room(call, room, pending=True, guest=party)
            await desk.gateway.send(actions.redirect(channel, dialplan.CONFERENCE, room))
        except BaseException as exc:
            desk.tracker.drop_room(call, room, guest=party)
            desk.failed(call, "conference_failed", exc)
            raise
        finally:
            desk.release(linkedid)
        log.info("call_consult_conference_requested", linkedid=linkedid, room=room, by=account.id,
                 queue=call.queue or None)
        return {"linkedid": linkedid, "requested": "consult_conference", "room": room}
