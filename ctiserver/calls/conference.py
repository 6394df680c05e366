"""Conference (内部会议 / 外部会议): the customer, the agent and the parties added, in one ConfBridge room.

- add: the first time, the dual ``Redirect`` of customer and agent into ``cti-conference,<room>``
  (trace 10: ExtraChannel keeps both legs up); then ``Originate`` of the added party (a ready
  agent's phone, or ``Local/<number>@cti-outbound``) into the room. Its channel has its own
  linkedid (ChannelId ``cti-conf-…``): the tracker files it under the customer's call.
- remove: ``ConfbridgeKick`` of one participant (trace 10: a kicked member goes on to ``Hangup()``).
- end: ``ConfbridgeKick`` of all, by the server, when the customer leaves or one party would be
  left alone on music (``reactions``).
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from ctiserver.agents.book import Account
from ctiserver.ami import actions
from ctiserver.calls import dialplan
from ctiserver.calls import model as cm
from ctiserver.calls.consult import CONSULT_KINDS
from ctiserver.calls.desk import DIAL_TIMEOUT_MS, NUMBER, CallDesk, check_number
from ctiserver.errors import Conflict, InvalidInput

log = structlog.get_logger(__name__)


class Conferences:
    def __init__(self, desk: CallDesk) -> None:
        self.desk = desk

    async def add(self, account: Account, linkedid: str, kind: Any, target: Any) -> dict:
        """Move customer and agent into a ConfBridge room (dual ``Redirect``, trace 10), then ``Originate``
        the added party there (a ready agent's phone, or ``Local/<number>@cti-outbound``)."""
        desk = self.desk
        call = desk.call_for(account, linkedid)
        if kind not in CONSULT_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(CONSULT_KINDS)}", field="kind")
        if call.consulting:
            raise Conflict("finish the consult first", code="consult_active")
        if call.held:
            raise Conflict("take the call back from hold first", code="held")
        if kind == "agent":
            if not isinstance(target, str) or not target:
                raise InvalidInput("target is required", field="target")
            other, exten = desk.ready_agent(call, target)
            channel, data = f"PJSIP/{exten}", {"agent": other.id}
        else:
            number = check_number(target, "target")
            channel, data = f"Local/{number}@{dialplan.OUTBOUND}", {"number": number}
        first = not call.conference.room
        room = call.conference.room or cm.room_name(linkedid)
        if first:
            customer, agent = desk.connected_legs(call, "conference")
        desk.claim(linkedid)
        try:
            desk.step(linkedid, "conference_add", {"kind": kind, **data, "room": room, "by": account.id})
            if first:
                # set before the action: Asterisk's events of the move may come before its answer
                desk.tracker.intend_room(call, room)
                await desk.gateway.send(actions.redirect(customer, dialplan.CONFERENCE, room,
                                                         extra=(agent, dialplan.CONFERENCE, room)))
            channel_id = f"cti-conf-{uuid.uuid4().hex[:16]}"
            desk.tracker.join(channel_id, call)  # the added party is on this call's work order, not one of its own
            # the added party sees who the customer is
            caller_id = f'"{call.caller_num}" <{call.caller_num}>' if NUMBER.fullmatch(call.caller_num or "") else ""
            await desk.gateway.send(actions.originate(channel, dialplan.CONFERENCE, room, channel_id=channel_id,
                                                      timeout_ms=DIAL_TIMEOUT_MS, caller_id=caller_id))
        except BaseException as exc:
            if first:
                desk.tracker.drop_room(call, room)
            desk.failed(call, "conference_failed", exc)
            raise
        finally:
            desk.release(linkedid)
        log.info("call_conference_add_requested", linkedid=linkedid, room=room, kind=kind, by=account.id,
                 queue=call.queue or None)
        return {"linkedid": linkedid, "requested": "conference_add", "room": room, "kind": kind, "target": target}

    def participants(self, room: str) -> list[dict]:
        """Who is in the room now, in join order of their legs: {participant, who, kind}."""
        desk = self.desk
        main = desk.tracker.room_call(room)
        out = []
        for leg in desk.tracker.legs.values():
            if leg.room != room:
                continue
            agent = desk.agent_of(leg.endpoint)
            if main is not None and leg.uniqueid == main.caller_leg:
                who, kind = main.caller_num, "customer"
            elif agent:
                who, kind = agent, "agent"
            else:
                dialled = leg.exten if leg.exten not in ("", "s") else leg.connected[0]
                who = leg.external_number or dialled or leg.channel
                kind = "external"
            out.append({"participant": leg.channel, "who": who, "kind": kind})
        return out

    async def show(self, account: Account, linkedid: str) -> dict:
        call = self.desk.call_for(account, linkedid)
        if not call.conference.room:
            raise Conflict("this call is not a conference", code="no_conference")
        room = call.conference.room
        return {"linkedid": linkedid, "room": room, "participants": self.participants(room)}

    async def remove(self, account: Account, linkedid: str, participant: Any) -> dict:
        desk = self.desk
        call = desk.call_for(account, linkedid)
        if not call.conference.room:
            raise Conflict("this call is not a conference", code="no_conference")
        if not isinstance(participant, str) or participant not in {p["participant"]
                                                                    for p in self.participants(call.conference.room)}:
            raise InvalidInput("participant is not in this conference", field="participant")
        desk.claim(linkedid)
        try:
            await desk.gateway.send(actions.confbridge_kick(call.conference.room, participant))
        finally:
            desk.release(linkedid)
        desk.step(linkedid, "conference_remove", {"participant": participant, "by": account.id})
        return {"linkedid": linkedid, "requested": "conference_remove", "participant": participant}
