"""Fetch a day's rows from the store and build the statistics the API serves."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Callable, Iterable

import structlog

from ctiserver.callbacks.figures import callback_figures, with_callbacks
from ctiserver.callbacks.figures import empty as no_callbacks
from ctiserver.callbacks.repo import CallbackRepo
from ctiserver.errors import NotFound
from ctiserver.stats import agent_queries
from ctiserver.stats.agents import MISSED_WHY, AgentDay, agent_day
from ctiserver.stats.queues import queue_days
from ctiserver.stats.surveys import empty as no_surveys
from ctiserver.stats.surveys import survey_figures

log = structlog.get_logger(__name__)

UTC = dt.timezone.utc


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC day ``[00:00, next 00:00)``: statistics split states crossing midnight there."""
    start = dt.datetime.combine(day, dt.time(), UTC)
    return start, start + dt.timedelta(days=1)


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


class StatsService:
    """Per-agent and per-queue figures of one day; live (cut at now) for today."""

    def __init__(self, store: Any, *, service_level_seconds: float = 20, queues: Iterable[str] = (),
                 clock: Callable[[], dt.datetime] = _now) -> None:
        self.store = store
        self.service_level_seconds = service_level_seconds
        self.queues = tuple(queues)
        self.clock = clock

    async def agents(self, day: dt.date, agent_id: str | None = None) -> dict[str, Any]:
        """{"date", "generated_at", "agents": [...]}: every agent account (and anyone with state
        changes that day), or only ``agent_id`` (NotFound if there is no such account)."""
        now = self.clock()
        start, end = day_bounds(day)
        if agent_id is not None:
            return await self._one_agent(day, agent_id, start, end, now)
        accounts = {a.id: a for a in await self.store.list_agents()}
        entries = await self.store.agent_state_log(start, end)
        answered = await agent_queries.answered_by_agent(self.store, start, end)
        ring_ends = await self.store.ring_ends(start, end)

        by_agent: dict[str, list[Any]] = defaultdict(list)
        for e in entries:
            by_agent[e.agent_id].append(e)
        ids = sorted({a.id for a in accounts.values() if _role(a) == "agent"} | set(by_agent))
        by_interface = {a.interface: a.id for a in accounts.values() if a.interface}
        missed: dict[str, int] = defaultdict(int)
        for r in ring_ends:
            who = r.agent_id or by_interface.get(r.interface or "")
            if who and r.why in MISSED_WHY:
                missed[who] += 1

        figures: list[AgentDay] = []
        for aid in ids:
            fig = agent_day(aid, by_agent.get(aid, ()), start, end, now)
            account = accounts.get(aid)
            if (account is None or _role(account) != "agent") and not (
                    fig.signed_in_ms or any(e.at >= start for e in by_agent[aid])):
                continue  # a supervisor (or a gone account) not signed in that day
            fig.name = account.name if account is not None else aid
            fig.answered, fig.missed = answered.get(aid, 0), missed.get(aid, 0)
            figures.append(fig)
        log.debug("stats_agents", day=day.isoformat(), agents=len(figures))
        surveys = survey_figures(await self._surveys(start, end), "agent")
        return {"date": day.isoformat(), "generated_at": now.isoformat(),
                "agents": [{**f.to_json(), "survey": surveys.get(f.agent_id, no_surveys())} for f in figures]}

    async def _one_agent(self, day: dt.date, agent_id: str, start: dt.datetime, end: dt.datetime,
                         now: dt.datetime) -> dict[str, Any]:
        """One agent's figures, read for that agent alone: every signed-in panel asks for its own
        every few seconds, so this must cost that agent's day, not the whole center's."""
        account = await self.store.get_agent(agent_id)
        if account is None:
            raise NotFound(f"no agent {agent_id!r}", field="agent")
        entries = await self.store.agent_state_log(start, end, agent_id)
        mine = await agent_queries.day_of(self.store, agent_id, account.interface, start, end)
        fig = agent_day(agent_id, entries, start, end, now)
        fig.name = account.name
        fig.answered, fig.missed = mine.answered, mine.missed
        surveys = survey_figures(mine.surveys, "agent")
        return {"date": day.isoformat(), "generated_at": now.isoformat(),
                "agents": [{**fig.to_json(), "survey": surveys.get(agent_id, no_surveys())}]}

    async def queues_day(self, day: dt.date) -> dict[str, Any]:
        """{"date", "generated_at", "service_level_seconds", "queues": [...]} from the day's work orders."""
        now = self.clock()
        start, end = day_bounds(day)
        orders = await self.store.work_orders_between(start, end)
        callbacks = await CallbackRepo(self.store).between(start - dt.timedelta(days=1), end)
        orders = with_callbacks(orders, callbacks)  # a caller called back counts as what became of them
        days = queue_days(orders, self.queues, self.service_level_seconds)
        surveys = survey_figures(await self._surveys(start, end), "queue")
        asked = callback_figures(cb for cb in callbacks if start.timestamp() <= cb.requested_at < end.timestamp())
        return {"date": day.isoformat(), "generated_at": now.isoformat(),
                "service_level_seconds": self.service_level_seconds,
                "queues": [{**q.to_json(), "survey": surveys.get(q.queue, no_surveys()),
                            "callbacks": asked.get(q.queue, no_callbacks())} for q in days]}

    async def _surveys(self, start: dt.datetime, end: dt.datetime) -> list[dict]:
        """The day's post-call survey steps (asked that day)."""
        return await self.store.events_of_kinds(("survey",), start, end, limit=1_000_000)


def _role(account: Any) -> str:
    return str(getattr(account.role, "value", account.role))
