"""Who may read which customer record.

- Supervisors and admins: every customer.
- An agent: the customer of a call they have now: ringing at their phone, connected to them,
  or the call they are wrapping up (their last answered call, while their wrap-up runs).
  That is what the pop links to and what the wrap-up work-order form is about. A lookup by
  phone number answers only for the caller number of such a call: an agent cannot walk
  the customer base by guessing numbers or customer numbers.
- A handler of a work order linked to the customer (assigned to them, or to a department
  they handle work for), and the person who submitted one that now waits for their callback
  to the customer: that customer, at any time.

Anything else is refused with 403 ``not_your_customer``, the same answer whether the
customer exists or not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ctiserver.agents.book import AgentBook
from ctiserver.agents.model import AgentState
from ctiserver.calls import model as cm
from ctiserver.errors import Forbidden
from ctiserver.store.phones import normalize_phone

LAST_MAX = 10_000  # agents whose last call is remembered (one entry each)
WIDE_ROLES = ("supervisor", "admin")

_LINKED = (
    "SELECT EXISTS (SELECT 1 FROM work_orders WHERE customer_id = $1 AND ("
    "assignee = $2 OR department = ANY($3::text[]) "
    "OR (status = 'completed' AND submitted_by = $2)))"
)


def role_of(account: Any) -> str:
    return str(getattr(account.role, "value", account.role))


def refused() -> Forbidden:
    return Forbidden(
        "this customer is not on a call of yours, nor linked to a work order you handle",
        code="not_your_customer",
    )


class CallerAccess:
    """Follows which call each agent has (a call subscriber) and answers "may they read this customer?"."""

    def __init__(
        self,
        store: Any,
        book: AgentBook,
        *,
        pop_of: Callable[[str], dict | None],
        call_of: Callable[[str], cm.Call | None],
        agent_of: Callable[[str], str],
        departments_of: Callable[[str], frozenset[str]],
    ) -> None:
        self.store = store
        self.book = book
        # linkedid -> what the pop shows of the customer, and the call itself (live calls)
        self.pop_of = pop_of
        self.call_of = call_of
        self.agent_of = agent_of  # interface -> agent id
        self.departments_of = departments_of
        # agent id -> (linkedid, customer_no, caller number) of the call they last had
        self.last: dict[str, tuple[str, str, str]] = {}
        # linkedid -> agents whose last call it is, until the call ends (no scan of every agent)
        self._left: dict[str, set[str]] = {}

    def on_call_event(self, ce: object) -> None:
        match ce:
            case cm.AgentLegEnded(call=call, interface=interface):
                agent = self.agent_of(interface)
                if agent:
                    self.last.pop(agent, None)
                    self.last[agent] = (call.linkedid, *self._caller(call.linkedid))
                    self._left.setdefault(call.linkedid, set()).add(agent)
                    while len(self.last) > LAST_MAX:
                        self.last.pop(next(iter(self.last)))
            case cm.CallEnded(call=call):
                # a customer found (or created) between the agent's hang-up and the call's end
                for agent in self._left.pop(call.linkedid, ()):
                    last = self.last.get(agent)
                    if last is not None and last[0] == call.linkedid and not last[1]:
                        self.last[agent] = (call.linkedid, *self._caller(call.linkedid))

    def _caller(self, linkedid: str) -> tuple[str, str]:
        """(customer number, normalised caller number) of a live call, as far as known."""
        call = self.call_of(linkedid)
        pop = self.pop_of(linkedid) or {}
        customer = pop.get("customer") or {}
        no = (
            customer.get("customer_no")
            or customer.get("no")
            or (call.customer_no if call else "")
        )
        phone = normalize_phone(call.caller_num) if call and call.caller_num else ""
        return str(no or "").upper(), phone

    def callers(self, agent_id: str) -> list[tuple[str, str]]:
        """(customer number, caller number) of each call ``agent_id`` has now."""
        account = self.book.by_id.get(agent_id)
        if account is None or not account.interface:
            return []
        status = self.book.status_of(account.interface)
        linkedids = [linkedid for _, linkedid in status.ringing]
        if status.call:
            linkedids.append(status.call)
        out = [self._caller(linkedid) for linkedid in linkedids]
        last = self.last.get(agent_id)
        if (
            last is not None
            and status.state is AgentState.WRAP_UP
            and last[0] not in linkedids
        ):
            out.append(last[1:])
        return out

    def wide(self, account: Any) -> bool:
        return role_of(account) in WIDE_ROLES

    async def check_customer(self, account: Any, customer: dict[str, Any]) -> None:
        """Raise 403 unless ``account`` may read this customer's record and history."""
        if self.wide(account):
            return
        aid = str(account.id)
        no = str(customer["customer_no"]).upper()
        if any(no == mine for mine, _ in self.callers(aid)):
            return
        departments = sorted(self.departments_of(aid))
        if await self.store.fetchval(_LINKED, customer["id"], aid, departments):
            return
        raise refused()

    def check_phone(self, account: Any, phone: str) -> None:
        """Raise 403 unless ``account`` may look this number up (the caller of a call of theirs)."""
        if self.wide(account):
            return
        key = normalize_phone(phone)
        if not key or not any(key == mine for _, mine in self.callers(str(account.id))):
            raise refused()
