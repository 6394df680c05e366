"""What the server does by itself when Asterisk reports something about a call.

- A held customer hangs up: the agent's leg waiting in ``agent-wait`` is hung up. The agent's
  leg goes while the customer is held: the customer goes back to the queue (or is hung up when
  the call had none), so nobody stays on music with no agent. After a retrieve (AMI Bridge)
  whoever leaves ends the call for both: Asterisk would send the survivor back to its dialplan.
- Consult -> conference, second step: the consulted party is in the room and Asterisk put the
  agent back with the customer (``ConferenceReady``): both follow with one dual ``Redirect``.
- Conference: who joins or leaves is written on the work order; when the customer leaves or
  one party would be left alone, the room is emptied (``ConfbridgeKick`` all, once).
"""

from __future__ import annotations

import structlog

from ctiserver.ami import actions
from ctiserver.calls import dialplan
from ctiserver.calls import model as cm
from ctiserver.calls.conference import Conferences
from ctiserver.calls.desk import CallDesk

log = structlog.get_logger(__name__)


class CallReactions:
    def __init__(self, desk: CallDesk, conferences: Conferences) -> None:
        self.desk = desk
        self.conferences = conferences
        self._ending: set[str] = set()  # rooms the server is emptying (ConfbridgeKick all sent)

    def on_call_event(self, ce: object) -> None:
        match ce:
            case cm.HeldPartyGone():
                self._held_party_gone(ce)
            case cm.ConferenceReady():
                self._conference_ready(ce)
            case cm.ConferenceJoined(room=room, leg=leg):
                main = self.desk.tracker.room_call(room)
                who = next((p for p in self.conferences.participants(room)
                            if p["participant"] == self.desk.channel(leg)), None)
                if main is not None and who is not None:
                    self.desk.step(main.linkedid, "conference_joined", {**who, "room": room})
            case cm.ConferenceLeft():
                self._conference_left(ce)

    def _held_party_gone(self, ce: cm.HeldPartyGone) -> None:
        desk, call = self.desk, ce.call
        customer_leg, agent_leg = call.hold.customer_leg, call.hold.agent_leg
        if ce.retrieved:  # after a retrieve the call was a whole again: whoever left ended it
            other = agent_leg if ce.who == "caller" else customer_leg
            if other in call.legs:
                desk.gateway.spawn(actions.hangup(desk.channel(other), None), linkedid=call.linkedid)
            return
        if ce.who == "caller" and agent_leg in call.legs:
            # the held customer hung up: the agent's leg must not sit in agent-wait
            desk.gateway.spawn(actions.hangup(desk.channel(agent_leg), None), linkedid=call.linkedid)
        elif ce.who == "agent" and customer_leg in call.legs:
            # nobody must stay on music with no agent: back to the queue (or hung up without one)
            customer = desk.channel(customer_leg)
            desk.tracker.intend_move(call, "requeue")
            action = (actions.redirect(customer, dialplan.QUEUE, call.queue) if call.queue
                      else actions.hangup(customer, None))
            desk.gateway.spawn(action, linkedid=call.linkedid)
            desk.step(call.linkedid, "requeued" if call.queue else "hangup_requested",
                      {"why": "the agent left while the caller was on hold", "queue": call.queue or None})

    def _conference_ready(self, ce: cm.ConferenceReady) -> None:
        desk, call = self.desk, ce.call
        customer = desk.channel(desk.tracker.customer_leg(call))
        agent = desk.channel(call.agent_leg) if call.agent_leg in call.legs else ""
        if not customer:  # the customer left before the move: nobody for the colleague to wait for
            desk.step(call.linkedid, "conference_failed", {"error": "the customer left before joining",
                                                           "room": ce.room})
            desk.gateway.spawn(actions.confbridge_kick(ce.room), linkedid=call.linkedid)
            return
        desk.tracker.join_room(call, ce.room)
        # the agent may have left meanwhile: then the customer joins the colleague alone
        extra = (agent, dialplan.CONFERENCE, ce.room) if agent else None
        desk.gateway.spawn(actions.redirect(customer, dialplan.CONFERENCE, ce.room, extra=extra),
                           linkedid=call.linkedid)

    def _conference_left(self, ce: cm.ConferenceLeft) -> None:
        desk = self.desk
        main = desk.tracker.room_call(ce.room)
        left = self.conferences.participants(ce.room)
        if main is not None:
            desk.step(main.linkedid, "conference_left", {"participant": desk.channel(ce.leg) or ce.leg,
                                                         "left": len(left)})
        customer_gone = main is None or main.caller_leg not in main.legs or ce.leg == main.caller_leg
        if left and (customer_gone or len(left) <= 1) and ce.room not in self._ending:
            self._ending.add(ce.room)  # the conference ends cleanly: nobody stays alone in it (kicked once)
            desk.gateway.spawn(actions.confbridge_kick(ce.room),
                               linkedid=main.linkedid if main is not None else ce.call.linkedid)
        if not left:
            desk.tracker.forget_room(ce.room)
            self._ending.discard(ce.room)
