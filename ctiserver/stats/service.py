"""Fetch a day's rows from the store and build the statistics the API serves."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Callable, Iterable

import structlog

from ctiserver.apischema import DATE, INT, NUM, STR, TIME, array, mapping, nullable, obj
from ctiserver.callbacks.figures import empty as no_callbacks
from ctiserver.errors import NotFound
from ctiserver.stats import agent_queries, day_queries
from ctiserver.stats.agents import AgentDay, agent_day
from ctiserver.stats.queues import QueueTotals
from ctiserver.stats.surveys import empty as no_surveys

log = structlog.get_logger(__name__)

UTC = dt.timezone.utc


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC day ``[00:00, next 00:00)``: statistics split states crossing midnight there."""
    start = dt.datetime.combine(day, dt.time(), UTC)
    return start, start + dt.timedelta(days=1)


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


# The answers' schemas: agents() and queues_day() (surveys.rating_figures, AgentDay.to_json,
# QueueTotals.to_json and callbacks.figures make the parts).
SURVEY = obj({"surveys": INT, "rated": INT, "unanswered": INT, "avg_rating": nullable(NUM),
              "ratings": mapping(INT)}, closed=True)  # ratings: "1".."5" -> count
AGENT_DAY = obj(
    {"agent_id": STR, "name": STR, "signed_in_seconds": INT, "ready_seconds": INT,
     "busy_seconds": mapping(INT),  # busy reason -> seconds
     "busy_total_seconds": INT, "ringing_seconds": INT, "talk_seconds": INT, "hold_seconds": INT,
     "wrapup_seconds": INT, "answered": INT, "missed": INT, "talk_calls": INT, "avg_talk_seconds": NUM,
     "first_sign_in": nullable(TIME), "last_sign_out": nullable(TIME), "survey": SURVEY},
    closed=True,
)
AGENTS_DAY = obj({"date": DATE, "generated_at": TIME, "agents": array(AGENT_DAY)}, closed=True)
QUEUE_DAY = obj(
    {"queue": STR, "offered": INT, "answered": INT, "abandoned": INT, "no_agent": INT, "waiting": INT,
     "answered_within_sl": INT, "service_level_pct": nullable(NUM), "avg_wait_seconds": NUM,
     "max_wait_seconds": NUM, "avg_handle_seconds": NUM, "survey": SURVEY,
     "callbacks": obj({"requested": INT, "connected": INT, "waiting": INT, "failed": INT}, closed=True)},
    closed=True,
)
QUEUES_DAY = obj({"date": DATE, "generated_at": TIME, "service_level_seconds": NUM, "queues": array(QUEUE_DAY)},
                 closed=True)


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

        by_agent: dict[str, list[Any]] = defaultdict(list)
        for e in entries:
            by_agent[e.agent_id].append(e)
        ids = sorted({a.id for a in accounts.values() if _role(a) == "agent"} | set(by_agent))
        by_interface = {a.interface: a.id for a in accounts.values() if a.interface}
        missed = await agent_queries.missed_by_agent(self.store, start, end, by_interface)

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
        surveys = await day_queries.survey_counts(self.store, start, end, "agent")
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
        phone = {account.interface: agent_id} if account.interface else {}
        missed = await agent_queries.missed_by_agent(self.store, start, end, phone, agent=agent_id)
        fig = agent_day(agent_id, entries, start, end, now)
        fig.name = account.name
        fig.answered = await agent_queries.answered_by(self.store, agent_id, start, end)
        fig.missed = missed.get(agent_id, 0)
        surveys = await day_queries.survey_counts(self.store, start, end, "agent", who=agent_id)
        return {"date": day.isoformat(), "generated_at": now.isoformat(),
                "agents": [{**fig.to_json(), "survey": surveys.get(agent_id, no_surveys())}]}

    async def queues_day(self, day: dt.date) -> dict[str, Any]:
        """{"date", "generated_at", "service_level_seconds", "queues": [...]} from the day's work orders.

        Counted by PostgreSQL (``day_queries``: one row per queue, whatever the day's calls), as
        ``queue_days`` over ``with_callbacks`` defines the figures: a caller called back counts as
        what became of them. Every queue of ``queues`` is listed, with or without calls.
        """
        now = self.clock()
        start, end = day_bounds(day)
        totals = {t.queue: t for t in await day_queries.queue_totals(self.store, start, end,
                                                                     self.service_level_seconds)}
        surveys = await day_queries.survey_counts(self.store, start, end, "queue")
        asked = await day_queries.callback_counts(self.store, start, end)
        names = sorted(set(self.queues) | set(totals))
        return {"date": day.isoformat(), "generated_at": now.isoformat(),
                "service_level_seconds": self.service_level_seconds,
                "queues": [{**totals.get(q, QueueTotals(q)).to_json(), "survey": surveys.get(q, no_surveys()),
                            "callbacks": asked.get(q, no_callbacks())} for q in names]}

    async def intervals(self, start: dt.datetime, end: dt.datetime, minutes: int) -> list[dict[str, Any]]:
        """Calls offered per interval of ``minutes`` in ``[start, end)`` with their service level (the
        wall's chart; ``wallboard.figures.intervals`` defines it), counted by PostgreSQL."""
        return await day_queries.interval_counts(self.store, start, end, minutes, self.service_level_seconds)

def _role(account: Any) -> str:
    return str(getattr(account.role, "value", account.role))
