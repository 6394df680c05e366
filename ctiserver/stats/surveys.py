"""Post-call survey figures of a day, per agent and per queue: pure.

From the work orders' ``survey`` steps (``ctiserver/survey/service.py``): each names the
agent who had the call, its queue, the outcome and the rating. ``surveys`` counts every
survey asked; ``rated`` those answered with a key in the scale; the rest are ``unanswered``
(no key, only wrong keys, or the caller hung up). ``avg_rating`` is over the rated ones.

    surveys == rated + unanswered
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any


def empty() -> dict[str, Any]:
    return {
        "surveys": 0,
        "rated": 0,
        "unanswered": 0,
        "avg_rating": None,
        "ratings": {},
    }


def survey_figures(steps: Iterable[dict], key: str) -> dict[str, dict[str, Any]]:
    """``key`` (``agent`` or ``queue``) -> figures; steps without that key are left out."""
    ratings: dict[str, list[int]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for step in steps:
        data = step.get("data") or {}
        who = data.get(key)
        if not who:
            continue
        counts[who] += 1
        rating = data.get("rating")
        if data.get("outcome") == "rated" and isinstance(rating, int):
            ratings[who].append(rating)
    out = {}
    for who, n in counts.items():
        rated = ratings.get(who, [])
        by_value: dict[str, int] = defaultdict(int)
        for r in rated:
            by_value[str(r)] += 1
        out[who] = {
            "surveys": n,
            "rated": len(rated),
            "unanswered": n - len(rated),
            "avg_rating": round(sum(rated) / len(rated), 2) if rated else None,
            "ratings": dict(sorted(by_value.items())),
        }
    return out
