"""AMI actions as the engines and features register them on the kernel, and their argument helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Awaitable, Callable, Union

from ..channel import Fields


class ActionError(Exception):
    """Reply ``Response: Error`` with this message."""


@dataclass(frozen=True)
class Request:
    """One AMI action as its handler sees it."""

    msg: dict[str, str]  # header name (lowercased) -> its first value
    aid: Fields  # [("ActionID", ...)] or [] (every reply item carries it)
    fields: Fields = field(default_factory=list)  # every header in order (repeated Variable: kept)
    username: str = ""  # the AMI user of the session that sent it


# the reply: the response, then any list items and the ...Complete event
Reply = list[Fields]
Handler = Callable[[Request], Union[Reply, Awaitable[Reply]]]


@dataclass(frozen=True)
class Action:
    """A registered action: its handler and the ``write =`` classes Asterisk registers it with.

    ``classes`` empty: no permission check (the actions the simulator always allowed).
    """

    handler: Handler
    classes: frozenset[str] = frozenset()


def bool_value(value: str | None, default: bool = False) -> bool:
    """An AMI yes/true/1/on flag."""
    if value is None or value == "":
        return default
    return value.strip().lower() in ("yes", "true", "1", "on", "y")


def float_value(msg: dict[str, str], key: str) -> float | None:
    """A non-negative number header, or None when absent; ActionError naming ``key`` otherwise."""
    raw = msg.get(key.lower())
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ActionError(f"{key}: not a number: {raw!r}") from None
    if value < 0:
        raise ActionError(f"{key}: must be >= 0")
    return value


def list_reply(aid: Fields, message: str, complete: str, items: list[Fields]) -> Reply:
    """A list action's reply: ``EventList: start``, the items, the ``...Complete`` event with ListItems."""
    return ([[("Response", "Success")] + aid + [("EventList", "start"), ("Message", message)]] + items
            + [[("Event", complete)] + aid + [("EventList", "Complete"), ("ListItems", str(len(items)))]])
