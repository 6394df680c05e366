"""How one op becomes rows: idempotent by op_id, run inside the writer's transaction."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import asyncpg

from ctiserver.store.ops import (CHANGE_FIELDS, WORK_ORDER_FIELDS, AgentStateOp, Op, SigninOp, WorkOrderChangeOp,
                                 WorkOrderOp)
from ctiserver.store.phones import normalize_phone


def to_datetime(value: Any) -> datetime | None:
    """An op's time (epoch seconds or ISO 8601) as an aware datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(value), timezone.utc)


def _columns(op: WorkOrderOp) -> dict[str, Any]:
    cols: dict[str, Any] = {}
    for name, value in op.fields.items():
        kind = WORK_ORDER_FIELDS[name]
        if kind == "time":
            value = to_datetime(value)
        elif name == "agent_id" and value == "":
            value = None  # an interface that is no known agent
        cols[name] = value
    if "caller_number" in cols:
        cols["caller_key"] = normalize_phone(cols["caller_number"]) or None
    return cols


async def apply_work_order(conn: asyncpg.Connection, op: WorkOrderOp) -> bool:
    """Append the op's history event and upsert the work order by linkedid; False if already applied.

    One statement, one round trip: the upsert reads the event insert's row, so a replayed op
    (its event already there) inserts nothing and changes nothing.
    """
    at = to_datetime(op.at)
    cols = _columns(op)
    created = cols.pop("created_at", None) or at
    names = ["linkedid", "created_at", "updated_at", *cols]
    values = [op.linkedid, created, at, *cols.values()]
    updates = [
        "created_at = LEAST(work_orders.created_at, EXCLUDED.created_at)",  # the earliest sighting is the start
        "updated_at = GREATEST(work_orders.updated_at, EXCLUDED.updated_at)",
    ]
    for name in cols:
        if name == "ref":
            updates.append("ref = COALESCE(work_orders.ref, EXCLUDED.ref)")  # a reference never changes
        else:
            updates.append(f"{name} = EXCLUDED.{name}")
    # Column names come from WORK_ORDER_FIELDS (checked when the op was built), never from input.
    # $1..$4 are the event's op_id, kind, at and data; the work order's values follow.
    sql = ("WITH event AS (INSERT INTO work_order_events (op_id, linkedid, kind, at, data) "
           "VALUES ($1, $5, $2, $3, $4) ON CONFLICT (op_id) DO NOTHING RETURNING id) "
           f"INSERT INTO work_orders ({', '.join(names)}) "
           f"SELECT {', '.join(f'${i}' for i in range(5, len(names) + 5))} FROM event "
           f"ON CONFLICT (linkedid) DO UPDATE SET {', '.join(updates)} RETURNING true")
    done = await conn.fetchval(sql, op.op_id, op.kind, at, op.data, *values)
    return bool(done)


async def apply_agent_state(conn: asyncpg.Connection, op: AgentStateOp) -> bool:
    """Append one agent state change; False if already applied."""
    row = await conn.fetchval(
        "INSERT INTO agent_state_log (op_id, agent_id, at, from_state, to_state, reason, cause, by_agent_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (op_id) DO NOTHING RETURNING id",
        op.op_id, op.agent_id, to_datetime(op.at), op.from_state, op.to_state, op.reason, op.cause, op.by)
    return row is not None


async def apply_signin(conn: asyncpg.Connection, op: SigninOp) -> bool:
    """Set or clear an agent's desired sign-in; an op older than the row's last write changes nothing.

    Ops arrive in order, so the time guard only matters for a journal replayed after a crash
    (the same ops again, in the same order: the result is the same).
    """
    at = to_datetime(op.at)
    if op.queues is None:
        status = await conn.execute("DELETE FROM agent_signin WHERE agent_id = $1 AND updated_at <= $2",
                                    op.agent_id, at)
    else:
        status = await conn.execute(
            "INSERT INTO agent_signin (agent_id, queues, paused, reason, updated_at) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (agent_id) DO UPDATE SET queues = EXCLUDED.queues, paused = EXCLUDED.paused, "
            "reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at "
            "WHERE agent_signin.updated_at <= EXCLUDED.updated_at",
            op.agent_id, op.queues, op.paused, op.reason, at)
    return not status.endswith(" 0")


class StaleChange(asyncpg.exceptions.CheckViolationError):
    """A change made over a version the row no longer has: refused like bad data (set aside, never lost)."""


async def apply_change(conn: asyncpg.Connection, op: WorkOrderChangeOp) -> bool:
    """Append the history entry and set the columns over ``version - 1``; False if already applied.

    The service checks the version before it submits, so a stale change here means another
    writer went around it: the change is refused (StaleChange) and kept in the rejected file.
    """
    at = to_datetime(op.at)
    entry = await conn.fetchval(
        "INSERT INTO work_order_history (op_id, linkedid, at, actor, role, action, from_status, to_status, "
        "version, comment, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        "ON CONFLICT (op_id) DO NOTHING RETURNING id",
        op.op_id, op.linkedid, at, op.actor, op.role, op.action, op.from_status, op.to_status, op.version,
        op.comment, op.data)
    if entry is None:
        return False  # a replay of a change already written
    cols: dict[str, Any] = {}
    for name, value in op.fields.items():
        cols[name] = to_datetime(value) if CHANGE_FIELDS[name] == "time" else value
    if "caller_number" in cols:
        cols["caller_key"] = normalize_phone(cols["caller_number"]) or None
    # Column names come from CHANGE_FIELDS (checked when the op was built), never from input.
    if op.create:
        cols.setdefault("created_at", at)
        names = ["linkedid", "updated_at", "version", *cols]
        values = [op.linkedid, at, op.version, *cols.values()]
        params = ", ".join(f"${i + 1}" for i in range(len(names)))
        done = await conn.fetchval(f"INSERT INTO work_orders ({', '.join(names)}) VALUES ({params}) "
                                   "ON CONFLICT (linkedid) DO NOTHING RETURNING id", *values)
    else:
        sets = [f"{name} = ${i + 4}" for i, name in enumerate(cols)]
        done = await conn.fetchval(
            f"UPDATE work_orders SET {', '.join(['version = $2', 'updated_at = GREATEST(updated_at, $3)', *sets])} "
            "WHERE linkedid = $1 AND version = $2 - 1 RETURNING id", op.linkedid, op.version, at, *cols.values())
    if done is None:
        raise StaleChange(f"work order {op.linkedid} is not at version {op.version - 1} (or already exists): "
                          f"{op.action} by {op.actor} set aside")
    return True


