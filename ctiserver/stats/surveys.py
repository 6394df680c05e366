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
        by_rating: dict[int | None, int] = defaultdict(int)
        for r in ratings.get(who, []):
            by_rating[r] += 1
        by_rating[None] = n - sum(by_rating.values())
        out[who] = rating_figures(by_rating)
    return out


def rating_figures(by_rating: dict[int | None, int]) -> dict[str, Any]:
    """One agent's or queue's figures from its survey count per rating (``None``: not rated)."""
    rated = {r: n for r, n in by_rating.items() if r is not None and n}
    n_rated = sum(rated.values())
    total = sum(by_rating.values())
    return {
        "surveys": total,
        "rated": n_rated,
        "unanswered": total - n_rated,
        "avg_rating": round(sum(r * n for r, n in rated.items()) / n_rated, 2) if n_rated else None,
        "ratings": dict(sorted((str(r), n) for r, n in rated.items())),
    }
