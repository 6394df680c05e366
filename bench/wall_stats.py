"""The wall display's refresh and the day's queue figures with a real center's day in PostgreSQL.

    .venv/bin/python bench/wall_stats.py [--sizes 10000,100000,200000] [--runs 10] [--history 500000]

For each size, that many work orders of today (5 queues, 80 % answered, 13 % abandoned, 4 % no
agent, the rest still waiting; 2 in 7 of the abandoned ones called back, 10 % surveyed) beside ``--history`` work
orders of the 30 days before, then, each ``--runs`` times:

- before: the old code path, kept here only as the baseline: every work order of the day (and
  of the chart's hours) read into Python and folded by the pure functions (``queue_days`` over
  ``with_callbacks``, ``intervals``, ``survey_figures``, ``callback_figures``);
- after: what the server runs now, PostgreSQL counting (``StatsService.queues_day`` and
  ``StatsService.intervals``, ctiserver/stats/day_queries.py).

"wall refresh" is what ``Wallboard.refresh_day`` does every ``refresh_seconds`` (the day's queues
and the chart); "GET /api/stats/queues" is the service call behind that route. It prints p50/p99
of the elapsed time and the CPU the server's code spends per refresh (this process's CPU: the
event loop's share; PostgreSQL's own CPU is in its processes), after as a ratio of before, then
checks both give the same figures and prints EXPLAIN (ANALYZE, BUFFERS) of the queue query at
the largest size. Without ``--dsn`` it uses a throwaway database (as the tests do). On demand only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pop_latency import pct
from ctiserver.callbacks.figures import callback_figures, with_callbacks
from ctiserver.callbacks.figures import empty as no_callbacks
from ctiserver.callbacks.repo import CallbackRepo
from ctiserver.config import Config
from ctiserver.stats import StatsService, day_bounds, day_queries, queue_days
from ctiserver.stats.surveys import empty as no_surveys
from ctiserver.stats.surveys import survey_figures
from ctiserver.store import Store
from ctiserver.wallboard.figures import intervals

QUEUES = ("support", "vip", "sales", "cards", "loans")
DAY = dt.datetime.now(dt.UTC).date()
START, END = day_bounds(DAY)
NOW = END - dt.timedelta(minutes=1)  # late in the day: the whole day's calls are in
SL = 20.0


def orders_sql(prefix: str, n: int, first: str, span: str) -> str:
    qs = "(ARRAY[" + ", ".join(f"'{q}'" for q in QUEUES) + "])"
    return f"""
        INSERT INTO work_orders (linkedid, direction, caller_number, queue, agent_id, disposition, created_at,
            queued_at, answered_at, ended_at, wait_seconds, talk_seconds, updated_at)
        SELECT '{prefix}' || i, 'inbound', '138' || lpad(i::text, 8, '0'), {qs}[1 + i % 5], (1000 + i % 2000)::text,
            CASE WHEN r < 0.80 THEN 'answered' WHEN r < 0.93 THEN 'abandoned' WHEN r < 0.97 THEN 'no_agent' END,
            created, created, CASE WHEN r < 0.80 THEN created + r2 * interval '60 seconds' END,
            CASE WHEN r < 0.97 THEN created + interval '5 minutes' END, round((r2 * 60)::numeric, 3)::float8,
            CASE WHEN r < 0.80 THEN round((r3 * 600)::numeric, 3)::float8 END, created
        FROM (SELECT i, random() AS r, random() AS r2, random() AS r3,
                     {first} + (i::float8 / {n}) * {span} AS created
              FROM generate_series(1, {n}) AS i) AS g"""


async def fill(store: Store, n: int, history: int) -> None:
    await store.execute("TRUNCATE work_orders, callbacks CASCADE")
    start = f"'{START.isoformat()}'::timestamptz"
    await store.execute(
        orders_sql(
            "old-", history, f"{start} - interval '30 days'", "interval '30 days'"
        )
    )
    await store.execute(
        orders_sql(
            "wb-", n, start, f"interval '{int((NOW - START).total_seconds())} seconds'"
        )
    )
    await store.execute("""
        INSERT INTO callbacks (id, queue, number, joined_at, requested_at, linkedid, state, updated_at)
        SELECT 'cb-' || i, queue, '13800000000', created_at, created_at + interval '1 minute', linkedid,
            (ARRAY['connected', 'connected', 'failed', 'pending', 'cancelled'])[1 + i % 5],
            created_at + interval '10 minutes'
        FROM (SELECT row_number() OVER () AS i, * FROM work_orders
              WHERE disposition = 'abandoned' AND id % 7 < 2) AS w""")
    await store.execute(f"""
        INSERT INTO work_order_events (op_id, linkedid, kind, at, data)
        SELECT gen_random_uuid(), linkedid, 'survey', created_at + interval '6 minutes',
            jsonb_build_object('queue', queue, 'agent', agent_id, 'outcome', 'rated', 'rating', 1 + id % 5)
        FROM work_orders WHERE linkedid LIKE 'wb-%' AND answered_at IS NOT NULL AND id % 8 = 0 LIMIT {n // 10}""")
    await store.execute("ANALYZE work_orders, callbacks, work_order_events")


def chart_window(cfg: Any) -> tuple[dt.datetime, dt.datetime]:
    """As Wallboard.refresh_day takes it."""
    start = (NOW - dt.timedelta(hours=cfg.hours)).replace(second=0, microsecond=0)
    start -= dt.timedelta(minutes=start.minute % cfg.interval_minutes)
    return start, NOW + dt.timedelta(seconds=1)


async def old_queues_day(store: Store) -> list[dict]:
    """The day's queue figures as the server computed them before: every work order into Python."""
    orders = await store.work_orders_between(START, END)
    callbacks = await CallbackRepo(store).between(START - dt.timedelta(days=1), END)
    days = queue_days(with_callbacks(orders, callbacks), QUEUES, SL)
    steps = await store.events_of_kinds(("survey",), START, END, limit=1_000_000)
    surveys = survey_figures(steps, "queue")
    asked = callback_figures(
        cb for cb in callbacks if START.timestamp() <= cb.requested_at < END.timestamp()
    )
    return [
        {
            **q.to_json(),
            "survey": surveys.get(q.queue, no_surveys()),
            "callbacks": asked.get(q.queue, no_callbacks()),
        }
        for q in days
    ]


async def old_refresh(store: Store, cfg: Any) -> dict:
    queues = await old_queues_day(store)
    start, end = chart_window(cfg)
    chart = intervals(
        await store.work_orders_between(start, end),
        start,
        end,
        cfg.interval_minutes,
        SL,
    )
    return {"queues": queues, "intervals": chart}


async def new_refresh(stats: StatsService, cfg: Any) -> dict:
    queues = (await stats.queues_day(DAY))["queues"]
    start, end = chart_window(cfg)
    return {
        "queues": queues,
        "intervals": await stats.intervals(start, end, cfg.interval_minutes),
    }


async def timed(
    fn: Callable[[], Awaitable[Any]], runs: int
) -> tuple[list[float], float]:
    """(elapsed ms of each run, this process's CPU ms per run)."""
    await fn()  # warm: plans cached, pages in shared buffers for both paths alike
    elapsed = []
    cpu0 = time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        elapsed.append((time.perf_counter() - t0) * 1000)
    return elapsed, (time.process_time() - cpu0) * 1000 / runs


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--sizes",
        default="10000,100000,200000",
        help="work orders of today, comma separated",
    )
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument(
        "--history", type=int, default=500_000, help="work orders of the 30 days before"
    )
    ap.add_argument(
        "--dsn", help="an empty database to fill (default: a throwaway one)"
    )
    args = ap.parse_args()
    dsn, drop = args.dsn, None
    if dsn is None:
        from tests.support.postgres import drop_database, fresh_database, postgres_dsn

        dsn = await fresh_database(await asyncio.to_thread(postgres_dsn))
        drop = drop_database
    cfg = Config().wallboard
    store = await Store.open(dsn, pool_size=2, command_timeout=3600)
    rows = []
    try:
        await store.migrate()
        stats = StatsService(store, service_level_seconds=SL, queues=QUEUES)
        for n in (int(s) for s in args.sizes.split(",")):
            t0 = time.perf_counter()
            await fill(store, n, args.history)
            print(
                f"filled {n:,} work orders of today (+{args.history:,} before) in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            before, after = await old_refresh(store, cfg), await new_refresh(stats, cfg)
            assert before == after, "the SQL and the pure functions disagree"
            for what, old, new in (
                (
                    "wall refresh",
                    lambda: old_refresh(store, cfg),
                    lambda: new_refresh(stats, cfg),
                ),
                (
                    "GET /api/stats/queues",
                    lambda: old_queues_day(store),
                    lambda: stats.queues_day(DAY),
                ),
            ):
                o, o_cpu = await timed(old, args.runs)
                w, w_cpu = await timed(new, args.runs)
                rows.append(
                    (
                        n,
                        what,
                        pct(o, 50),
                        pct(o, 99),
                        o_cpu,
                        pct(w, 50),
                        pct(w, 99),
                        w_cpu,
                    )
                )
        print()
        print(
            "| work orders today | call | before p50 / p99 ms | before CPU ms | after p50 / p99 ms | after CPU ms "
            "| after/before p50 | after/before CPU |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|")
        for n, what, op50, op99, ocpu, np50, np99, ncpu in rows:
            print(
                f"| {n:,} | {what} | {op50:.0f} / {op99:.0f} | {ocpu:.0f} | {np50:.1f} / {np99:.1f} | {ncpu:.1f} "
                f"| {np50 / op50:.3f} | {ncpu / ocpu:.4f} |"
            )
        print("\nEXPLAIN (ANALYZE, BUFFERS) of the day's queue query at the last size:")
        plan = await store.fetch(
            f"EXPLAIN (ANALYZE, BUFFERS) {day_queries._QUEUES}",
            START,
            END,
            SL,
            START - dt.timedelta(days=1),
        )
        print("\n".join(r[0] for r in plan))
        start, end = chart_window(cfg)
        plan = await store.fetch(
            f"EXPLAIN (ANALYZE, BUFFERS) {day_queries._INTERVALS}",
            start,
            end,
            dt.timedelta(minutes=cfg.interval_minutes),
            SL,
        )
        print("\nand of the chart's:\n" + "\n".join(r[0] for r in plan))
    finally:
        await store.close()
        if drop is not None:
            await drop(dsn)


if __name__ == "__main__":
    asyncio.run(main())
