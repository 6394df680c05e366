"""The callback scheduler with many pending callbacks: time per scheduling decision (on demand).

10,000 callbacks (by default) wait in 4 queues, each at its caller's join time, one in ten waiting
for a retry. A decision is what the server does when something changes in a queue (a caller joins
or is answered, an agent becomes ready): which callbacks' turn it is, given the earliest caller
still waiting and the ready agents, then taking the chosen one out of the line (and, to keep the
load steady, a new request joining the line). It is timed for the server's sorted lines
(``scheduler.decide``) and, in the same run on the same sequence of situations, for a scan of every
pending callback (``scheduler.decide_by_scan``, what a plain list would need): the baseline.

    .venv/bin/python bench/callbacks.py [--pending 10000] [--queues 4] [--decisions 20000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ctiserver.callbacks.model import Callback
from ctiserver.callbacks.scheduler import Line, decide, decide_by_scan


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))]


def population(
    n: int, queues: list[str], rng: random.Random, now: float
) -> list[Callback]:
    return [
        Callback(
            f"cb{i}",
            rng.choice(queues),
            "13800138000",
            now - rng.uniform(0, 3600),
            now,
            not_before=now + 60 if rng.random() < 0.1 else 0.0,
        )
        for i in range(n)
    ]


def situations(
    k: int, queues: list[str], rng: random.Random, now: float
) -> list[tuple[str, float | None, list[str]]]:
    """(queue, earliest waiting caller's join time or None, ready agents) per decision."""
    return [
        (
            rng.choice(queues),
            None if rng.random() < 0.5 else now - rng.uniform(0, 3600),
            [f"PJSIP/{1000 + j}" for j in range(rng.choice((0, 1, 1, 2)))],
        )
        for _ in range(k)
    ]


def run(
    kind: str, pending: list[Callback], cases: list, fresh: list[Callback], now: float
) -> list[float]:
    callbacks = {cb.id: cb for cb in pending}
    lines: dict[str, Line] = {}
    for cb in pending:
        lines.setdefault(cb.queue, Line()).add(cb)
    newcomers = iter(fresh)
    times: list[float] = []
    for queue, waiting, ready in cases:
        t0 = time.perf_counter_ns()
        if kind == "line":
            turns = decide(lines[queue], callbacks, waiting, ready, now)
        else:
            turns = decide_by_scan(callbacks.values(), queue, waiting, ready, now)
        for turn in turns:
            cb = callbacks.pop(turn.callback)
            lines[cb.queue].remove(cb)
            new = next(newcomers)
            callbacks[new.id] = new
            lines.setdefault(new.queue, Line()).add(new)
        times.append((time.perf_counter_ns() - t0) / 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pending", type=int, default=10_000)
    ap.add_argument("--queues", type=int, default=4)
    ap.add_argument("--decisions", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    now = time.time()
    queues = [f"q{i}" for i in range(args.queues)]
    pending = population(args.pending, queues, rng, now)
    cases = situations(args.decisions, queues, rng, now)
    fresh = [
        Callback(
            f"new{i}", rng.choice(queues), "13800138000", now - rng.uniform(0, 60), now
        )
        for i in range(args.decisions * 2 + 10)
    ]
    # the baseline first, then the lines, on the same situations (each from the same population)
    base = run("scan", pending, cases, fresh, now)
    line = run("line", pending, cases, fresh, now)
    print(
        f"callback scheduler: {args.pending:,} pending in {args.queues} queues, {args.decisions:,} decisions "
        f"(10 % waiting for a retry; 0-2 ready agents; half with an earlier caller waiting)\n"
    )
    print("| scheduler | p50 µs | p99 µs | max µs | p50 vs scan | p99 vs scan |")
    print("|---|---|---|---|---|---|")
    for name, t in (
        ("scan of every pending callback (baseline)", base),
        ("sorted lines (the server's)", line),
    ):
        print(
            f"| {name} | {pct(t, 50):.1f} | {pct(t, 99):.1f} | {max(t):.1f} | "
            f"{pct(t, 50) / pct(base, 50):.3f} | {pct(t, 99) / pct(base, 99):.3f} |"
        )


if __name__ == "__main__":
    main()
