"""Work orders at scale: 1,000,000 work orders and 10,000,000 history entries in PostgreSQL, then the
time of the queries people wait on.

    .venv/bin/python bench/workorders.py [--rows 1000000] [--history 10000000] [--runs 200] [--dsn DSN]

The data is generated inside PostgreSQL (INSERT ... SELECT over generate_series, the foreign-key
triggers off for the load, the plain indexes dropped before it and built after it), with what a
center's year looks like: created over 365 days, 85 % closed, 10 % open across the lifecycle's
states (a third of those overdue), 2,000 agents, 50 handlers in three departments, 100,000
customers, requests in Chinese and English drawn from 40 phrases (one row in 10,000 carries a rare
word). Then, each ``--runs`` times with varied values, through the store's own code (the SQL the
API runs, ctiserver/workorders/search.py and ctiserver/store/workflow.py):

- baseline: one work order by primary key (``work_order_row``), measured in the same run;
- search: text (a rare word, a common one, in Chinese), caller number, customer, category and
  status, a handler's work, overdue, a week of dates, no filter (page 1 and a deep keyset page),
  an agent's own (role-scoped) text search;
- the task bar (a handler's, a supervisor's), one work order's history;
- the overdue scan (what fell due in the last minute), the supervisor's overdue list, the amber scan.

It prints p50/p99 in milliseconds and p99 as a ratio of the baseline's p99, then EXPLAIN (ANALYZE,
BUFFERS) of one run of each. Without ``--dsn`` it starts a throwaway PostgreSQL (scripts/pg.sh, as
the tests do) and removes it at the end. On demand only: never part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pop_latency import pct
from ctiserver.config import Config
from ctiserver.store import (
    Store,
    workflow,
)
from ctiserver.store.store import _WO_SELECT
from ctiserver.workorders import search
from ctiserver.workorders import settings as wo_settings

PHRASES = ["重复收费", "信用卡年费", "转账失败", "ATM吞卡", "网银登录不了", "手机银行闪退", "密码重置", "挂失补卡",
           "贷款利率", "存款证明", "外汇汇率", "理财产品到期", "积分兑换", "短信通知没收到", "账户冻结", "柜台排队太久",
           "服务态度差", "营业时间", "分行地址", "对账单", "charged twice", "card blocked", "transfer failed",
           "ATM kept my card", "online banking login", "app crashes", "reset password", "lost card", "loan rate",
           "statement missing", "exchange rate", "fees too high", "waiting too long", "rude staff", "opening hours",
           "branch address", "SMS not received", "account frozen", "points redeem", "deposit certificate"]
RARE = "罕见关键词"
CATEGORIES = ["consultation", "complaint", "suggestion", "praise", "fault_report", "business_request"]
OPEN = ["submitted", "accepted", "assigned", "in_progress", "completed"]


def q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def load_sql(rows: int, history: int) -> list[tuple[str, str]]:
    phrases = "(ARRAY[" + ", ".join(q(p) for p in PHRASES) + "])"
    cats = "(ARRAY[" + ", ".join(q(c) for c in CATEGORIES) + "])"
    opens = "(ARRAY[" + ", ".join(q(s) for s in OPEN) + "])"
    per = max(1, history // rows)
    return [
        ("customers (100,000)", """
            INSERT INTO customers (customer_no, name, class)
            SELECT 'B' || lpad(i::text, 7, '0'), '客户' || i, CASE WHEN i % 10 = 0 THEN 'vip' ELSE 'ordinary' END
            FROM generate_series(1, 100000) AS i"""),
        (f"work_orders ({rows:,})", f"""
            INSERT INTO work_orders (linkedid, ref, direction, caller_number, caller_key, customer_id, customer_class,
                queue, agent_id, call_state, disposition, created_at, updated_at, answered_at, ended_at, category,
                urgency, department, summary, status, channel, request, answer, notes, assignee, step_started_at,
                due_at, submitted_by, submitted_at, closed_at, version)
            SELECT 'bench-' || i, 'WO-B' || lpad(i::text, 9, '0'), 'inbound', phone, phone,
                CASE WHEN i % 3 = 0 THEN 1 + (i::bigint * 7) % 100000 END, CASE WHEN i % 3 = 0 THEN 'ordinary' END,
                'support', (1000 + i % 2000)::text, 'ended', 'answered', created, created, created, created,
                {cats}[1 + i % 6], 'normal', (ARRAY['cards', 'deposits', 'audit'])[1 + i % 3],
                {phrases}[1 + (r2 * 39)::int],
                CASE WHEN r < 0.85 THEN 'closed' WHEN r < 0.88 THEN 'withdrawn' WHEN r < 0.90 THEN NULL
                     ELSE {opens}[1 + ((r - 0.90) * 50)::int % 5] END,
                'call',
                {phrases}[1 + (r2 * 39)::int] || '，' || {phrases}[1 + (r3 * 39)::int]
                    || CASE WHEN i % 10000 = 0 THEN '，' || {q(RARE)} ELSE '' END || '。客户编号 ' || i,
                {phrases}[1 + (r3 * 39)::int] || ' — answered on the call',
                CASE WHEN i % 4 = 0 THEN {phrases}[1 + (r4 * 39)::int] END,
                CASE WHEN r >= 0.90 AND (r - 0.90) * 50 >= 1 THEN 'h' || (i % 50) END,
                created,
                CASE WHEN r >= 0.90 THEN now() + (r4 * 10 - 3) * interval '1 day' ELSE created + interval '3 days' END,
                (1000 + i % 2000)::text, created,
                CASE WHEN r < 0.88 THEN created + interval '2 days' END,
                {per}
            FROM (SELECT i, random() AS r, random() AS r2, random() AS r3, random() AS r4,
                         '1' || lpad(((i::bigint * 7919) % 300000)::text, 10, '3') AS phone,
                         now() - ({rows} - i)::float / {rows} * interval '365 days' AS created
                  FROM generate_series(1, {rows}) AS i) AS g"""),
        (f"work_order_history ({rows * per:,})", f"""
            INSERT INTO work_order_history (op_id, linkedid, at, actor, role, action, from_status, to_status, version,
                                            comment)
            SELECT lpad(to_hex(n), 32, '0')::uuid, 'bench-' || w, now() - (n % 1000) * interval '1 hour',
                   (1000 + w % 2000)::text, 'agent', 'note', 'submitted', 'submitted', v, 'step ' || v
            FROM generate_series(1, {rows}) AS w, generate_series(1, {per}) AS v, LATERAL (SELECT (w - 1) * {per} + v AS n) x"""),
    ]


async def plain_indexes(conn: Any) -> list[tuple[str, str]]:
    """The indexes of the two big tables that back no constraint: (name, CREATE INDEX statement)."""
    rows = await conn.fetch("""
        SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
        FROM pg_index i WHERE i.indrelid IN ('work_orders'::regclass, 'work_order_history'::regclass)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""")
    return [(r["name"], r["def"]) for r in rows]


async def load(store: Store, rows: int, history: int) -> list[tuple[str, float]]:
    timings = []

    async def go(conn: Any) -> None:
        await conn.execute("SET maintenance_work_mem = '512MB'; SET work_mem = '64MB'; "
                           "SET session_replication_role = replica")  # the foreign-key triggers off for the load
        indexes = await plain_indexes(conn)
        for name, _ in indexes:
            await conn.execute(f"DROP INDEX {name}")
        for what, sql in load_sql(rows, history):
            t = time.perf_counter()
            await conn.execute(sql)
            timings.append((f"insert {what}", time.perf_counter() - t))
            print(f"  {timings[-1][0]}: {timings[-1][1]:.1f} s", flush=True)
        await conn.execute("SET session_replication_role = origin")
        for name, ddl in indexes:
            t = time.perf_counter()
            await conn.execute(ddl)
            timings.append((f"index {name}", time.perf_counter() - t))
            print(f"  {timings[-1][0]}: {timings[-1][1]:.1f} s", flush=True)
        t = time.perf_counter()
        for table in ("work_orders", "work_order_history", "customers"):
            await conn.execute(f"VACUUM ANALYZE {table}")
        timings.append(("vacuum analyze", time.perf_counter() - t))

    await store._run(go)
    return timings


class Person:
    """Who searches: an account id, a role, the departments they handle."""

    def __init__(self, id: str, role: str, departments: tuple[str, ...] = ()) -> None:
        self.id, self.role, self.departments = id, role, departments


class Actions:
    """What WorkOrderSearch asks of the work-order service: the settings, the clock, departments, views."""

    def __init__(self, settings: Any, now: dt.datetime) -> None:
        self.settings = settings
        self.now = lambda: now

    def my_departments(self, person: Person) -> list[str]:
        return list(person.departments)

    def view(self, data: dict, account: Any = None) -> dict:
        return data


class Planning:
    """The store for one run of a search: each query it sends is run, and its plan kept."""

    def __init__(self, store: Store, conn: Any) -> None:
        self.store, self.conn, self.plans = store, conn, []

    async def search_work_orders(self, condition: str, args: list[Any]) -> list[Any]:
        plan = await self.conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {_WO_SELECT} WHERE {condition}", *args)
        self.plans += ["(query)"] + [r[0] for r in plan]
        return await self.store.search_work_orders(condition, args)


class Explaining:
    """Stands in for a connection: ``fetch`` returns the plan of the query instead of its rows."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[str]:
        rows = await self.conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
        return [r[0] for r in rows]


