"""What every call command shares: finding the call and its channels, who may act, one command at a time.

Commands (``commands.py``, ``consult.py``, ``conference.py``) check who asks and the call's
state, validate their input, record their intent with the tracker, write their step on the
work order (a ``CallStep``) and send the AMI action through the gateway. The call's state
itself changes when Asterisk's events confirm it, through the tracker.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from ctiserver.agents.book import Account, AgentBook
from ctiserver.agents.model import AgentState
from ctiserver.ami.gateway import AmiGateway
from ctiserver.calls import model as cm
from ctiserver.calls.tracker import CallTracker
from ctiserver.errors import Conflict, Forbidden, InvalidInput

NUMBER = re.compile(r"[0-9+*#]{1,32}")
AGENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
EXTENSION = re.compile(r"[0-9]{2,20}")
LINKEDID = re.compile(r"[A-Za-z0-9._-]{1,150}")
DIAL_TIMEOUT_MS = 30000


def check_number(value: Any, field: str) -> str:
    """An outside number: digits, + * #, 1 to 32 characters (anything else: 400 naming the field)."""
    if not isinstance(value, str) or not NUMBER.fullmatch(value):
        raise InvalidInput(f"{field} must be 1 to 32 of the characters 0-9 + * #", field=field)
    return value


class CallPublisher(Protocol):
    def publish_call(self, call: cm.Call, now: float | None = None) -> None: ...


@dataclass
class CallDesk:
    """The state and the ways out the call commands share."""

    tracker: CallTracker
    book: AgentBook
    gateway: AmiGateway
    record: Callable[[cm.CallStep], None]  # the work-order projection
    notifier: CallPublisher
    queues: tuple[str, ...]

    def __post_init__(self) -> None:
        self.busy: set[str] = set()  # linkedids with a command under way

    def call_for(self, account: Account, linkedid: Any) -> cm.Call:
        """The live call ``account`` may control: the agent on it (or in it) or a supervisor."""
        if not isinstance(linkedid, str) or not LINKEDID.fullmatch(linkedid):
            raise InvalidInput("linkedid is not a call id", field="linkedid")
        call = self.tracker.calls.get(linkedid)
        if call is None:
            raise Conflict(f"no live call {linkedid}", code="no_call")
        if not account.is_supervisor and account.interface not in (call.agent_interface, *call.direct_agents.values()):
            raise Forbidden("only the agent on the call or a supervisor may control it")
        return call

    def channel(self, uniqueid: str) -> str:
        leg = self.tracker.legs.get(uniqueid)
        return leg.channel if leg else ""

    def connected_legs(self, call: cm.Call, what: str) -> tuple[str, str]:
        """(customer channel, agent channel) of an answered call (inbound, or the agent's outbound), or 409."""
        customer = self.channel(self.tracker.customer_leg(call))
        agent = self.channel(self.tracker.agent_leg(call)[1])
        if not customer or not agent or call.answered_at is None:
            raise Conflict(f"no answered customer call to {what}", code="no_call")
        return customer, agent

    @staticmethod
    def not_in_conference(call: cm.Call, what: str) -> None:
        """A conference call is everyone's: moving or holding it would take the others along (409)."""
        if call.conferencing:
            raise Conflict(f"cannot {what} a conference call: remove the others or hang up", code="conference")

    def claim(self, linkedid: str) -> None:
        """One command per call at a time (409 ``busy``); ``release`` when its action is answered."""
        if linkedid in self.busy:
            raise Conflict("another command on this call is under way", code="busy")
        self.busy.add(linkedid)

    def release(self, linkedid: str) -> None:
        self.busy.discard(linkedid)

    def agent_of(self, interface: str) -> str:
        account = self.book.by_interface.get(interface)
        return account.id if account else ""

    def step(self, linkedid: str, kind: str, data: dict, fields: dict | None = None,
             at: float | None = None) -> None:
        """Write a step on the call's work order."""
        self.record(cm.CallStep(linkedid, kind, data, time.time() if at is None else at, fields or {}))

    def failed(self, call: cm.Call, kind: str, exc: BaseException) -> None:
        self.step(call.linkedid, kind, {"error": getattr(exc, "message", None) or repr(exc)})

    def ready_agent(self, call: cm.Call, target: Any) -> tuple[Account, str]:
        """A colleague to transfer to, consult or add: ready now, with a phone that can be dialled."""
        if not isinstance(target, str) or not AGENT_ID.fullmatch(target):
            raise InvalidInput("target is not an agent id", field="target")
        other = self.book.by_id.get(target)
        if other is None or not other.interface:
            raise InvalidInput(f"no agent {target}", field="target")
        if other.interface == call.agent_interface:
            raise InvalidInput("the call cannot be transferred to the agent who has it", field="target")
        view = self.book.view(other.id) or {}
        if view.get("state") != AgentState.READY.value:
            reason = f" ({view['reason']})" if view.get("reason") else ""
            raise Conflict(f"agent {other.id} is not ready: {view.get('state', 'unknown')}{reason}",
                           code="agent_not_ready")
        extension = other.interface.partition("/")[2]
        if not EXTENSION.fullmatch(extension):
            raise Conflict(f"agent {other.id}'s phone {other.interface} cannot be dialled", code="not_dialable")
        return other, extension
