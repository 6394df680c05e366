"""SQL of the reports (run on a connection the store lends): each table of the page, over ``[start, end)``.

- ``by_category_status``: work orders written up (a status) that came in during the period;
- ``on_time``: work orders closed during the period, on time when closed by their last due time
  (a closed work order keeps the due time of its last step: ctiserver/workorders/deadlines.py);
- ``satisfaction``: the callbacks (回访) made during the period, by the satisfaction recorded;
- ``repeats``: the unsatisfied callbacks of the period, each reopening a work order as a repeat
  complaint (二次投诉).
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


async def by_category_status(
    conn: Any, start: dt.datetime, end: dt.datetime
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT COALESCE(category, '') AS category, status, count(*) AS n FROM work_orders "
        "WHERE status IS NOT NULL AND created_at >= $1 AND created_at < $2 GROUP BY 1, 2 ORDER BY 1, 2",
        start,
        end,
    )
    return [
        {"category": r["category"] or None, "status": r["status"], "count": int(r["n"])}
        for r in rows
    ]


async def on_time(
    conn: Any, start: dt.datetime, end: dt.datetime
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT COALESCE(category, '') AS category, count(*) AS closed, "
        "count(*) FILTER (WHERE due_at IS NOT NULL) AS with_deadline, "
        "count(*) FILTER (WHERE due_at IS NOT NULL AND closed_at <= due_at) AS on_time "
        "FROM work_orders WHERE status = 'closed' AND closed_at >= $1 AND closed_at < $2 GROUP BY 1 ORDER BY 1",
        start,
        end,
    )
    return [
        {
            "category": r["category"] or None,
            "closed": int(r["closed"]),
            "with_deadline": int(r["with_deadline"]),
            "on_time": int(r["on_time"]),
        }
        for r in rows
    ]


async def satisfaction(
    conn: Any, start: dt.datetime, end: dt.datetime
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT COALESCE(w.category, '') AS category, COALESCE(h.data->>'satisfaction', '') AS satisfaction, "
        "count(*) AS n FROM work_order_history h JOIN work_orders w ON w.linkedid = h.linkedid "
        "WHERE h.action = 'callback' AND h.at >= $1 AND h.at < $2 GROUP BY 1, 2 ORDER BY 1, 2",
        start,
        end,
    )
    return [
        {
            "category": r["category"] or None,
            "satisfaction": r["satisfaction"] or None,
            "count": int(r["n"]),
        }
        for r in rows
    ]


async def repeats(
    conn: Any, start: dt.datetime, end: dt.datetime, limit: int = 500
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT h.at, h.actor, h.comment, w.ref, w.category, w.subcategory, w.department, w.repeats, w.status, "
        "w.caller_number, c.customer_no, c.name AS customer_name "
        "FROM work_order_history h JOIN work_orders w ON w.linkedid = h.linkedid "
        "LEFT JOIN customers c ON c.id = w.customer_id "
        "WHERE h.action = 'callback' AND h.data->>'satisfaction' = 'unsatisfied' AND h.at >= $1 AND h.at < $2 "
        "ORDER BY h.at DESC, h.id DESC LIMIT $3",
        start,
        end,
        limit,
    )
    return [
        {
            k: _iso(r[k])
            for k in (
                "at",
                "actor",
                "comment",
                "ref",
                "category",
                "subcategory",
                "department",
                "repeats",
                "status",
                "caller_number",
                "customer_no",
                "customer_name",
            )
        }
        for r in rows
    ]
