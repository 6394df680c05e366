"""What a panel shows when it connects (or asks again after a gap): the user's whole picture.

Then the hub sends deltas. An agent sees their own state, their call and its pop, their day;
a supervisor sees every agent and every live call too.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ctiserver.agents.book import Account, AgentBook
from ctiserver.calls.notifier import CallNotifier
from ctiserver.calls.tracker import CallTracker
from ctiserver.marquee.service import MarqueeService
from ctiserver.push.link import LinkStatus
from ctiserver.workorders.today import TodayLists


class Snapshots:
    def __init__(self, book: AgentBook, tracker: CallTracker, notifier: CallNotifier, marquee: MarqueeService,
                 link: LinkStatus, today: TodayLists, config: Any) -> None:
        self.book = book
        self.tracker = tracker
        self.notifier = notifier
        self.marquee = marquee
        self.link = link
        self.today = today
        self.config = config
        self.extras: list[Callable[[Account], dict]] = []  # what capabilities add to a user's snapshot

    def pop_for(self, agent_id: str) -> dict | None:
        """The pop of the call ``agent_id`` is on or rung for, if any."""
        account = self.book.by_id.get(agent_id)
        if account is None:
            return None
        now = time.time()
        for call in self.tracker.calls.values():
            if call.agent_interface == account.interface or account.interface in call.ringing.values():
                return self.notifier.pop(call, agent_id, now)
        return None

    def for_account(self, account: Account) -> dict:
        """Everything a user's panel shows, at connect or on resync."""
        now = time.time()
        calls = [self.notifier.view(c, now) for c in self.tracker.calls.values()]
        if not account.is_supervisor:
            calls = [c for c in calls if c["agent"] == account.id or account.id in c["ringing"]]
        cc = self.config.callcenter
        return {
            "me": self.book.view(account.id),
            "agents": self.book.views() if account.is_supervisor else [],
            "pop": self.pop_for(account.id),
            "calls": calls,
            "marquee": self.marquee.active(),
            "link": self.link.status(),
            "today": list(self.today.of(account.id)),
            "busy_reasons": list(cc.busy_reasons),
            "queues": list(account.queues or cc.queues),
            "server_time": now,  # durations are shown against the server's clock, not the browser's
            "hold_warning_seconds": cc.hold_warning_seconds,  # the panel warns past this hold time
            **{k: v for extra in self.extras for k, v in extra(account).items()},
        }
