"""Each agent's calls of the day, newest first: the panel's 'today' list, kept live."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable

from ctiserver.calls import model as cm
from ctiserver.calls.views import summary
from ctiserver.push.hub import SUPERVISORS, Audience, Publisher
from ctiserver.workorders.projection import final_agent, ref_for

TODAY_MAX = 50


class TodayLists:
    def __init__(self, hub: Publisher, agent_of: Callable[[str], str]) -> None:
        self.hub = hub
        self.agent_of = agent_of
        self._lists: dict[str, deque[dict]] = {}
        self._date = ""

    async def load(self, store: Any) -> None:
        """Today's work orders from the store (a restart keeps the lists)."""
        self._date = _today()
        rows = await store.list_work_orders(date=datetime.now(timezone.utc).date(), agent_id=None, caller=None,
                                            disposition=None, limit=500, offset=0)
        for row in reversed(rows):
            data = row.to_json() if hasattr(row, "to_json") else dict(row)
            if data.get("agent_id"):
                self.of(data["agent_id"]).appendleft(data)

    def of(self, agent_id: str) -> deque[dict]:
        if _today() != self._date:
            self._lists.clear()
            self._date = _today()
        return self._lists.setdefault(agent_id, deque(maxlen=TODAY_MAX))

    def on_call_event(self, ce: object) -> None:
        if not isinstance(ce, cm.CallEnded):
            return
        last = final_agent(ce.call)
        agent = self.agent_of(last) if last else ""
        if agent:
            item = summary(ce.call, ref_for(ce.call.linkedid, ce.call.started_at), agent)
            self.of(agent).appendleft(item)
            self.hub.publish("workorder_update", item, Audience.agents({agent}) | SUPERVISORS)


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()
