"""app_queue's AMI actions: QueueAdd, QueueRemove, QueuePause, QueuePenalty, QueueStatus, QueueSummary."""

from __future__ import annotations

from ..channel import Fields
from ..engines.queues import QueueEngine, QueueError
from ..kernel.actions import ActionError, Reply, Request, bool_value


class QueueActions:
    """The queue engine over AMI (refusals are QueueError: Asterisk's texts)."""

    def __init__(self, queues: QueueEngine):
        self.queues = queues

    def _queue_args(self, msg: dict[str, str], *need: str) -> None:
        for k in need:
            if not msg.get(k.lower()):
                raise ActionError("'Queue' or 'Interface' not set.")

    def action_queueadd(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        self._queue_args(msg, "Queue", "Interface")
        q = self.queues.queues.get(msg["queue"])
        if q is None:
            raise QueueError("Unable to add interface to queue: No such queue")
        if msg["interface"] in q.members:
            raise QueueError("Unable to add interface: Already there")
        try:
            penalty = int(msg.get("penalty") or 0)
        except ValueError:
            raise ActionError("Penalty: not a number") from None
        self.queues.add_member(msg["queue"], msg["interface"], msg.get("membername", ""),
                                   msg.get("stateinterface", ""), penalty, bool_value(msg.get("paused")),
                                   msg.get("reason", ""))
        return [[("Response", "Success")] + aid + [("Message", "Added interface to queue")]]

    def action_queueremove(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        self._queue_args(msg, "Queue", "Interface")
        self.queues.remove_member(msg["queue"], msg["interface"])
        return [[("Response", "Success")] + aid + [("Message", "Removed interface from queue")]]

    def action_queuepause(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        if not msg.get("interface") or not msg.get("paused"):
            raise ActionError("Need 'Interface' and 'Paused' parameters.")
        paused = bool_value(msg.get("paused"))
        self.queues.pause_member(msg["interface"], paused, msg.get("reason", ""), msg.get("queue") or None)
        return [[("Response", "Success")] + aid +
                [("Message", "Interface paused successfully" if paused else "Interface unpaused successfully")]]

    def action_queuepenalty(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        if not msg.get("interface") or not msg.get("penalty"):
            raise ActionError("Need 'Interface' and 'Penalty' parameters.")
        try:
            penalty = int(msg["penalty"])
        except ValueError:
            raise ActionError("Invalid penalty") from None
        self.queues.set_penalty(msg["interface"], penalty, msg.get("queue") or None)
        return [[("Response", "Success")] + aid + [("Message", "Interface penalty set successfully")]]

    def action_queuestatus(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        name, member = msg.get("queue") or None, msg.get("member") or None
        items: list[Fields] = []
        for qname, q in self.queues.queues.items():
            if name and qname != name:
                continue
            items.append([("Event", "QueueParams")] + self.queues.params_fields(q) + aid)
            for m in q.ordered():
                if member and m.interface != member:
                    continue
                items.append([("Event", "QueueMember")] + m.list_fields() + aid)
            for pos, e in enumerate(q.entries, 1):
                items.append([("Event", "QueueEntry")] + self.queues.entry_fields(q, pos, e) + aid)
        return ([[("Response", "Success")] + aid + [("EventList", "start"), ("Message", "Queue status will follow")]]
                + items + [[("Event", "QueueStatusComplete")] + aid + [("EventList", "Complete"),
                                                                      ("ListItems", str(len(items)))]])

    def action_queuesummary(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        name = msg.get("queue") or None
        items = [[("Event", "QueueSummary")] + self.queues.summary_fields(q) + aid
                 for qname, q in self.queues.queues.items() if not name or qname == name]
        return ([[("Response", "Success")] + aid + [("EventList", "start"), ("Message", "Queue summary will follow")]]
                + items + [[("Event", "QueueSummaryComplete")] + aid + [("EventList", "Complete"),
                                                                       ("ListItems", str(len(items)))]])
