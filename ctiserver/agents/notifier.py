"""Every agent state change: logged in the store (with its cause and who forced it) and pushed."""

from __future__ import annotations

from typing import Any

import structlog

from ctiserver.agents.book import AgentBook, AgentChanged
from ctiserver.push.hub import SUPERVISORS, Audience, Publisher
from ctiserver.store.ops import AgentStateOp

log = structlog.get_logger(__name__)


class AgentStateNotifier:
    def __init__(self, book: AgentBook, store: Any, hub: Publisher) -> None:
        self.book = book
        self.store = store
        self.hub = hub

    def on_agent_change(self, ch: AgentChanged) -> None:
        by = ch.status.changed_by[0] if ch.status.changed_by else None
        self.store.submit(AgentStateOp.new(ch.agent_id, ch.old.value, ch.new.value, ch.new_reason or None,
                                           ch.cause, at=ch.at, by=by))
        view = self.book.view(ch.agent_id)
        self.hub.publish("agent_state", view or {}, Audience.agents({ch.agent_id}) | SUPERVISORS)
        log.info("agent_state", agent=ch.agent_id, state=ch.new.value, reason=ch.new_reason or None,
                 previous=ch.old.value, cause=ch.cause)