async def apply_ops(conn: asyncpg.Connection, ops: list[Op]) -> None:
    """Apply ops in order, as :func:`apply_op` one by one would, in a few round trips.

    A run of call work-order ops and agent state ops (nearly everything a call writes) is
    applied set-wise: every history row of the run in one statement, then one upsert per
    work order with the run's fields folded in order, sent as pipelined statements. Any other
    op ends the run and is applied alone, so ops of different kinds keep their order.
    """
    run: list[WorkOrderOp | AgentStateOp] = []
    for op in ops:
        if isinstance(op, (WorkOrderOp, AgentStateOp)):
            run.append(op)
            continue
        await _apply_run(conn, run)
        run = []
        await apply_op(conn, op)
    await _apply_run(conn, run)


async def _apply_run(conn: asyncpg.Connection, run: list[WorkOrderOp | AgentStateOp]) -> None:
    states = [op for op in run if isinstance(op, AgentStateOp)]
    if states:
        await conn.execute(
            "INSERT INTO agent_state_log (op_id, agent_id, at, from_state, to_state, reason, cause, by_agent_id) "
            "SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], "
            "$7::text[], $8::text[]) ON CONFLICT (op_id) DO NOTHING",
            [op.op_id for op in states], [op.agent_id for op in states], [to_datetime(op.at) for op in states],
            [op.from_state for op in states], [op.to_state for op in states], [op.reason for op in states],
            [op.cause for op in states], [op.by for op in states])
    calls = [op for op in run if isinstance(op, WorkOrderOp)]
    if not calls:
        return
    fresh = {str(row[0]) for row in await conn.fetch(
        "INSERT INTO work_order_events (op_id, linkedid, kind, at, data) "
        "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[]) "
        "ON CONFLICT (op_id) DO NOTHING RETURNING op_id",
        [op.op_id for op in calls], [op.linkedid for op in calls], [op.kind for op in calls],
        [to_datetime(op.at) for op in calls], [op.data for op in calls])}
    # Fold each work order's new ops in order, as the upserts one by one would: the earliest
    # start, the latest update, the first reference, otherwise the last value of each column.
    folded: dict[str, tuple[datetime, datetime, dict[str, Any]]] = {}
    for op in calls:
        if op.op_id not in fresh:
            continue  # a replay of an op already written (or of one earlier in this run)
        fresh.discard(op.op_id)
        at = to_datetime(op.at)
        cols = _columns(op)
        created = cols.pop("created_at", None) or at
        if op.linkedid in folded:
            first, last, merged = folded[op.linkedid]
            if "ref" in cols and merged.get("ref") is not None:
                del cols["ref"]
            merged.update(cols)
            folded[op.linkedid] = (min(first, created), max(last, at), merged)
        else:
            folded[op.linkedid] = (created, at, cols)
    by_columns: dict[tuple[str, ...], list[list[Any]]] = {}
    for linkedid, (created, updated, cols) in folded.items():
        by_columns.setdefault(tuple(cols), []).append([linkedid, created, updated, *cols.values()])
    for names, rows in by_columns.items():
        await conn.executemany(_upsert_sql(names), rows)


def _upsert_sql(cols: tuple[str, ...]) -> str:
    names = ["linkedid", "created_at", "updated_at", *cols]
    updates = [
        "created_at = LEAST(work_orders.created_at, EXCLUDED.created_at)",  # the earliest sighting is the start
        "updated_at = GREATEST(work_orders.updated_at, EXCLUDED.updated_at)",
    ]
    for name in cols:
        if name == "ref":
            updates.append("ref = COALESCE(work_orders.ref, EXCLUDED.ref)")  # a reference never changes
        else:
            updates.append(f"{name} = EXCLUDED.{name}")
    # Column names come from WORK_ORDER_FIELDS (checked when the op was built), never from input.
    return (f"INSERT INTO work_orders ({', '.join(names)}) "
            f"VALUES ({', '.join(f'${i}' for i in range(1, len(names) + 1))}) "
            f"ON CONFLICT (linkedid) DO UPDATE SET {', '.join(updates)}")


async def apply_op(conn: asyncpg.Connection, op: Op) -> bool:
    """Apply any op; True when it changed the database, False for a replay."""
    if isinstance(op, WorkOrderOp):
        return await apply_work_order(conn, op)
    if isinstance(op, AgentStateOp):
        return await apply_agent_state(conn, op)
    if isinstance(op, SigninOp):
        return await apply_signin(conn, op)
    if isinstance(op, WorkOrderChangeOp):
        return await apply_change(conn, op)
    raise TypeError(f"not an op: {type(op).__name__}")