def cases(settings: Any, rows: int, now: dt.datetime) -> dict[str, Any]:
    """Each measured query: a function of a random generator giving (label, coroutine factory for store, explain)."""
    common = ["重复收费", "charged twice", "转账失败", "ATM吞卡", "fees too high"]

    def searched(params: dict[str, str], account: str | None = None, departments: tuple[str, ...] = ()) -> Any:
        who = Person(account or "1900", "agent" if account else "supervisor", tuple(departments))
        return search.parse(params, settings, now), who

    deep_after = search.cursor_of(now - dt.timedelta(days=200), rows // 2)
    return {
        "baseline: one by primary key": lambda r: ("pk", r.randint(1, rows)),
        "search: rare word (1 in 10,000)": lambda r: ("search", searched({"q": RARE})),
        "search: common words": lambda r: ("search", searched({"q": r.choice(common)})),
        "search: caller number": lambda r: ("search", searched({"caller": "1" + str((r.randint(1, rows) * 7919) % 300000).rjust(10, "3")})),
        "search: customer": lambda r: ("search", searched({"customer": f"B{r.randint(1, 100000):07d}"})),
        "search: category + status": lambda r: ("search", searched({"category": r.choice(CATEGORIES),
                                                                    "status": r.choice(OPEN)})),
        "search: a handler's": lambda r: ("search", searched({"handler": f"h{r.randint(0, 49)}"})),
        "search: overdue": lambda r: ("search", searched({"overdue": "true"})),
        "search: a week of dates": lambda r: ("search", searched(
            {"from": (now.date() - dt.timedelta(days=r.randint(7, 300))).isoformat(),
             "to": (now.date() - dt.timedelta(days=r.randint(0, 6))).isoformat()})),
        "search: no filter, page 1": lambda r: ("search", searched({})),
        "search: no filter, deep keyset page": lambda r: ("search", searched({"after": deep_after})),
        "search: an agent's own, by text": lambda r: ("search", searched({"q": r.choice(common)},
                                                                        str(1000 + r.randint(0, 1999)))),
        "search: a handler's department, status": lambda r: ("search", searched(
            {"status": "submitted,accepted"}, f"h{r.randint(0, 49)}", (r.choice(["cards", "deposits", "audit"]),))),
        "task bar: a handler": lambda r: ("tasks", f"h{r.randint(0, 49)}", [r.choice(["cards", "deposits", "audit"])],
                                          False),
        "task bar: a supervisor": lambda r: ("tasks", "1900", [], True),
        "history of one": lambda r: ("history", f"bench-{r.randint(1, rows)}"),
        "overdue scan (last minute)": lambda r: ("overdue", now, now - dt.timedelta(minutes=1), 500),
        "overdue list (supervisor)": lambda r: ("overdue", now, None, 200),
        "amber scan (due in the next 2 days)": lambda r: ("overdue", now + dt.timedelta(days=2), now, 1000),
    }


async def run_one(store: Store, spec: tuple, conn: Any = None) -> Any:
    kind = spec[0]
    if kind == "pk":
        if conn is not None:
            return await Explaining(conn).fetch(f"{_WO_SELECT} WHERE w.id = $1", spec[1])
        return await store.work_order_row(spec[1])
    if kind == "search":
        flt, who = spec[1]
        actions = Actions(SETTINGS, NOW)
        if conn is not None:
            planning = Planning(store, conn)
            await search.WorkOrderSearch(planning, actions)._rows(who, flt, flt.limit + 1)
            return planning.plans
        return await search.WorkOrderSearch(store, actions)._rows(who, flt, flt.limit + 1)
    if kind == "tasks":
        _, account, departments, center = spec
        if conn is not None:
            return await workflow.waiting(Explaining(conn), _WO_SELECT, account, departments, center, 100)
        return await store.work_orders_waiting(account, departments, center=center, limit=100)
    if kind == "history":
        if conn is not None:
            return await Explaining(conn).fetch(
                "SELECT id, at, actor, role, action, from_status, to_status, version, comment, data "
                "FROM work_order_history WHERE linkedid = $1 ORDER BY id", spec[1])
        return await store.work_order_history(spec[1])
    if kind == "overdue":
        _, now, since, limit = spec
        if conn is not None:
            return await workflow.overdue(Explaining(conn), _WO_SELECT, now, None, [], limit, since)
        return await store.overdue_work_orders(now, since=since, limit=limit)
    raise ValueError(kind)


SETTINGS = wo_settings.build(Config().workorders)
NOW = dt.datetime.now(dt.UTC)


async def explain(store: Store, spec: tuple, conn: Any) -> Any:
    return await run_one(store, spec, conn)


async def measure(store: Store, rows: int, runs: int) -> list[tuple[str, list[float], list[str], int]]:
    settings, now = SETTINGS, NOW
    rng = random.Random(42)
    out = []
    for label, make in cases(settings, rows, now).items():
        times, found = [], 0
        for _ in range(3):  # warm the cache a little, as a running server's is
            await run_one(store, make(rng))
        for _ in range(runs):
            spec = make(rng)
            t = time.perf_counter()
            result = await run_one(store, spec)
            times.append((time.perf_counter() - t) * 1000)
            found += len(result) if isinstance(result, list) else int(result is not None)
        plan = await store._run(functools.partial(explain, store, make(rng)))
        out.append((label, times, plan, found // runs))
    return out


def report(results: list[tuple[str, list[float], list[str], int]], timings: list[tuple[str, float]], rows: int,
           history: int) -> None:
    if timings:
        print(f"\nLoad of {rows:,} work orders and {history:,} history entries:")
    for what, seconds in timings:
        print(f"  {what:<55} {seconds:8.1f} s")
    base = pct(results[0][1], 99)
    print("\n| query | rows returned | p50 ms | p99 ms | p99 / baseline p99 |\n|---|---|---|---|---|")
    for label, times, _, found in results:
        print(f"| {label} | {found} | {pct(times, 50):.2f} | {pct(times, 99):.2f} | {pct(times, 99) / base:.1f} |")
    print("\nPlans (EXPLAIN ANALYZE, BUFFERS) of one run each:")
    for label, _, plan, _ in results:
        print(f"\n--- {label}")
        for line in plan:
            print(f"    {line}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--history", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--dsn", help="an empty database to fill (default: a throwaway cluster)")
    ap.add_argument("--measure-only", action="store_true", help="the database given by --dsn is filled already")
    args = ap.parse_args()
    dsn = args.dsn
    if dsn is None:
        from tests.support.postgres import fresh_database, postgres_dsn

        dsn = await fresh_database(await asyncio.to_thread(postgres_dsn))
    store = await Store.open(dsn, pool_size=2, command_timeout=3600)
    try:
        await store.migrate()
        timings = []
        if not args.measure_only:
            print(f"Generating {args.rows:,} work orders and {args.history:,} history entries…", flush=True)
            timings = await load(store, args.rows, args.history)
        print(f"Measuring {args.runs} runs of each query…", flush=True)
        results = await measure(store, args.rows, args.runs)
        report(results, timings, args.rows, args.history)
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
