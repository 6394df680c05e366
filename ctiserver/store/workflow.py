"""Reads for the work-order lifecycle: one row by key, its history, the task bar, the overdue list.

Each query is shaped for a partial index of migration 004 (open states only), so the task
bar and the overdue scan stay fast however many closed work orders pile up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from ctiserver.store.models import HistoryEntry

OPEN = ("submitted", "accepted", "assigned", "in_progress", "completed")


def key_condition(id_or_ref: str | int) -> tuple[str, Any]:
    """The WHERE clause (on ``w``) and argument for a numeric id, a reference (WO-...) or a linkedid."""
    key = str(id_or_ref).strip()
    if key.isdigit() and len(key) < 19:
        return "w.id = $1", int(key)
    if key.upper().startswith("WO-"):
        return "w.ref = $1", key.upper()
    return "w.linkedid = $1", key


async def history(conn: asyncpg.Connection, linkedid: str) -> list[HistoryEntry]:
    """Every change of one work order, oldest first (the order they were applied)."""
    rows = await conn.fetch("SELECT id, at, actor, role, action, from_status, to_status, version, comment, data "
                            "FROM work_order_history WHERE linkedid = $1 ORDER BY id", linkedid)
    return [HistoryEntry(r["id"], r["at"], r["actor"], r["role"], r["action"], r["from_status"], r["to_status"],
                         r["version"], r["comment"], r["data"] or {}) for r in rows]


async def waiting(conn: asyncpg.Connection, select: str, account_id: str, departments: list[str], center: bool,
                  limit: int) -> list[asyncpg.Record]:
    """What waits for one person, soonest due first.

    Open work of their departments not taken by someone else, what is assigned to them, the
    callbacks of what they submitted; for the center (supervisors) also every callback due and
    what was submitted to no department. Each part is read in due order from its own index
    (migrations 004, 005) and stops at ``limit`` rows, one department at a time, so a department
    with tens of thousands of open work orders costs what one with a hundred does: the first
    ``limit`` of the union are among the first ``limit`` of its parts.
    """
    order = "ORDER BY due_at NULLS LAST, id LIMIT $3"
    parts = [
        "SELECT p.id FROM unnest($1::text[]) AS d(name), LATERAL (SELECT id, due_at FROM work_orders "
        "WHERE department = d.name AND status IN ('submitted', 'accepted', 'assigned', 'in_progress') "
        f"AND (assignee IS NULL OR assignee = $2) {order}) AS p",
        f"SELECT id FROM work_orders WHERE status IN ('accepted', 'assigned', 'in_progress') AND assignee = $2 {order}",
        f"SELECT id FROM work_orders WHERE status = 'completed' AND submitted_by = $2 {order}",
    ]
    if center:
        parts += [f"SELECT id FROM work_orders WHERE status = 'completed' {order}",
                  f"SELECT id FROM work_orders WHERE status = 'submitted' AND department IS NULL {order}"]
    union = " UNION ".join(f"({p})" for p in parts)
    return await conn.fetch(f"{select} WHERE w.id IN ({union}) ORDER BY w.due_at NULLS LAST, w.id LIMIT $3",
                            departments, account_id, limit)


async def overdue(conn: asyncpg.Connection, select: str, now: dt.datetime, account_id: str | None,
                  departments: list[str], limit: int, since: dt.datetime | None = None) -> list[asyncpg.Record]:
    """Open work orders past due at ``now`` (due after ``since`` when given), most overdue first.

    ``account_id`` None lists everyone's; otherwise those of the person's departments, assigned
    to them or submitted by them.
    """
    cond = f"w.status IN ({', '.join(repr(s) for s in OPEN)}) AND w.due_at < $1 AND w.due_at > $2"
    args: list[Any] = [now, since or dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), limit]
    if account_id is not None:
        args += [departments, account_id]
        cond += " AND (w.department = ANY($4::text[]) OR w.assignee = $5 OR w.submitted_by = $5)"
    return await conn.fetch(f"{select} WHERE {cond} ORDER BY w.due_at, w.id LIMIT $3", *args)
