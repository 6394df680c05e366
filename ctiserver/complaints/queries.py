"""The SQL of the complaint early warning (tables of migration 006), run on a pooled connection.

Each function takes the connection the store lends (``Store.run``), so this package never
imports the driver. Every change of a threshold and every acknowledgement is written with its
audit row in one transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ctiserver.apischema import ANY_OBJ, BOOL, INT, NUM, STR, TIME, enum, nullable, obj
from ctiserver.complaints.periods import MEASURES, PERIODS

# A complaint counts once it is written up and sent on: a draft may still change category.
WRITTEN = "status IS NOT NULL AND status <> 'draft'"
THRESHOLD_COLUMNS = (
    "name",
    "measure",
    "period",
    "category",
    "subcategory",
    "queue",
    "limit_value",
    "min_answered",
    "enabled",
)


# The schemas of threshold_json(), warning_json() and audit()'s entries.
THRESHOLD = obj(
    {"id": INT, "name": STR, "measure": enum(*MEASURES), "period": enum(*PERIODS), "category": STR,
     "subcategory": nullable(STR), "queue": nullable(STR), "limit": NUM, "min_answered": INT, "enabled": BOOL,
     "created_by": STR, "created_at": TIME, "updated_by": STR, "updated_at": TIME, "version": INT},
    closed=True,
)
WARNING = obj(
    {"id": INT, "threshold_id": INT, "name": STR, "measure": enum(*MEASURES), "period": enum(*PERIODS),
     "category": STR, "subcategory": nullable(STR), "queue": nullable(STR), "period_start": TIME,
     "period_end": TIME, "complaints": INT, "answered": INT, "value": NUM, "limit": NUM, "raised_at": TIME,
     "late": BOOL, "acknowledged_by": nullable(STR), "acknowledged_at": nullable(TIME),
     "ack_comment": nullable(STR)},
    closed=True,
)
AUDIT_ENTRY = obj({"id": INT, "at": TIME, "actor": STR, "action": STR, "target_id": INT, "data": ANY_OBJ},
                  closed=True)


def threshold_json(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "name": r["name"],
        "measure": r["measure"],
        "period": r["period"],
        "category": r["category"],
        "subcategory": r["subcategory"],
        "queue": r["queue"],
        "limit": r["limit_value"],
        "min_answered": r["min_answered"],
        "enabled": r["enabled"],
        "created_by": r["created_by"],
        "created_at": r["created_at"].isoformat(),
        "updated_by": r["updated_by"],
        "updated_at": r["updated_at"].isoformat(),
        "version": r["version"],
    }


def warning_json(r: Any) -> dict[str, Any]:
    at = r["acknowledged_at"]
    return {
        "id": r["id"],
        "threshold_id": r["threshold_id"],
        "name": r["name"],
        "measure": r["measure"],
        "period": r["period"],
        "category": r["category"],
        "subcategory": r["subcategory"],
        "queue": r["queue"],
        "period_start": r["period_start"].isoformat(),
        "period_end": r["period_end"].isoformat(),
        "complaints": r["complaints"],
        "answered": r["answered"],
        "value": r["value"],
        "limit": r["limit_value"],
        "raised_at": r["raised_at"].isoformat(),
        # read after its period was over (PostgreSQL was away at its end, say)
        "late": r["raised_at"] >= r["period_end"],
        "acknowledged_by": r["acknowledged_by"],
        "acknowledged_at": at.isoformat() if at else None,
        "ack_comment": r["ack_comment"],
    }


_WARNING_SELECT = (
    "SELECT w.*, t.name, t.measure, t.period, t.category, t.subcategory, t.queue "
    "FROM complaint_warnings w JOIN complaint_thresholds t ON t.id = w.threshold_id"
)


async def thresholds(conn: Any, enabled_only: bool = False) -> list[dict[str, Any]]:
    where = " WHERE enabled" if enabled_only else ""
    rows = await conn.fetch(f"SELECT * FROM complaint_thresholds{where} ORDER BY id")
    return [threshold_json(r) for r in rows]


async def create_threshold(
    conn: Any, fields: dict[str, Any], actor: str
) -> dict[str, Any]:
    async with conn.transaction():
        names = list(fields)
        row = await conn.fetchrow(
            f"INSERT INTO complaint_thresholds ({', '.join(names)}, created_by, updated_by) "
            f"VALUES ({', '.join(f'${i + 1}' for i in range(len(names)))}, ${len(names) + 1}, ${len(names) + 1}) "
            "RETURNING *",
            *fields.values(),
            actor,
        )
        await _audit(
            conn, actor, "threshold_created", row["id"], {"fields": _plain(fields)}
        )
    return threshold_json(row)


async def update_threshold(
    conn: Any, threshold_id: int, fields: dict[str, Any], version: int, actor: str
) -> dict[str, Any] | None | int:
    """The changed threshold; None when there is no such one; its current version when ``version`` is stale."""
    async with conn.transaction():
        current = await conn.fetchrow(
            "SELECT * FROM complaint_thresholds WHERE id = $1 FOR UPDATE", threshold_id
        )
        if current is None:
            return None
        if current["version"] != version:
            return int(current["version"])
        sets = [f"{name} = ${i + 2}" for i, name in enumerate(fields)]
        args = [threshold_id, *fields.values(), actor]
        row = await conn.fetchrow(
            f"UPDATE complaint_thresholds SET {', '.join(sets + [f'updated_by = ${len(args)}'])}, "
            "updated_at = now(), version = version + 1 WHERE id = $1 RETURNING *",
            *args,
        )
        before = {k: current[k] for k in fields}
        await _audit(
            conn,
            actor,
            "threshold_changed",
            threshold_id,
            {
                "before": _plain(before),
                "after": _plain(fields),
                "version": row["version"],
            },
        )
    return threshold_json(row)


async def complaints(
    conn: Any,
    start: dt.datetime,
    end: dt.datetime,
    category: str,
    subcategory: str | None,
    queue: str | None,
) -> int:
    """The complaints written up among the work orders that came in during ``[start, end)``.

    A repeat complaint (二次投诉: reopened by an unsatisfied callback) counts twice, as seed 001
    counts an escalated complaint double: it is the same customer complaining again."""
    args: list[Any] = [start, end, category]
    cond = ""
    if subcategory:
        args.append(subcategory)
        cond += f" AND subcategory = ${len(args)}"
    if queue:
        args.append(queue)
        cond += f" AND queue = ${len(args)}"
    n = await conn.fetchval(
        "SELECT count(*) + count(*) FILTER (WHERE repeats > 0) FROM work_orders "
        f"WHERE category = $3 AND {WRITTEN} AND created_at >= $1 AND created_at < $2{cond}",
        *args,
    )
    return int(n)


async def answered(
    conn: Any, start: dt.datetime, end: dt.datetime, queue: str | None
) -> int:
    """The calls answered among those that came in during ``[start, end)`` (of one queue, or all)."""
    if queue:
        n = await conn.fetchval(
            "SELECT count(*) FROM work_orders WHERE answered_at IS NOT NULL AND created_at >= $1 "
            "AND created_at < $2 AND queue = $3",
            start,
            end,
            queue,
        )
    else:
        n = await conn.fetchval(
            "SELECT count(*) FROM work_orders WHERE answered_at IS NOT NULL AND created_at >= $1 "
            "AND created_at < $2",
            start,
            end,
        )
    return int(n)


async def raise_warning(
    conn: Any,
    threshold_id: int,
    start: dt.datetime,
    end: dt.datetime,
    complaints: int,
    answered: int,
    value: float,
    limit: float,
    at: dt.datetime,
) -> dict[str, Any] | None:
    """The new warning, or None when this threshold already fired in this period."""
    wid = await conn.fetchval(
        "INSERT INTO complaint_warnings (threshold_id, period_start, period_end, complaints, answered, value, "
        "limit_value, raised_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (threshold_id, period_start) DO NOTHING RETURNING id",
        threshold_id,
        start,
        end,
        complaints,
        answered,
        value,
        limit,
        at,
    )
    if wid is None:
        return None
    return warning_json(await conn.fetchrow(f"{_WARNING_SELECT} WHERE w.id = $1", wid))


async def warnings(
    conn: Any, *, open_only: bool = False, limit: int = 200
) -> list[dict[str, Any]]:
    where = " WHERE w.acknowledged_at IS NULL" if open_only else ""
    rows = await conn.fetch(
        f"{_WARNING_SELECT}{where} ORDER BY w.raised_at DESC, w.id DESC LIMIT $1", limit
    )
    return [warning_json(r) for r in rows]


async def acknowledge(
    conn: Any, warning_id: int, actor: str, comment: str | None, at: dt.datetime
) -> dict[str, Any] | None | str:
    """The acknowledged warning; None if there is none; "done" if someone acknowledged it already."""
    async with conn.transaction():
        wid = await conn.fetchval(
            "UPDATE complaint_warnings SET acknowledged_by = $2, acknowledged_at = $3, ack_comment = $4 "
            "WHERE id = $1 AND acknowledged_at IS NULL RETURNING id",
            warning_id,
            actor,
            at,
            comment,
        )
        if wid is None:
            exists = await conn.fetchval(
                "SELECT 1 FROM complaint_warnings WHERE id = $1", warning_id
            )
            return "done" if exists else None
        await _audit(
            conn, actor, "warning_acknowledged", warning_id, {"comment": comment}
        )
        row = await conn.fetchrow(f"{_WARNING_SELECT} WHERE w.id = $1", warning_id)
    return warning_json(row)


async def audit(conn: Any, limit: int = 200) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM complaint_audit ORDER BY at DESC, id DESC LIMIT $1", limit
    )
    return [
        {
            "id": r["id"],
            "at": r["at"].isoformat(),
            "actor": r["actor"],
            "action": r["action"],
            "target_id": r["target_id"],
            "data": r["data"],
        }
        for r in rows
    ]


async def buckets(
    conn: Any,
    period: str,
    tz: str,
    start: dt.datetime,
    end: dt.datetime,
    category: str,
    queue: str | None,
) -> tuple[list[Any], list[Any]]:
    """Complaints by (local period start, sub-category) and answered calls by local period start."""
    base: list[Any] = [period, tz, start, end]
    queue_cond = ""
    if queue:
        base.append(queue)
        queue_cond = f" AND queue = ${len(base)}"
    complaints = await conn.fetch(
        "SELECT date_trunc($1, created_at AT TIME ZONE $2) AS bucket, subcategory, count(*) AS n, "
        "count(*) FILTER (WHERE repeats > 0) AS repeats "
        f"FROM work_orders WHERE category = ${len(base) + 1} AND {WRITTEN} AND created_at >= $3 AND created_at < $4"
        f"{queue_cond} GROUP BY 1, 2 ORDER BY 1, 2",
        *base,
        category,
    )
    answered = await conn.fetch(
        "SELECT date_trunc($1, created_at AT TIME ZONE $2) AS bucket, count(*) AS n FROM work_orders "
        f"WHERE answered_at IS NOT NULL AND created_at >= $3 AND created_at < $4{queue_cond} "
        "GROUP BY 1 ORDER BY 1",
        *base,
    )
    return list(complaints), list(answered)


async def _audit(
    conn: Any, actor: str, action: str, target: int, data: dict[str, Any]
) -> None:
    await conn.execute(
        "INSERT INTO complaint_audit (actor, action, target_id, data) VALUES ($1, $2, $3, $4)",
        actor,
        action,
        target,
        data,
    )


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    return {("limit" if k == "limit_value" else k): v for k, v in fields.items()}
