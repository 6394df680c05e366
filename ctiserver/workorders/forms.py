"""Checking what people type into a work order: every refusal is an InvalidInput naming the field.

Pure functions over the configured :class:`WorkOrderSettings`; the routes check JSON types
first (ctiserver/web/validate.py), these check meaning: the category tree, the urgency
list, known departments, text lengths, no control characters but line breaks and tabs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from ctiserver.errors import InvalidInput
from ctiserver.workorders.lifecycle import SATISFACTION
from ctiserver.workorders.settings import FORM_FIELDS, WorkOrderSettings

FORM_KEYS = frozenset(FORM_FIELDS)
CHANNELS = ("letter", "email", "walk_in", "web", "phone", "other")  # how a work order without a call came in
SUMMARY_MAX = 200
NAME_MAX = 100
PHONE = re.compile(r"[0-9+*#() -]{3,32}")
CUSTOMER_NO = re.compile(r"[A-Za-z0-9_-]{1,32}")
ACCOUNT_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")


def long_text(value: Any, field: str, max_len: int) -> str | None:
    """Free text over several lines: trimmed, within length, no control characters but \\n and \\t.

    An empty string clears the field (None)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", code="wrong_type", field=field)
    value = value.replace("\r\n", "\n").strip()
    for ch in value:
        if (unicodedata.category(ch) == "Cc" and ch not in "\n\t") or ch in "\u2028\u2029":
            raise InvalidInput(f"{field} must not contain control characters (found U+{ord(ch):04X})", field=field)
    if len(value) > max_len:
        raise InvalidInput(f"{field} must be at most {max_len} characters (got {len(value)})", field=field)
    return value or None


def line(value: Any, field: str, max_len: int, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
    """One line of text (a name, a number); None or "" clears it."""
    text = long_text(value, field, max_len)
    if text is None:
        return None
    if "\n" in text or "\t" in text:
        raise InvalidInput(f"{field} must be a single line", field=field)
    if pattern is not None and not pattern.fullmatch(text):
        raise InvalidInput(f"{field} must be {what}", field=field)
    return text


def _one_of(value: Any, field: str, options: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in options:
        raise InvalidInput(f"{field} must be one of: {', '.join(options)}", field=field)
    return value


def form_fields(body: Mapping[str, Any], settings: WorkOrderSettings, current: Mapping[str, Any]) -> dict[str, Any]:
    """The form fields present in ``body``, checked; a sub-category must belong to the category."""
    out: dict[str, Any] = {}
    if "category" in body:
        out["category"] = _one_of(body["category"], "category", tuple(settings.categories))
    if "subcategory" in body:
        category = out.get("category", current.get("category"))
        subs = settings.categories.get(category or "", ())
        if body["subcategory"] is not None and not subs:
            raise InvalidInput(f"category {category or '(none)'} has no sub-categories", field="subcategory")
        out["subcategory"] = _one_of(body["subcategory"], "subcategory", subs)
    elif "category" in out and current.get("subcategory") not in settings.categories.get(out["category"] or "", ()):
        out["subcategory"] = None  # the old sub-category belonged to the old category
    if "urgency" in body:
        out["urgency"] = _one_of(body["urgency"], "urgency", settings.urgencies)
    if "department" in body:
        out["department"] = _one_of(body["department"], "department", tuple(settings.departments))
    for name in ("request", "answer", "notes"):
        if name in body:
            out[name] = long_text(body[name], name, settings.text_max)
    if "summary" in body:
        out["summary"] = line(body["summary"], "summary", SUMMARY_MAX)
    return out


def missing_for_submit(row: Mapping[str, Any], settings: WorkOrderSettings, resolved: bool = False) -> str | None:
    """The first required field the work order lacks, or None (one resolved on the call needs no department)."""
    for name in settings.required:
        if row.get(name) in (None, "") and not (resolved and name == "department"):
            return name
    category = row.get("category")
    if category and settings.categories.get(category) and not row.get("subcategory"):
        return "subcategory"
    return None


def missing_fields(row: Mapping[str, Any], names: tuple[str, ...], settings: WorkOrderSettings) -> list[str]:
    """Every one of ``names`` the work order lacks (a category with sub-categories needs one too), in form order."""
    lacking = {n for n in names if row.get(n) in (None, "")}
    category = row.get("category")
    if "category" in names and category and settings.categories.get(category) and not row.get("subcategory"):
        lacking.add("subcategory")
    return [n for n in FORM_FIELDS if n in lacking]


def defer_days(value: Any, category: str | None, settings: WorkOrderSettings) -> int | None:
    """A deferral's length in working days: 1 up to the category's configured most (None: that most)."""
    if value is None:
        return None
    longest = settings.deferrable().get(category or "")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("days must be a whole number of working days", code="wrong_type", field="days")
    if longest is not None and not 1 <= value <= longest:
        raise InvalidInput(f"days must be 1 to {longest} working days for a {category}", field="days")
    return value


def action_params(action: str, body: Mapping[str, Any], settings: WorkOrderSettings,
                  known_account: Callable[[str], bool]) -> dict[str, Any]:
    """The checked parameters of a lifecycle action (comment, department, assignee, resolved, satisfaction)."""
    out: dict[str, Any] = {"comment": long_text(body.get("comment"), "comment", settings.text_max)}
    if "department" in body:
        out["department"] = _one_of(body["department"], "department", tuple(settings.departments))
    if "assignee" in body and body["assignee"] is not None:
        assignee = line(body["assignee"], "assignee", 32, ACCOUNT_ID, "an account id")
        if assignee is None or not known_account(assignee):
            raise InvalidInput(f"no account {assignee!r} to assign it to", field="assignee")
        out["assignee"] = assignee
    if action == "submit":
        out["resolved"] = body.get("resolved") is True
    if action == "callback":
        out["satisfaction"] = _one_of(body.get("satisfaction"), "satisfaction", SATISFACTION)
    return out


def customer_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """How a work order without a call came in, and from whom."""
    channel = _one_of(body.get("channel"), "channel", CHANNELS)
    if channel is None:
        raise InvalidInput(f"channel is required: one of {', '.join(CHANNELS)}", code="missing_field", field="channel")
    return {"channel": channel,
            "customer_no": line(body.get("customer_no"), "customer_no", 32, CUSTOMER_NO, "a customer number"),
            "caller_number": line(body.get("caller_number"), "caller_number", 32, PHONE, "a phone number"),
            "caller_name": line(body.get("caller_name"), "caller_name", NAME_MAX)}
