"""The agents' day figures that PostgreSQL counts, so that no request reads the whole day's calls.

Each signed-in panel asks for its agent's figures every few seconds: those are read for that
agent alone (their answered calls through ``work_orders_agent``, their missed rings among the
day's), and the supervisors' table counts both per agent in SQL. The
definitions are those of ``ctiserver/stats/agents.py`` and ``surveys.py`` (docs/statistics.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ctiserver.stats.agents import MISSED_WHY

# A call counts for the agent who answered it (work_orders.agent_id), on the day it started.
_ANSWERED = ("created_at >= $1 AND created_at < $2 AND answered_at IS NOT NULL "
             "AND agent_id IS NOT NULL AND agent_id <> ''")


async def answered_by_agent(store: Any, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Calls answered per agent among the calls started in ``[start, end)``."""
    rows = await store.fetch(f"SELECT agent_id, count(*) AS n FROM work_orders WHERE {_ANSWERED} "
                             "GROUP BY agent_id", start, end)
    return {r["agent_id"]: r["n"] for r in rows}


async def answered_by(store: Any, agent_id: str, start: dt.datetime, end: dt.datetime) -> int:
    """Calls one agent answered among the calls started in ``[start, end)`` (index work_orders_agent)."""
    n = await store.fetchval(f"SELECT count(*) FROM work_orders WHERE agent_id = $3 AND {_ANSWERED}",
                             start, end, agent_id)
    return int(n or 0)


async def missed_by_agent(store: Any, start: dt.datetime, end: dt.datetime, by_interface: dict[str, str],
                          agent: str | None = None) -> dict[str, int]:
    """Missed rings per agent among the rings ended in ``[start, end)``, counted per agent (or per
    interface rung, for a ring that names no agent: the account's that has it now); only
    ``agent``'s rings when given (``by_interface`` then maps that agent's phone)."""
    only, args = "", [start, end, sorted(MISSED_WHY)]
    if agent is not None:
        args += [agent, sorted(by_interface)]
        only = ("AND (data->>'agent' = $4 OR (COALESCE(data->>'agent', '') = '' "
                "AND data->>'interface' = ANY($5::text[]))) ")
    rows = await store.fetch(
        "SELECT NULLIF(data->>'agent', '') AS agent, "
        "CASE WHEN COALESCE(data->>'agent', '') = '' THEN data->>'interface' END AS interface, count(*) AS n "
        "FROM work_order_events WHERE kind = 'ring_ended' AND at >= $1 AND at < $2 "
        f"AND data->>'why' = ANY($3::text[]) {only}GROUP BY 1, 2", *args)
    missed: dict[str, int] = {}
    for r in rows:
        who = r["agent"] or by_interface.get(r["interface"] or "")
        if who:
            missed[who] = missed.get(who, 0) + r["n"]
    return missed
