"""Alerts on the supervisor page, decided by the server against configured thresholds.

Four conditions, each naming the call or the agent and the action a supervisor takes:

- ``wait``: a caller waiting in a queue (queued, not answered) longer than ``wait_seconds``;
  action: force ready the agent of that queue busy the longest (none: no action);
- ``hold``: a call on hold longer than the hold limit; action: monitor it (the page listens as
  soon as the agent takes the call back: a held call cannot be monitored);
- ``busy``: an agent busy longer than the limit of their reason (``busy_per_reason``, else
  ``busy_seconds``); action: force ready;
- ``wrapup``: an agent in wrap-up longer than ``wrapup_seconds``; action: force ready.

An alert is ``warn`` past its limit and ``bad`` past twice it. Raised, changed (its level, its
action) and cleared alerts are pushed to supervisors as ``alert`` {state: raised | cleared, ...};
the supervisors' snapshot lists the ones raised now. Conditions are checked every
``check_seconds`` (time passing raises them) and at once for the call or agent an event is about
(a retrieve or a force ready clears its alert without waiting). The clock is injected, so the
rules are tested with a fake one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from ctiserver.agents.book import Account, AgentBook, AgentChanged
from ctiserver.agents.model import AgentState, AgentStatus, derive
from ctiserver.calls import model as cm
from ctiserver.push.hub import SUPERVISORS, Publisher

log = structlog.get_logger(__name__)

KINDS = ("wait", "hold", "busy", "wrapup")


@dataclass(frozen=True)
class Thresholds:
    """When each alert is raised, in seconds."""

    wait_seconds: float = 60.0
    hold_seconds: float = 30.0
    busy_seconds: float = 900.0
    busy_per_reason: Mapping[str, float] = field(default_factory=dict)
    wrapup_seconds: float = 120.0

    def busy_limit(self, reason: str) -> float:
        return self.busy_per_reason.get(reason, self.busy_seconds)

    def view(self) -> dict:
        return {"wait_seconds": self.wait_seconds, "hold_seconds": self.hold_seconds,
                "busy_seconds": {**self.busy_per_reason, "*": self.busy_seconds},
                "wrapup_seconds": self.wrapup_seconds}


def parse_per_reason(items: Iterable[str]) -> dict[str, float]:
    """``("lunch=3600", "training=7200")`` as {reason: seconds}; ValueError names a bad item."""
    out = {}
    for item in items:
        reason, sep, seconds = item.partition("=")
        try:
            value = float(seconds)
        except ValueError:
            value = -1.0
        if not sep or not reason.strip() or value <= 0:
            raise ValueError(f"{item!r} is not reason=seconds (seconds above 0)")
        out[reason.strip()] = value
    return out


def thresholds_from(settings: Any, hold_seconds: float) -> Thresholds:
    """The thresholds of the ``[supervision]`` settings; the hold limit is the panel's hold warning."""
    return Thresholds(wait_seconds=settings.alert_wait_seconds, hold_seconds=hold_seconds,
                      busy_seconds=settings.alert_busy_seconds,
                      busy_per_reason=parse_per_reason(settings.alert_busy_per_reason),
                      wrapup_seconds=settings.alert_wrapup_seconds)


def level(seconds: float, limit: float) -> str:
    return "bad" if seconds >= 2 * limit else "warn"


