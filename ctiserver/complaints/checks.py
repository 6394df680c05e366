"""Field checks the complaint and customer inputs share (the domain does not import the web layer)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from ctiserver.errors import InvalidInput


def text(value: Any, field: str, *, max_len: int, min_len: int = 1) -> str:
    """A single-line text, trimmed, within length, without control characters."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", code="wrong_type", field=field)
    for ch in value:
        if unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029":
            raise InvalidInput(
                f"{field} must not contain control characters (found U+{ord(ch):04X})",
                field=field,
            )
    value = value.strip()
    if len(value) < min_len:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(value) > max_len:
        raise InvalidInput(
            f"{field} must be at most {max_len} characters (got {len(value)})",
            field=field,
        )
    return value


def choice(value: Any, field: str, choices: Iterable[str]) -> str:
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        raise InvalidInput(f"{field} must be one of: {', '.join(options)}", field=field)
    return value


def integer(value: Any, field: str, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{field} must be an integer", code="wrong_type", field=field
        )
    if not minimum <= value <= maximum:
        raise InvalidInput(
            f"{field} must be between {minimum} and {maximum}", field=field
        )
    return value
