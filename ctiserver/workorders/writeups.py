"""The work-order side of the wrap-up gate: which call each agent is wrapping up, and what it lacks.

An agent's wrap-up follows their last call; that call's work order must hold the fields of
``workorders.wrapup_required`` before the agent may end wrap-up themselves (the gate is in
ctiserver/agents/wrapup.py). One already submitted has passed the stricter submit check.
When the wrap-up time runs out first, the work order is flagged (see ``expired``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ctiserver.calls import model as cm
from ctiserver.workorders import forms
from ctiserver.workorders.lifecycle import Status
from ctiserver.workorders.projection import final_agent

LAST_MAX = 10_000  # agents remembered (one entry each)


class WrapupChecks:
    def __init__(self, actions: Any, agent_of: Callable[[str], str]) -> None:
        self.actions = actions  # WorkOrderActions: the held work orders, the settings, the flag
        self.agent_of = agent_of
        self.last: dict[str, str] = {}  # agent id -> linkedid of the call they wrap up

    @property
    def required(self) -> tuple[str, ...]:
        return self.actions.settings.wrapup_required

    def on_call_event(self, ce: object) -> None:
        if not isinstance(ce, cm.CallEnded) or not self.required:
            return
        interface = final_agent(ce.call)
        agent = self.agent_of(interface) if interface else ""
        if agent and ce.call.answered_at is not None:
            self.last.pop(agent, None)
            self.last[agent] = ce.call.linkedid
            while len(self.last) > LAST_MAX:
                self.last.pop(next(iter(self.last)))

    def missing(self, agent_id: str) -> tuple[str | None, list[str]]:
        """(reference, the required fields it lacks) of the work order ``agent_id`` is wrapping up."""
        linkedid = self.last.get(agent_id)
        row = self.actions.sheets.get(linkedid) if linkedid else None
        if row is None or (row.get("status") or Status.DRAFT.value) != Status.DRAFT.value:
            return None, []
        return row.get("ref"), forms.missing_fields(row, self.required, self.actions.settings)

    def expired(self, agent_id: str) -> None:
        """The wrap-up time ran out: the agent is ready again, and a work order still lacking fields is flagged."""
        _, missing = self.missing(agent_id)
        if missing:
            self.actions.flag_incomplete(self.last[agent_id], agent_id, missing)
