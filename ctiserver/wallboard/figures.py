"""The wallboard's figures, pure: live queues and agents from the server's state, the day from work orders."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ctiserver.calls.model import Call

AGENT_STATES = ("ready", "ringing", "on_call", "on_hold", "wrap_up", "not_ready")


def live_queues(calls: Iterable[Call], queues: Iterable[str], now: float) -> dict[str, dict[str, Any]]:
    """Per queue: callers waiting now (queued, not answered) and the longest of their waits."""
    out: dict[str, dict[str, Any]] = {q: {"waiting": 0, "longest_wait": 0.0} for q in queues}
    for call in calls:
        if not call.queue or call.queued_at is None or call.answered_at is not None or call.ended_at is not None:
            continue
        row = out.setdefault(call.queue, {"waiting": 0, "longest_wait": 0.0})
        row["waiting"] += 1
        row["longest_wait"] = max(row["longest_wait"], round(now - call.queued_at, 1))
    return out


def agent_counts(views: Iterable[dict]) -> dict[str, int]:
    """Signed-in agents by state (supervisors and signed-out accounts are not on the floor)."""
    counted = Counter(v["state"] for v in views if v.get("state") != "logged_out" and v.get("role") == "agent")
    return {state: counted.get(state, 0) for state in AGENT_STATES}


def intervals(orders: Iterable[Any], start: dt.datetime, end: dt.datetime, minutes: int,
              service_level_seconds: float) -> list[dict[str, Any]]:
    """Calls offered per interval of ``minutes`` in ``[start, end)``, with the service level of those
    that left the queue (answered within the threshold / answered + abandoned + no agent)."""
    step = dt.timedelta(minutes=minutes)
    buckets: list[dict[str, Any]] = []
    t = start
    while t < end:
        buckets.append({"start": t.isoformat(), "offered": 0, "answered": 0, "left": 0, "within": 0})
        t += step
    for wo in orders:
        created = wo.created_at
        if not wo.queue or created is None or not start <= created < end:
            continue
        b = buckets[int((created - start) / step)]
        b["offered"] += 1
        answered = wo.answered_at is not None or wo.disposition == "answered"
        if answered:
            b["answered"] += 1
        if answered or wo.disposition in ("abandoned", "no_agent"):
            b["left"] += 1
            if answered and wo.wait_seconds is not None and wo.wait_seconds <= service_level_seconds:
                b["within"] += 1
    for b in buckets:
        b["service_level_pct"] = round(100 * b["within"] / b["left"], 1) if b["left"] else None
        del b["within"], b["left"]
    return buckets


def level(value: float | None, amber: float, red: float, *, higher_is_worse: bool = True) -> str:
    """ok / amber / red against two thresholds."""
    if value is None:
        return "ok"
    if higher_is_worse:
        return "red" if value >= red else "amber" if value >= amber else "ok"
    return "red" if value <= red else "amber" if value <= amber else "ok"
