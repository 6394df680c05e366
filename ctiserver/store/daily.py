"""Reads behind the day's statistics and the desired sign-ins (run on a pooled connection).

Statistics are computed in ctiserver/stats from these rows; the SQL here only selects.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ctiserver.store.models import RingEnd, Signin, StateLogEntry

_LOG_COLUMNS = "id, agent_id, at, from_state, to_state, reason, cause, by_agent_id"


def _entry(row: asyncpg.Record) -> StateLogEntry:
    return StateLogEntry(**{k: row[k] for k in ("id", "agent_id", "at", "from_state", "to_state", "reason",
                                                 "cause", "by_agent_id")})


async def state_log(conn: asyncpg.Connection, start: datetime, end: datetime,
                    agent_id: str | None = None) -> list[StateLogEntry]:
    """Transitions with ``start <= at < end`` and, per agent, the last one before ``start`` (the
    state the agent was in at ``start``); ordered by agent, time, id.

    The last row before ``start`` is looked up (one index probe each) for every account and
    every agent with rows in the window, never by scanning the log's history.
    """
    args: list[object] = [start, end]
    cond = ""
    if agent_id is not None:
        args.append(agent_id)
        cond = f" AND agent_id = ${len(args)}"
    driver = (f"SELECT ${len(args)}::text AS agent_id" if agent_id is not None else
              "SELECT id AS agent_id FROM agents UNION "
              "SELECT DISTINCT agent_id FROM agent_state_log WHERE at >= $1 AND at < $2")
    rows = await conn.fetch(
        f"SELECT * FROM ("
        f" SELECT l.* FROM ({driver}) a CROSS JOIN LATERAL"
        f"  (SELECT {_LOG_COLUMNS} FROM agent_state_log s WHERE s.agent_id = a.agent_id AND s.at < $1"
        f"   ORDER BY s.at DESC, s.id DESC LIMIT 1) l"
        f" UNION ALL"
        f" SELECT {_LOG_COLUMNS} FROM agent_state_log WHERE at >= $1 AND at < $2{cond}"
        f") t ORDER BY agent_id, at, id", *args)
    return [_entry(r) for r in rows]


async def ring_ends(conn: asyncpg.Connection, start: datetime, end: datetime) -> list[RingEnd]:
    """The ``ring_ended`` work-order events with ``start <= at < end``, in time order."""
    rows = await conn.fetch(
        "SELECT linkedid, at, data->>'agent' AS agent, data->>'interface' AS interface, data->>'why' AS why "
        "FROM work_order_events WHERE kind = 'ring_ended' AND at >= $1 AND at < $2 ORDER BY at, id", start, end)
    return [RingEnd(r["linkedid"], r["at"], r["agent"] or None, r["interface"] or None, r["why"]) for r in rows]


async def signins(conn: asyncpg.Connection) -> list[Signin]:
    """Every agent who should be signed in, by agent id."""
    rows = await conn.fetch("SELECT agent_id, queues, paused, reason, updated_at FROM agent_signin ORDER BY agent_id")
    return [Signin(r["agent_id"], {str(k): int(v) for k, v in (r["queues"] or {}).items()}, r["paused"],
                   r["reason"], r["updated_at"]) for r in rows]
