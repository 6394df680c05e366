"""Complaint early warning, reports and the customer record over a large work-order table.

Fills its own database (cti_bench_complaints on the project's PostgreSQL) with --rows work
orders over the last --days days (a tenth of them complaints, most answered calls, some closed
with a due time, callbacks in the history), then times, --runs times each:

  * baseline: counting one month of work orders by the index of their start (the least any
    monthly figure must read);
  * evaluate: every enabled threshold read once (count and rate, per day, week and month, one
    per queue too: 8 thresholds), as after each complaint and every minute;
  * report: the reports page's tables over the last 30 days;
  * stats: complaint statistics by day over --days days;
  * customer: one page of the customer with the most calls.

Prints p50/p99 in ms and each as a multiple of the baseline's p50; --plans prints the query
plans of the threshold counts.

    .venv/bin/python bench/complaints.py --rows 1000000 --days 90 --runs 20
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADMIN = SimpleNamespace(id="9000", role="admin")
DB = "cti_bench_complaints"

FILL = """
INSERT INTO work_orders (linkedid, ref, created_at, updated_at, caller_number, caller_key, customer_id, queue,
                         answered_at, channel, category, subcategory, status, repeats, closed_at, due_at,
                         satisfaction)
SELECT 'b.' || g, 'WO-B-' || lpad(g::text, 8, '0'), t, t, k, k,
       CASE WHEN g % 50 = 0 THEN 1 + g % 5 END,
       CASE WHEN g % 4 = 0 THEN 'vip' ELSE 'support' END,
       CASE WHEN g % 7 <> 0 THEN t + interval '20 seconds' END,
       'call',
       CASE WHEN g % 10 = 0 THEN 'complaint' WHEN g % 10 < 6 THEN 'consultation' ELSE 'suggestion' END,
       CASE WHEN g % 10 = 0 THEN (ARRAY['service', 'fees', 'waiting', 'fault'])[1 + g % 4] END,
       CASE WHEN g % 3 = 0 THEN NULL WHEN g % 3 = 1 THEN 'closed' ELSE 'submitted' END,
       CASE WHEN g % 97 = 0 THEN 1 ELSE 0 END,
       CASE WHEN g % 3 = 1 THEN t + interval '2 days' END,
       CASE WHEN g % 3 <> 0 THEN t + (g % 5) * interval '1 day' END,
       CASE WHEN g % 3 = 1 THEN 'satisfied' END
FROM (SELECT g, now() - ($2::float8 * random()) * interval '1 day' AS t,
             '138' || lpad((g % 200000)::text, 8, '0') AS k
      FROM generate_series($1::bigint + 1, $1::bigint + $3::bigint) g) s
"""

CALLBACKS = """
INSERT INTO work_order_history (op_id, linkedid, at, actor, role, action, from_status, to_status, version, data)
SELECT gen_random_uuid(), linkedid, closed_at - interval '1 hour', '1001', 'agent', 'callback', 'completed',
       'closed', 5, jsonb_build_object('satisfaction', CASE WHEN id % 11 = 0 THEN 'unsatisfied' ELSE 'satisfied' END)
FROM work_orders WHERE status = 'closed' AND id % 5 = 0
"""


async def database() -> str:
    import asyncpg

    from ctiserver.app import local_database
    from ctiserver.store import Store

    base = await asyncio.to_thread(local_database)
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {DB}")
    finally:
        await conn.close()
    dsn = base.rsplit("/", 1)[0] + "/" + DB
    store = await Store.open(dsn)
    try:
        await store.migrate()
        await store.seed_demo()
    finally:
        await store.close()
    return dsn


async def fill(dsn: str, rows: int, days: int) -> float:
    import asyncpg

    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        chunk = 200_000
        for first in range(0, rows, chunk):
            await conn.execute(FILL, first, float(days), min(chunk, rows - first))
        await conn.execute(CALLBACKS)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def timed(runs: int, fn) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    from ctiserver.complaints.service import ComplaintWatch
    from ctiserver.customers.records import CustomerRecords
    from ctiserver.reports.service import Reports
    from ctiserver.store import Store

    dsn = await database()
    seconds = await fill(dsn, args.rows, args.days)
    print(f"filled {args.rows:,} work orders over {args.days} days in {seconds:.1f} s")
    store = await Store.open(dsn)

    class Quiet:
        def publish(self, *a: object) -> None:
            pass

    categories = {
        "complaint": ("service", "fees", "waiting", "fault"),
        "consultation": (),
        "suggestion": (),
    }
    watch = ComplaintWatch(
        store,
        Quiet(),
        categories=categories,
        queues=("support", "vip"),
        timezone="Asia/Shanghai",
    )
    for measure, limit in (("count", 10**6), ("rate", 0.99)):
        for period in ("day", "week", "month"):
            await watch.create(
                ADMIN,
                {
                    "name": f"{measure} {period}",
                    "measure": measure,
                    "period": period,
                    "limit": limit,
                },
            )
        await watch.create(
            ADMIN,
            {
                "name": f"{measure} vip month",
                "measure": measure,
                "period": "month",
                "limit": limit,
                "queue": "vip",
                "subcategory": "fees",
            },
        )
    await watch.idle()
    reports = Reports(store, timezone="Asia/Shanghai")
    records = CustomerRecords(store)
    today = dt.date.today()
    month_start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    run = store._run

    results = {
        "baseline: count a month by start": await timed(
            args.runs,
            lambda: run(
                lambda c: c.fetchval(
                    "SELECT count(*) FROM work_orders WHERE created_at >= $1",
                    month_start,
                )
            ),
        ),
        "evaluate 8 thresholds": await timed(args.runs, watch.evaluate),
        "report, last 30 days": await timed(
            args.runs,
            lambda: reports.report(ADMIN, today - dt.timedelta(days=29), today),
        ),
        f"complaint stats by day, {args.days} days": await timed(
            args.runs,
            lambda: watch.statistics(
                ADMIN,
                "day",
                today - dt.timedelta(days=args.days),
                today,
                "complaint",
                None,
            ),
        ),
        "customer page (most calls)": await timed(
            args.runs, lambda: records.history("C0001", "all", 1, 20)
        ),
    }
    base = statistics.median(results["baseline: count a month by start"])
    print(f"\n{'what':<40} {'p50 ms':>9} {'p99 ms':>9} {'x baseline':>11}")
    for name, values in results.items():
        print(
            f"{name:<40} {pct(values, 0.5):>9.1f} {pct(values, 0.99):>9.1f} {pct(values, 0.5) / base:>11.2f}"
        )
    if args.plans:
        from zoneinfo import ZoneInfo

        from ctiserver.complaints.periods import period_bounds

        start, end = period_bounds(
            "month", dt.datetime.now(dt.UTC), ZoneInfo("Asia/Shanghai")
        )
        for sql in (
            (
                "SELECT count(*) FROM work_orders WHERE category = 'complaint' AND status IS NOT NULL "
                "AND status <> 'draft' AND created_at >= $1 AND created_at < $2"
            ),
            (
                "SELECT count(*) FROM work_orders WHERE answered_at IS NOT NULL AND created_at >= $1 "
                "AND created_at < $2"
            ),
        ):
            plan = await run(
                lambda c, q=sql: c.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {q}", start, end)
            )
            print("\n" + "\n".join(r[0] for r in plan))
    await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--plans", action="store_true")
    asyncio.run(main(parser.parse_args()))
