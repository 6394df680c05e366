"""The agents' day figures that PostgreSQL counts, so that no request reads the whole day's calls.

Each signed-in panel asks for its agent's figures every few seconds: those are read for that
agent alone (their answered calls through ``work_orders_agent``, their missed rings and survey
steps among the day's), and the supervisors' table counts answered calls per agent in SQL. The
definitions are those of ``ctiserver/stats/agents.py`` and ``surveys.py`` (docs/statistics.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ctiserver.stats.agents import MISSED_WHY

# A call counts for the agent who answered it (work_orders.agent_id), on the day it started.
_ANSWERED = ("created_at >= $1 AND created_at < $2 AND answered_at IS NOT NULL "
             "AND agent_id IS NOT NULL AND agent_id <> ''")


@dataclass(frozen=True)
class AgentCounts:
    answered: int
    missed: int
    surveys: list[dict[str, Any]]  # the agent's survey steps, as survey_figures reads them


async def answered_by_agent(store: Any, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Calls answered per agent among the calls started in ``[start, end)``."""
    rows = await store.fetch(f"SELECT agent_id, count(*) AS n FROM work_orders WHERE {_ANSWERED} "
                             "GROUP BY agent_id", start, end)
    return {r["agent_id"]: r["n"] for r in rows}


async def missed_by_agent(store: Any, start: dt.datetime, end: dt.datetime,
                          by_interface: dict[str, str]) -> dict[str, int]:
    """Missed rings per agent among the rings ended in ``[start, end)``, counted per agent (or per
    interface rung, for a ring that names no agent: the account's that has it now)."""
    rows = await store.fetch(
        "SELECT NULLIF(data->>'agent', '') AS agent, "
        "CASE WHEN COALESCE(data->>'agent', '') = '' THEN data->>'interface' END AS interface, count(*) AS n "
        "FROM work_order_events WHERE kind = 'ring_ended' AND at >= $1 AND at < $2 "
        "AND data->>'why' = ANY($3::text[]) GROUP BY 1, 2", start, end, sorted(MISSED_WHY))
    missed: dict[str, int] = {}
    for r in rows:
        who = r["agent"] or by_interface.get(r["interface"] or "")
        if who:
            missed[who] = missed.get(who, 0) + r["n"]
    return missed


async def day_of(store: Any, agent_id: str, interface: str, start: dt.datetime,
                 end: dt.datetime) -> AgentCounts:
    """One agent's answered calls, missed rings and survey steps of ``[start, end)``.

    A ring names its agent, or only the interface rung (then it is the account's that has it
    now), as the all-agents figures attribute it.
    """
    answered = await store.fetchval(
        f"SELECT count(*) FROM work_orders WHERE agent_id = $3 AND {_ANSWERED}", start, end, agent_id)
    missed = await store.fetchval(
        "SELECT count(*) FROM work_order_events WHERE kind = 'ring_ended' AND at >= $1 AND at < $2 "
        "AND data->>'why' = ANY($5::text[]) AND (data->>'agent' = $3 "
        "OR (COALESCE(data->>'agent', '') = '' AND $4 <> '' AND data->>'interface' = $4))",
        start, end, agent_id, interface or "", sorted(MISSED_WHY))
    rows = await store.fetch(
        "SELECT data FROM work_order_events WHERE kind = 'survey' AND at >= $1 AND at < $2 "
        "AND data->>'agent' = $3", start, end, agent_id)
    return AgentCounts(int(answered or 0), int(missed or 0), [{"data": r["data"] or {}} for r in rows])
