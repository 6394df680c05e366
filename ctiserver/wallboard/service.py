"""Computes the wallboard every few seconds and pushes it (``queue_stats``) when it changed.

Live figures (callers waiting, the longest wait, agents by state) come from the server's
state; the day's (offered, answered, abandoned, service level, average wait and handle time)
and the chart (calls per 15 minutes over the last hours) from the day's work orders, counted
by PostgreSQL: the same figures `GET /api/stats/queues` gives, so the wall and the reports agree.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import structlog

from ctiserver.agents.book import AgentBook
from ctiserver.apischema import ANY_OBJ, INT, NUM, STR, TIME, array, enum, nullable, obj
from ctiserver.calls.tracker import CallTracker
from ctiserver.push.hub import Audience, Publisher
from ctiserver.stats.service import StatsService
from ctiserver.store.errors import StoreUnavailable
from ctiserver.wallboard.figures import AGENT_STATES, agent_counts, level, live_queues

log = structlog.get_logger(__name__)

_LEVEL = enum("ok", "amber", "red")
_N = nullable(INT)  # the day's figure (none yet for a queue only live calls name)
# The schema of Wallboard.compute(): the wall's figures, as served and pushed (marquee: Marquee.JSON items).
WALL_FIGURES = obj(
    {"queues": array(obj(
        {"queue": STR, "waiting": INT, "longest_wait": NUM, "offered": _N, "answered": _N, "abandoned": _N,
         "no_agent": _N, "service_level_pct": nullable(NUM), "avg_wait_seconds": nullable(NUM),
         "avg_handle_seconds": nullable(NUM), "wait_level": _LEVEL, "service_level": _LEVEL},
        closed=True,
    )),
     "agents": obj({state: INT for state in AGENT_STATES}, closed=True),
     "intervals": array(obj({"start": TIME, "offered": INT, "answered": INT, "service_level_pct": nullable(NUM)},
                            closed=True)),
     "service_level_seconds": NUM, "marquee": array(ANY_OBJ),
     "thresholds": obj({"wait_amber_seconds": NUM, "wait_red_seconds": NUM, "service_level_amber_pct": NUM,
                        "service_level_red_pct": NUM}, closed=True)},
    closed=True,
)

#: Who sees the wall's figures: supervisors, and the wall display's own read-only connection.
WALL = Audience.roles({"supervisor", "admin", "display"})


class Wallboard:
    def __init__(self, tracker: CallTracker, book: AgentBook, stats: StatsService, store: Any, hub: Publisher,
                 marquee: Callable[[], list[dict]], settings: Any, queues: tuple[str, ...]) -> None:
        self.tracker, self.book, self.stats, self.store, self.hub = tracker, book, stats, store, hub
        self.marquee = marquee
        self.settings = settings
        self.queues = queues
        self.latest: dict[str, Any] = {}
        self._day: dict[str, Any] = {"queues": [], "intervals": []}

    async def refresh_day(self) -> None:
        """Today's figures from the work orders: PostgreSQL counts them (one row per queue and per
        interval, ``StatsService``), so a refresh costs the server the same whatever the day's calls."""
        now = dt.datetime.now(dt.UTC)
        try:
            day = await self.stats.queues_day(now.date())
            start = (now - dt.timedelta(hours=self.settings.hours)).replace(second=0, microsecond=0)
            start -= dt.timedelta(minutes=start.minute % self.settings.interval_minutes)
            chart = await self.stats.intervals(start, now + dt.timedelta(seconds=1), self.settings.interval_minutes)
        except StoreUnavailable as exc:
            log.warning("wallboard_day_unavailable", error=str(exc))
            return
        self._day = {"queues": day["queues"], "intervals": chart}

    def compute(self) -> dict[str, Any]:
        """The wall as it is now (live state + the last day's figures)."""
        s = self.settings
        now = time.time()
        live = live_queues(self.tracker.calls.values(), self.queues, now)
        rows = []
        by_name = {q["queue"]: q for q in self._day["queues"]}
        for name in sorted(set(live) | set(by_name)):
            day = by_name.get(name, {})
            row = {"queue": name, **live.get(name, {"waiting": 0, "longest_wait": 0.0}),
                   **{k: day.get(k) for k in ("offered", "answered", "abandoned", "no_agent", "service_level_pct",
                                               "avg_wait_seconds", "avg_handle_seconds")}}
            row["wait_level"] = level(row["longest_wait"], s.wait_amber_seconds, s.wait_red_seconds)
            row["service_level"] = level(row["service_level_pct"], s.service_level_amber_pct,
                                         s.service_level_red_pct, higher_is_worse=False)
            rows.append(row)
        floor = ({"role": a.role, "state": state.value} for a, _, state, _ in self.book.states())
        return {"queues": rows, "agents": agent_counts(floor), "intervals": self._day["intervals"],
                "service_level_seconds": self.stats.service_level_seconds, "marquee": self.marquee(),
                "thresholds": {"wait_amber_seconds": s.wait_amber_seconds, "wait_red_seconds": s.wait_red_seconds,
                               "service_level_amber_pct": s.service_level_amber_pct,
                               "service_level_red_pct": s.service_level_red_pct}}

    async def run(self) -> None:
        """For the server's life: refresh the day's figures, push the wall when it changed."""
        while True:
            await self.refresh_day()
            wall = self.compute()
            comparable = {k: v for k, v in wall.items() if k != "marquee"}
            if comparable != {k: v for k, v in self.latest.items() if k != "marquee"}:
                self.hub.publish("queue_stats", wall, WALL)
            self.latest = wall
            await asyncio.sleep(self.settings.refresh_seconds)
