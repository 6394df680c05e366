"""Check every header of an outgoing AMI action before a single byte is written."""

from __future__ import annotations

import re
from typing import Mapping

from ctiserver.ami.errors import AmiInjectionError

_NAME = re.compile(r"[A-Za-z0-9_-]+")
# CR/LF end a header or the whole packet; NUL truncates strings inside Asterisk.
_FORBIDDEN = {"\r": "CR", "\n": "LF", "\0": "NUL"}
# The client owns the session and the reply routing; letting a caller set these would break both.
RESERVED_HEADERS = frozenset({"actionid"})
RESERVED_ACTIONS = frozenset({"login", "logoff", "challenge"})


def check_name(name: object) -> str:
    """Return the header name if it is ``[A-Za-z0-9_-]+``, else raise AmiInjectionError."""
    if not isinstance(name, str):
        raise AmiInjectionError(repr(name), "header name must be a string")
    if not _NAME.fullmatch(name):
        raise AmiInjectionError(name, "header name must match [A-Za-z0-9_-]+")
    return name


def check_value(name: str, value: object) -> str:
    """Return the value as wire text; refuse CR, LF and NUL, and types with no obvious AMI spelling."""
    if isinstance(value, bool):  # before int: bool is an int subclass
        text = "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        text = str(value)
    else:
        raise AmiInjectionError(name, f"value must be str, int, float or bool, not {type(value).__name__}")
    for char, label in _FORBIDDEN.items():
        if char in text:
            raise AmiInjectionError(name, f"value contains {label}")
    return text


def validate_action(action: Mapping[str, object], *, internal: bool = False) -> list[tuple[str, str]]:
    """Validate an action mapping into wire pairs, ``Action`` first; list/tuple values repeat the header."""
    if not isinstance(action, Mapping):
        raise TypeError(f"an AMI action is a mapping of headers, not {type(action).__name__}")
    pairs: list[tuple[str, str]] = []
    action_name = None
    for name, value in action.items():
        check_name(name)
        lname = name.lower()
        if lname in RESERVED_HEADERS:
            raise AmiInjectionError(name, "set by the client, not by the caller")
        values = value if isinstance(value, (list, tuple)) else (value,)
        for item in values:
            text = check_value(name, item)
            if lname == "action":
                if action_name is not None:
                    raise AmiInjectionError(name, "given more than once")
                action_name = text
            else:
                pairs.append((name, text))
    if not action_name:
        raise AmiInjectionError("Action", "missing or empty")
    if not _NAME.fullmatch(action_name):  # an action name is a word too; refuse anything else early
        raise AmiInjectionError("Action", "action name must match [A-Za-z0-9_-]+")
    if not internal and action_name.lower() in RESERVED_ACTIONS:
        raise AmiInjectionError("Action", f"{action_name} is managed by the client")
    return [("Action", action_name), *pairs]
