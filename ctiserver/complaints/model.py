"""A threshold as an admin writes it: each field checked, every refusal naming the field."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ctiserver.complaints import checks as v
from ctiserver.complaints.periods import MEASURES, PERIODS
from ctiserver.errors import InvalidInput

FIELDS = (
    "name",
    "measure",
    "period",
    "category",
    "subcategory",
    "queue",
    "limit",
    "min_answered",
    "enabled",
)
MAX_COUNT = 1_000_000


def threshold_fields(
    body: Mapping[str, Any],
    *,
    categories: Mapping[str, tuple[str, ...]],
    queues: Iterable[str],
    partial: bool = False,
    current: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns to write for a new threshold (``partial``: only those given, over ``current``).

    A count limit is a whole number of complaints (at least 1); a rate limit is a fraction of
    answered calls in (0, 1] (0.05 = 5 complaints per 100 answered calls).
    """
    unknown = [k for k in body if k not in FIELDS and k != "version"]
    if unknown:
        raise InvalidInput(
            f"unknown field {unknown[0]!r} (expected: {', '.join(FIELDS)})",
            code="unknown_field",
            field=unknown[0],
        )
    if not partial:
        for name in ("name", "measure", "period", "limit"):
            if body.get(name) is None:
                raise InvalidInput(
                    f"{name} is required", code="missing_field", field=name
                )
    base = dict(current or {})
    out: dict[str, Any] = {}
    if "name" in body:
        out["name"] = v.text(body["name"], "name", max_len=100)
    if "measure" in body:
        out["measure"] = v.choice(body["measure"], "measure", MEASURES)
    if "period" in body:
        out["period"] = v.choice(body["period"], "period", PERIODS)
    if body.get("category") is not None:
        out["category"] = v.choice(body["category"], "category", tuple(categories))
    elif not partial:
        out["category"] = (
            "complaint" if "complaint" in categories else next(iter(categories))
        )
    category = out.get("category", base.get("category"))
    if "subcategory" in body:
        sub = body["subcategory"]
        if sub in (None, ""):
            out["subcategory"] = None
        else:
            subs = tuple(categories.get(category or "", ()))
            if not subs:
                raise InvalidInput(
                    f"category {category} has no sub-categories", field="subcategory"
                )
            out["subcategory"] = v.choice(sub, "subcategory", subs)
    elif (
        "category" in out
        and partial
        and base.get("subcategory")
        and base["subcategory"] not in categories.get(out["category"], ())
    ):
        out["subcategory"] = None  # the old sub-category belongs to the old category
    if "queue" in body:
        q = body["queue"]
        out["queue"] = None if q in (None, "") else v.choice(q, "queue", tuple(queues))
    measure = out.get("measure", base.get("measure"))
    if "limit" in body or ("measure" in out and partial):
        raw = body.get("limit", base.get("limit_value", base.get("limit")))
        out["limit_value"] = _limit(raw, measure)
    if "min_answered" in body:
        out["min_answered"] = v.integer(
            body["min_answered"], "min_answered", minimum=0, maximum=MAX_COUNT
        )
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise InvalidInput(
                "enabled must be true or false", code="wrong_type", field="enabled"
            )
        out["enabled"] = body["enabled"]
    return out


def _limit(raw: Any, measure: str | None) -> float:
    if (
        isinstance(raw, bool)
        or not isinstance(raw, (int, float))
        or not math.isfinite(raw)
    ):
        raise InvalidInput("limit must be a number", code="wrong_type", field="limit")
    if measure == "count":
        if raw != int(raw) or not 1 <= raw <= MAX_COUNT:
            raise InvalidInput(
                f"a count limit must be a whole number from 1 to {MAX_COUNT}",
                field="limit",
            )
        return float(int(raw))
    if not 0 < raw <= 1:
        raise InvalidInput(
            "a rate limit must be a fraction of answered calls above 0 and at most 1 (0.05 = 5 %)",
            field="limit",
        )
    return float(raw)
