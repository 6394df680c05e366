"""Phone number normalisation for customer lookups (Chinese numbering, tolerant of prefixes).

Numbers are compared in national form, digits only: ``+86 138-0013-8000``,
``008613800138000``, ``8613800138000`` and ``013800138000`` (a trunk 0 before a
mobile) all become ``13800138000``; a landline keeps its area code with the
trunk 0 (``+86 10 6234 5678`` -> ``01062345678``). Anything without digits
(a SIP user such as ``caller``) normalises to ``""`` and matches nothing.
"""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"\D+")


def _is_mobile(d: str) -> bool:
    return len(d) == 11 and d.startswith("1")


def normalize_phone(raw: str | None) -> str:
    """The number in national digits-only form, or "" when it holds no digits."""
    if not raw:
        return ""
    text = raw.strip()
    d = _NON_DIGITS.sub("", text)
    if not d:
        return ""
    international = False
    if d.startswith("0086"):
        d, international = d[4:], True
    elif text.startswith("+86") or (d.startswith("86") and len(d) == 13 and _is_mobile(d[2:])):
        d, international = d[2:], True
    elif text.startswith("+"):
        return d  # another country: keep its full international digits
    if international and d and not _is_mobile(d) and not d.startswith("0"):
        d = "0" + d  # a landline given internationally: national form has the trunk 0
    if len(d) == 12 and d.startswith("0") and _is_mobile(d[1:]):
        d = d[1:]  # a trunk 0 dialled before a mobile
    return d
