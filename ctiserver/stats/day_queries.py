"""The day's queue figures, the wall's intervals, survey and callback counts, counted by PostgreSQL.

A busy center makes hundreds of thousands of calls a day and the wall refreshes every few
seconds: reading every work order of the day into Python for each refresh is a stall of the
event loop that grows all day. These queries return one row per queue, per interval or per
(queue, rating) instead; the server only formats them.

The definitions are the pure functions' (``queues.queue_days``, ``wallboard.figures.intervals``,
``callbacks.figures.with_callbacks`` and ``callback_figures``, ``surveys.survey_figures``), and
``tests/adapters/stats/test_day_queries.py`` checks on random days that both give exactly the
same figures. To give the same floats, the sums of waits and handle times are added in the
order the pure functions add them (``ORDER BY created_at, id`` inside the aggregate) and the
rounding to what is shown is done in Python from those sums and counts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from ctiserver.callbacks import model as m
from ctiserver.callbacks.figures import empty as no_callbacks
from ctiserver.stats.queues import QueueTotals
from ctiserver.stats.surveys import rating_figures

# The callbacks the pure function reads: requested from the day before to the end of the day, the
# last requested for a call wins. Their effect on each work order as with_callbacks defines it:
# connected -> answered (wait from the original join to the answer, whole milliseconds, halves up),
# open -> still waiting, failed or cancelled -> the work order as it is.
_QUEUES = f"""
WITH cb AS (
    SELECT DISTINCT ON (linkedid) linkedid, state, updated_at, joined_at
    FROM callbacks
    WHERE requested_at >= $4 AND requested_at < $2 AND linkedid <> ''
    ORDER BY linkedid, requested_at DESC, id DESC
), calls AS (
    SELECT w.queue, w.created_at, w.id, w.talk_seconds, w.ended_at,
        CASE WHEN cb.state = '{m.CONNECTED}' THEN 'answered'
             WHEN cb.state IN ('{m.PENDING}', '{m.RINGING}') THEN 'waiting'
             WHEN w.answered_at IS NOT NULL OR w.disposition = 'answered' THEN 'answered'
             WHEN w.disposition IN ('abandoned', 'no_agent') THEN w.disposition
             WHEN w.ended_at IS NOT NULL THEN 'abandoned'
             ELSE 'waiting' END AS kind,
        CASE WHEN cb.state = '{m.CONNECTED}'
             THEN round(greatest(0, extract(epoch FROM cb.updated_at) - extract(epoch FROM cb.joined_at)), 3)::float8
             ELSE w.wait_seconds END AS wait
    FROM work_orders w LEFT JOIN cb ON cb.linkedid = w.linkedid
    WHERE w.created_at >= $1 AND w.created_at < $2 AND w.queue <> ''
)
SELECT queue,
    count(*) AS offered,
    count(*) FILTER (WHERE kind = 'answered') AS answered,
    count(*) FILTER (WHERE kind = 'abandoned') AS abandoned,
    count(*) FILTER (WHERE kind = 'no_agent') AS no_agent,
    count(*) FILTER (WHERE kind = 'waiting') AS waiting,
    count(*) FILTER (WHERE kind = 'answered' AND wait <= $3) AS answered_within_sl,
    sum(wait ORDER BY created_at, id) FILTER (WHERE kind = 'answered') AS wait_answered_sum,
    count(wait) FILTER (WHERE kind = 'answered') AS wait_answered_n,
    max(wait) FILTER (WHERE kind <> 'waiting') AS wait_left_max,
    sum(talk_seconds ORDER BY created_at, id) FILTER (WHERE kind = 'answered' AND ended_at IS NOT NULL)
        AS handle_sum,
    count(talk_seconds) FILTER (WHERE kind = 'answered' AND ended_at IS NOT NULL) AS handle_n
FROM calls GROUP BY queue
"""

# Calls offered to a queue per interval (date_bin: whole intervals from the chart's start).
_INTERVALS = """
SELECT date_bin($3, created_at, $1) AS bucket,
    count(*) AS offered,
    count(*) FILTER (WHERE answered_at IS NOT NULL OR disposition = 'answered') AS answered,
    count(*) FILTER (WHERE answered_at IS NOT NULL OR disposition IN ('answered', 'abandoned', 'no_agent'))
        AS left_queue,
    count(*) FILTER (WHERE (answered_at IS NOT NULL OR disposition = 'answered') AND wait_seconds <= $4)
        AS within