class Alerts:
    """The alerts raised now, kept equal to the conditions and pushed to supervisors as they change."""

    def __init__(self, calls: Callable[[], Iterable[cm.Call]], book: AgentBook, hub: Publisher,
                 thresholds: Thresholds, *, clock: Callable[[], float] = time.time,
                 check_seconds: float = 1.0) -> None:
        self.calls = calls
        self.book = book
        self.hub = hub
        self.thresholds = thresholds
        self.clock = clock
        self.check_seconds = check_seconds
        self.raised: dict[str, dict] = {}  # key -> the alert as pushed

    # -- what the others call --------------------------------------------------------------

    def snapshot(self, account: Account) -> dict:
        """A supervisor's snapshot lists the alerts now (worst first) and the thresholds."""
        if not account.is_supervisor:
            return {}
        now = self.clock()
        return {"alerts": self.sorted(now), "alert_thresholds": self.thresholds.view()}

    def sorted(self, now: float) -> list[dict]:
        return sorted(self.raised.values(), key=lambda a: (-(now - a["since"]) / a["limit"], a["key"]))

    def evaluate(self) -> None:
        """Every call and agent against the thresholds now: raise, update and clear.

        One pass over the agents (their state derived once each) and one over the calls; the
        queues' busy agents are gathered only when a caller waits too long."""
        now = self.clock()
        found: dict[str, dict] = {}
        busy_agents: list[tuple[Account, AgentStatus]] = []
        for account, status, state, reason in self.book.states():
            if account.role != "agent" or not account.interface:
                continue  # a supervisor's own state is not an alert
            if state is AgentState.NOT_READY and status.since:
                busy_agents.append((account, status))
            alert = self._agent_alert(account, status, state, reason, now)
            if alert is not None:
                found[alert["key"]] = alert
        busy: dict[str, list[tuple[float, str]]] | None = None

        def helper_of(queue: str) -> str:
            nonlocal busy
            if busy is None:
                busy = self._busy_by_queue(busy_agents)
            return busy[queue][0][1] if busy.get(queue) else ""

        for call in list(self.calls()):
            for alert in self._of_call(call, now, helper_of):
                found[alert["key"]] = alert
        for key in [k for k in self.raised if k not in found]:
            self._clear(key)
        for alert in found.values():
            self._raise(alert)

    def on_call_event(self, ce: object) -> None:
        """The call an event is about, at once: a retrieve clears its hold alert, an answer its wait
        (raising waits for the next check, which has every agent's state for the action)."""
        call = getattr(ce, "call", None)
        if not isinstance(call, cm.Call):
            return
        keys = {f"wait:{call.linkedid}", f"hold:{call.linkedid}"} & self.raised.keys()
        if not keys:
            return
        still = set() if isinstance(ce, cm.CallEnded) else {
            a["key"] for a in self._of_call(call, self.clock(), lambda queue: "")}
        for key in keys - still:
            self._clear(key)

    def on_agent_change(self, ch: AgentChanged) -> None:
        """The agent whose state changed, at once (a force ready clears their alert)."""
        account = self.book.by_id.get(ch.agent_id)
        alert = self._of_agent(account, self.clock()) if account is not None else None
        for kind in ("busy", "wrapup"):
            key = f"{kind}:{ch.agent_id}"
            if key in self.raised and (alert is None or alert["key"] != key):
                self._clear(key)

    async def run(self) -> None:
        """For the server's life: the conditions every ``check_seconds`` (time passing raises alerts)."""
        while True:
            try:
                self.evaluate()
            except Exception:  # a bad state must not end the alerts for the server's life
                log.exception("alerts_failed")
            await asyncio.sleep(self.check_seconds)

    # -- the conditions --------------------------------------------------------------------

    def _of_call(self, call: cm.Call, now: float, helper_of: Callable[[str], str]) -> list[dict]:
        t = self.thresholds
        out: list[dict] = []
        if call.ended_at is not None:
            return out
        caller = {"caller_number": call.caller_num, "caller_name": call.caller_name, "queue": call.queue}
        if (call.direction == "inbound" and call.queued_at is not None and call.answered_at is None
                and call.ended_at is None and now - call.queued_at > t.wait_seconds):
            helper = helper_of(call.queue) if call.queue else ""
            out.append(self._alert("wait", call.linkedid, call.queued_at, t.wait_seconds, now,
                                   linkedid=call.linkedid, **caller,
                                   action={"kind": "force_ready", "agent": helper} if helper else None))
        since = call.hold.since
        if since is not None and now - since > t.hold_seconds:
            account = self.book.by_interface.get(call.hold.agent_interface or call.agent_interface)
            out.append(self._alert("hold", call.linkedid, since, t.hold_seconds, now, linkedid=call.linkedid,
                                   agent=account.id if account else "", **caller,
                                   action={"kind": "monitor", "linkedid": call.linkedid} if account else None))
        return out

    def _of_agent(self, account: Account, now: float) -> dict | None:
        if account.role != "agent" or not account.interface:
            return None  # a supervisor's own state is not an alert
        status = self.book.status_of(account.interface)
        state, reason = derive(status)
        return self._agent_alert(account, status, state, reason, now)

    def _agent_alert(self, account: Account, status: AgentStatus, state: AgentState, reason: str,
                     now: float) -> dict | None:
        if state is AgentState.NOT_READY:
            kind, limit = "busy", self.thresholds.busy_limit(reason)
        elif state is AgentState.WRAP_UP:
            kind, limit = "wrapup", self.thresholds.wrapup_seconds
        else:
            return None
        if not status.since or now - status.since <= limit:
            return None
        return self._alert(kind, account.id, status.since, limit, now, agent=account.id, reason=reason,
                           action={"kind": "force_ready", "agent": account.id})

    @staticmethod
    def _busy_by_queue(busy_agents: Iterable[tuple[Account, AgentStatus]]) -> dict[str, list[tuple[float, str]]]:
        """Each queue's busy agents, longest busy first (whom a supervisor frees for a waiting caller)."""
        out: dict[str, list[tuple[float, str]]] = {}
        for account, status in busy_agents:
            for queue in status.queues:
                out.setdefault(queue, []).append((status.since, account.id))
        for agents in out.values():
            agents.sort()
        return out

    @staticmethod
    def _alert(kind: str, subject: str, since: float, limit: float, now: float, **data: Any) -> dict:
        return {"key": f"{kind}:{subject}", "kind": kind, "since": since, "limit": limit,
                "level": level(now - since, limit), **data}

    # -- raising and clearing ----------------------------------------------------------------

    def _raise(self, alert: dict) -> None:
        before = self.raised.get(alert["key"])
        if before == alert:
            return
        self.raised[alert["key"]] = alert
        if before is None:
            log.info("alert_raised", alert=alert["key"], kind=alert["kind"], linkedid=alert.get("linkedid"),
                     agent=alert.get("agent"), queue=alert.get("queue"), limit=alert["limit"])
        self.hub.publish("alert", {"state": "raised", **alert}, SUPERVISORS)

    def _clear(self, key: str) -> None:
        alert = self.raised.pop(key)
        log.info("alert_cleared", alert=key, kind=alert["kind"], linkedid=alert.get("linkedid"),
                 agent=alert.get("agent"), queue=alert.get("queue"))
        self.hub.publish("alert", {"state": "cleared", **alert}, SUPERVISORS)
