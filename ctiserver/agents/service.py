"""Agent commands: sign in, busy with a reason, ready, sign out.

A command sends the AMI actions and returns when Asterisk has accepted them;
the state itself changes only when Asterisk confirms it with a ``QueueMember*``
event (see ``AgentBook``), never when the command is sent.
"""

from __future__ import annotations

import time

import structlog

from ctiserver.agents import model
from ctiserver.agents.book import Account, AgentBook
from ctiserver.ami import actions
from ctiserver.ami.gateway import AmiGateway
from ctiserver.errors import Forbidden, InvalidInput, NotFound

log = structlog.get_logger(__name__)


class AgentService:
    def __init__(self, book: AgentBook, gateway: AmiGateway, busy_reasons: tuple[str, ...],
                 default_queues: tuple[str, ...]) -> None:
        self.book = book
        self.gateway = gateway
        self.busy_reasons = busy_reasons
        self.default_queues = default_queues

    def view(self, agent_id: str) -> dict | None:
        return self.book.view(agent_id)

    def views(self) -> list[dict]:
        return self.book.views()

    async def change_state(self, agent_id: str, target: str, reason: str | None = None, *, by: Account,
                           queues: list[str] | tuple[str, ...] | None = None) -> None:
        """Ask Asterisk for a state change; raises a CtiError when it cannot be done.

        ``queues`` chooses the queues (skills) of a sign-in among the agent's profile queues
        (default: all of them). A supervisor's change is credited to them when confirmed.
        """
        account = self.book.by_id.get(agent_id)
        if account is None:
            raise NotFound(f"no agent {agent_id!r}", field="agent")
        if by.id != agent_id and not by.is_supervisor:
            raise Forbidden("only a supervisor may change another agent's state")
        if not isinstance(target, str):
            raise InvalidInput("state must be a string", field="state")
        if reason is not None and not isinstance(reason, str):
            raise InvalidInput("reason must be a string", field="reason")
        allowed = account.queues or self.default_queues
        if queues is not None:
            if not isinstance(queues, (list, tuple)) or not queues or not all(isinstance(q, str) for q in queues):
                raise InvalidInput("queues must be a non-empty list of queue names", field="queues")
            unknown = [q for q in queues if q not in allowed]
            if unknown:
                raise InvalidInput(f"not one of {account.id}'s queues: {', '.join(unknown)}; "
                                   f"known: {', '.join(allowed)}", field="queues")
            if target != "logged_out" and self.book.status_of(account.interface).memberships:
                raise InvalidInput("queues are chosen when signing in", field="queues")
        chosen = tuple(dict.fromkeys(queues)) if queues else allowed
        plan = model.plan_change(self.book.status_of(account.interface), target, reason, chosen,
                                 self.busy_reasons)
        self.gateway.ready()  # Asterisk away: 503, nothing changed
        log.info("agent_state_requested", agent=agent_id, target=target, reason=reason, by=by.id)
        if by.id != agent_id:
            self.book.expect_forced(account.interface, (by.id, by.name), time.time())
        penalties = dict(zip(account.queues, account.penalties))
        for queue in plan.sign_in:
            await self.gateway.send(actions.queue_add(queue, account.interface, account.name,
                                                      penalties.get(queue, 0), paused=bool(plan.pause),
                                                      reason=plan.reason or ""), tolerate="Already there")
        if plan.pause is not None and not plan.sign_in:
            await self.gateway.send(actions.queue_pause(account.interface, plan.pause, plan.reason or ""))
        for queue in plan.sign_out:
            await self.gateway.send(actions.queue_remove(queue, account.interface), tolerate="Not there")
