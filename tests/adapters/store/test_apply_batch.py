"""The writer's set-wise apply gives the database the very rows the ops give one by one.

Random runs of call work-order ops and agent state ops (several calls interleaved, replays of
ops already written, a reference set twice, created_at earlier than the first sighting) are
applied once with ``apply_op`` per op and once with ``apply_ops``, on separate linkedids and
agents of the same database; the resulting work orders, history events and state logs must be
the same.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import asyncpg

from ctiserver.store import Store
from ctiserver.store.apply import apply_op, apply_ops
from ctiserver.store.ops import AgentStateOp, SigninOp, WorkOrderOp
from ctiserver.store.store import _init_connection

T0 = 1_780_000_000.0


def _call_fields(rng: random.Random, linkedid: str, step: int) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if rng.random() < 0.3:
        fields["ref"] = f"WO-{linkedid}-{rng.randrange(3)}"  # only the first reference stays
    if rng.random() < 0.3:
        fields["created_at"] = T0 + rng.randrange(-50, 50)
    if rng.random() < 0.5:
        fields["call_state"] = rng.choice(["open", "queued", "ringing", "in_call", "ended"])
    if rng.random() < 0.4:
        fields["caller_name"] = rng.choice(["张三", "Li", None, f"n{step}"])
    if rng.random() < 0.3:
        fields["wait_seconds"] = rng.randrange(100)
    if rng.random() < 0.2:
        fields["agent_id"] = rng.choice(["", "1001", None])
    if rng.random() < 0.2:
        fields["answered_at"] = T0 + step
    return fields


def _script(rng: random.Random) -> list[tuple[str, Any]]:
    """A run of abstract ops: ('call', call no, kind, fields, at), ('state', agent no, …), ('replay', index)."""
    script: list[tuple[str, Any]] = []
    for step in range(rng.randrange(1, 40)):
        roll = rng.random()
        if roll < 0.6:
            script.append(("call", (rng.randrange(4), f"k{step}", _call_fields(rng, "x", step), T0 + step)))
        elif roll < 0.85:
            script.append(("state", (rng.randrange(3), rng.choice(["ready", "not_ready"]), T0 + step)))
        elif script:
            script.append(("replay", rng.randrange(len(script))))
    return script


def _ops(script: list[tuple[str, Any]], side: str) -> list[Any]:
    ops: list[Any] = []
    for what, arg in script:
        if what == "call":
            call, kind, fields, at = arg
            linkedid = f"{side}-{call}"
            fields = {k: (f"WO-{linkedid}-{v[-1]}" if k == "ref" else v) for k, v in fields.items()}
            ops.append(WorkOrderOp(str(uuid.uuid4()), at, linkedid, kind, fields, {"step": kind}))
        elif what == "state":
            agent, state, at = arg
            ops.append(AgentStateOp(str(uuid.uuid4()), at, f"{side}{agent}", "ready", state, reason=None))
        else:
            ops.append(ops[arg] if arg < len(ops) else ops[-1])
    return ops


async def _connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)  # the store's JSON codecs, as the writer's pool has them
    return conn


async def _rows(conn: asyncpg.Connection, side: str) -> tuple[list, list, list]:
    orders = await conn.fetch(
        "SELECT substr(linkedid, 3) AS call, replace(ref, $1, '') AS ref, created_at, updated_at, call_state, "
        "caller_name, wait_seconds, agent_id, answered_at FROM work_orders WHERE linkedid LIKE $2 ORDER BY 1",
        f"{side}-", f"{side}-%")
    events = await conn.fetch(
        "SELECT substr(linkedid, 3), kind, at, data FROM work_order_events WHERE linkedid LIKE $1 ORDER BY id",
        f"{side}-%")
    states = await conn.fetch(
        "SELECT substr(agent_id, 2), at, to_state FROM agent_state_log WHERE agent_id LIKE $1 ORDER BY id",
        f"{side}%")
    return [tuple(r) for r in orders], [tuple(r) for r in events], [tuple(r) for r in states]


async def test_set_wise_apply_writes_what_op_by_op_apply_writes(store: Store, db_dsn: str) -> None:
    conn = await _connect(db_dsn)
    try:
        for seed in range(40):
            rng = random.Random(seed)
            script = _script(rng)
            one, many = f"o{seed:02d}", f"m{seed:02d}"  # distinct calls and agents per seed and side
            ops_one, ops_many = _ops(script, one), _ops(script, many)
            split = rng.randrange(len(ops_many) + 1)
            async with conn.transaction():
                for op in ops_one:
                    await apply_op(conn, op)
            async with conn.transaction():  # written in two batches, the second replaying part of the first
                await apply_ops(conn, ops_many[:split])
            async with conn.transaction():
                await apply_ops(conn, ops_many[max(0, split - 3):])
            got_one, got_many = await _rows(conn, one), await _rows(conn, many)
            assert got_many == got_one, f"seed {seed}: set-wise apply differs from op by op"
            assert got_one[1], f"seed {seed}: nothing was written"
    finally:
        await conn.close()


async def test_other_ops_keep_their_place_between_runs(seeded: Store, db_dsn: str) -> None:
    conn = await _connect(db_dsn)
    try:
        ops = [
            SigninOp.new("1001", {"support": 0}, at=T0),
            AgentStateOp.new("s1", None, "ready", at=T0 + 1),
            SigninOp.new("1001", None, at=T0 + 2),  # signed out after: no row left
            WorkOrderOp.new("s-1", "created", {"call_state": "open"}, at=T0 + 3),
        ]
        async with conn.transaction():
            await apply_ops(conn, ops)
        assert await conn.fetchval("SELECT count(*) FROM agent_signin WHERE agent_id = '1001'") == 0
        assert await conn.fetchval("SELECT to_state FROM agent_state_log WHERE agent_id = 's1'") == "ready"
        assert await conn.fetchval("SELECT call_state FROM work_orders WHERE linkedid = 's-1'") == "open"
    finally:
        await conn.close()
