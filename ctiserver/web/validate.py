"""Input validation for the HTTP API, in one place: every refusal names its field.

Pure functions raising :class:`ctiserver.errors.InvalidInput`; the error
middleware turns that into a 400 with ``{"error": {"code", "message", "field"}}``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Mapping

from ctiserver.errors import InvalidInput

MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Field:
    """One expected JSON field: its Python type and whether it must be there."""

    kind: type | tuple[type, ...]
    required: bool = True


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               dict: "an object", list: "an array"}


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)


def json_content_type(content_type: str) -> None:
    """Refuse a POST whose Content-Type is not application/json (cross-site forms cannot send it)."""
    if content_type != "application/json":
        raise InvalidInput(f"Content-Type must be application/json (got {content_type or 'none'!r})",
                           code="unsupported_media_type", field="Content-Type")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Decode a request body that must be one JSON object."""
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput(f"request body is larger than {MAX_BODY_BYTES} bytes", code="body_too_large")
    if not raw.strip():
        raise InvalidInput("request body is empty: a JSON object is expected", code="malformed_json")
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"request body is not UTF-8 (byte {exc.start})", code="malformed_json") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                           code="malformed_json") from exc
    if not isinstance(value, dict):
        raise InvalidInput(f"request body must be a JSON object, not {type(value).__name__}",
                           code="malformed_json")
    return value


def check_fields(body: Mapping[str, Any], fields: Mapping[str, Field]) -> dict[str, Any]:
    """Refuse unknown fields, missing required ones and wrong types; returns the body."""
    for name in body:
        if name not in fields:
            raise InvalidInput(f"unknown field {name!r} (expected: {', '.join(fields)})",
                               code="unknown_field", field=name)
    for name, spec in fields.items():
        if name not in body or body[name] is None:
            if spec.required:
                raise InvalidInput(f"{name} is required", code="missing_field", field=name)
            continue
        value = body[name]
        kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
        # bool is an int in Python; JSON true is not a number here.
        if isinstance(value, bool) and bool not in kinds:
            ok = False
        else:
            ok = isinstance(value, kinds)
        if not ok:
            raise InvalidInput(f"{name} must be {_type_name(spec.kind)}", code="wrong_type", field=name)
    return dict(body)


def _control_char(text: str) -> str | None:
    for ch in text:
        # Cc covers CR/LF/NUL/ESC/DEL and C1; line and paragraph separators break
        # AMI lines and logs just as well.
        if unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029":
            return ch
    return None


def text(value: Any, field: str, *, max_len: int, min_len: int = 1) -> str:
    """A single-line text: a string, trimmed, within length, without control characters."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", code="wrong_type", field=field)
    bad = _control_char(value)
    if bad is not None:
        raise InvalidInput(f"{field} must not contain control characters (found U+{ord(bad):04X})",
                           field=field)
    value = value.strip()
    if len(value) < min_len:
        raise InvalidInput(f"{field} must not be empty" if min_len == 1
                           else f"{field} must be at least {min_len} characters", field=field)
    if len(value) > max_len:
        raise InvalidInput(f"{field} must be at most {max_len} characters (got {len(value)})", field=field)
    return value


def token(value: Any, field: str, *, pattern: str, max_len: int, what: str) -> str:
    """An identifier-like value matching ``pattern`` (e.g. an agent id or a phone number)."""
    value = text(value, field, max_len=max_len)
    if not re.fullmatch(pattern, value):
        raise InvalidInput(f"{field} must be {what}", field=field)
    return value


def choice(value: Any, field: str, choices: Iterable[str]) -> str:
    """One of a fixed set of strings."""
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        raise InvalidInput(f"{field} must be one of: {', '.join(options)}", field=field)
    return value


def integer(value: Any, field: str, *, minimum: int, maximum: int) -> int:
    """An integer in [minimum, maximum]; query strings are accepted as decimal text."""
    if isinstance(value, str):
        if not re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
            raise InvalidInput(f"{field} must be an integer", field=field)
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be an integer", code="wrong_type", field=field)
    if not minimum <= value <= maximum:
        raise InvalidInput(f"{field} must be between {minimum} and {maximum}", field=field)
    return value


def iso_date(value: Any, field: str) -> date:
    """A calendar date written YYYY-MM-DD."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise InvalidInput(f"{field} must be a date written YYYY-MM-DD", field=field)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{field} is not a real date: {value}", field=field) from exc


def iso_datetime(value: Any, field: str) -> datetime:
    """An ISO-8601 date and time with a timezone (a bare local time is ambiguous)."""
    if not isinstance(value, str) or len(value) > 40 or _control_char(value):
        raise InvalidInput(f"{field} must be an ISO-8601 date and time", field=field)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"{field} must be an ISO-8601 date and time, e.g. 2025-01-31T17:30:00+08:00",
                           field=field) from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidInput(f"{field} must include a timezone (e.g. Z or +08:00)", field=field)
    return parsed


def query(params: Mapping[str, str], allowed: Iterable[str]) -> dict[str, str]:
    """Refuse unknown or repeated query parameters; returns them as a plain dict."""
    names = tuple(allowed)
    out: dict[str, str] = {}
    for name, value in params.items():
        if name not in names:
            raise InvalidInput(f"unknown query parameter {name!r} (expected: {', '.join(names)})",
                               code="unknown_field", field=name)
        if name in out:
            raise InvalidInput(f"query parameter {name!r} is given more than once", field=name)
        out[name] = value
    return out