FROM work_orders
WHERE created_at >= $1 AND created_at < $2 AND queue <> ''
GROUP BY 1
"""

_CALLBACKS = """
SELECT queue, state, count(*) AS n FROM callbacks
WHERE requested_at >= $1 AND requested_at < $2 GROUP BY queue, state
"""

# Survey steps by who (the agent or the queue the step names) and by rating when rated with a
# whole number; the pure function counts a rating only if the step's JSON holds an integer.
_SURVEYS = {
    (key, one): f"""
SELECT data->>'{key}' AS who,
    CASE WHEN data->>'outcome' = 'rated' AND jsonb_typeof(data->'rating') = 'number'
              AND data->>'rating' ~ '^-?[0-9]+$' THEN (data->>'rating')::bigint END AS rating,
    count(*) AS n
FROM work_order_events
WHERE kind = 'survey' AND at >= $1 AND at < $2 AND jsonb_typeof(data->'{key}') = 'string' AND data->>'{key}' <> ''{" AND data->>'" + key + "' = $3" if one else ""}
GROUP BY 1, 2
"""
    for key in ("agent", "queue")
    for one in (False, True)  # one: only the agent or queue given as $3
}


async def queue_totals(
    store: Any, start: dt.datetime, end: dt.datetime, service_level_seconds: float
) -> list[QueueTotals]:
    """Per queue that a call of ``[start, end)`` entered, with the callbacks' effect (as ``with_callbacks``)."""
    rows = await store.fetch(
        _QUEUES, start, end, float(service_level_seconds), start - dt.timedelta(days=1)
    )
    return [QueueTotals(**dict(r)) for r in rows]


async def interval_counts(
    store: Any,
    start: dt.datetime,
    end: dt.datetime,
    minutes: int,
    service_level_seconds: float,
) -> list[dict[str, Any]]:
    """The chart's buckets as ``wallboard.figures.intervals`` gives them, counted by PostgreSQL."""
    step = dt.timedelta(minutes=minutes)
    rows = await store.fetch(_INTERVALS, start, end, step, float(service_level_seconds))
    counted = {r["bucket"]: r for r in rows}
    buckets: list[dict[str, Any]] = []
    t = start
    while t < end:
        r = counted.get(t)
        offered, answered, left, within = (
            (r["offered"], r["answered"], r["left_queue"], r["within"])
            if r
            else (0, 0, 0, 0)
        )
        buckets.append(
            {
                "start": t.isoformat(),
                "offered": offered,
                "answered": answered,
                "service_level_pct": round(100 * within / left, 1) if left else None,
            }
        )
        t += step
    return buckets


async def callback_counts(
    store: Any, start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, int]]:
    """Per queue: callbacks requested in ``[start, end)``, as ``callback_figures`` counts them."""
    out: dict[str, dict[str, int]] = {}
    for r in await store.fetch(_CALLBACKS, start, end):
        f = out.setdefault(r["queue"], no_callbacks())
        f["requested"] += r["n"]
        state = r["state"]
        f[
            "connected"
            if state == m.CONNECTED
            else "waiting"
            if state in m.OPEN
            else "failed"
        ] += r["n"]
    return out


async def survey_counts(
    store: Any, start: dt.datetime, end: dt.datetime, key: str, who: str | None = None
) -> dict[str, dict[str, Any]]:
    """``key`` (``agent`` or ``queue``) -> survey figures of the steps asked in ``[start, end)``;
    only ``who``'s when given (an agent's panel asks for its own)."""
    counts: dict[str, dict[int | None, int]] = defaultdict(dict)
    one = who is not None
    for r in await store.fetch(_SURVEYS[key, one], start, end, *((who,) if one else ())):
        counts[r["who"]][r["rating"]] = r["n"]
    return {who: rating_figures(by_rating) for who, by_rating in counts.items()}
