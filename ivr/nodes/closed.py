"""Closed node: what a caller hears when the hotline is closed, and the choice left to them.

A menu table ``type = "closed"``::

    prompt = "im-sorry"              # after hours (closed_prompt / holiday_prompt override per reason)
    holiday_prompt = ""              # "" plays prompt
    closed_now_prompt = ""           # the supervisors' emergency switch; "" plays prompt
    options_prompt = "vm-leavemsg"   # the keys on offer, asked for with GET DATA
    voicemail = "voicemail"          # the node key voicemail_key (and no key, a wrong key) leads to
    voicemail_key = "1"
    callback_key = "2"               # offered only when the menu has a node named "callback"
    timeout = 6.0
    tries = 2

The IVR sends callers here where they enter (the menu's start) when the line is closed (see
ivr/policy.py); why is on the session (``closed_reason``) and becomes the work order's
``service_hours`` step (UserEvent CtiStep) before the caller hears anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from ivr.menu import _KEY, MenuError, _name, _number, _sound
from ivr.nodes import NodeType, register

log = structlog.get_logger(__name__)

CALLBACK_NODE = "callback"


@dataclass(frozen=True, slots=True)
class ClosedNode:
    """Say the line is closed and why, then voicemail or (when the menu has one) callback."""

    name: str
    voicemail: str
    prompt: str = "im-sorry"
    holiday_prompt: str = ""
    closed_now_prompt: str = ""
    options_prompt: str = "vm-leavemsg"
    voicemail_key: str = "1"
    callback_key: str = "2"
    timeout: float = 6.0
    tries: int = 2
    type: str = "closed"

    def prompt_for(self, reason: str) -> str:
        return {
            "holiday": self.holiday_prompt,
            "closed_now": self.closed_now_prompt,
        }.get(reason) or self.prompt


def _key(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _KEY.match(value):
        raise MenuError(f"{where}: one phone key (0-9 * #) expected, got {value!r}")
    return value


def parse(name: str, raw: dict[str, Any]) -> ClosedNode:
    where = f"nodes.{name}"
    node = ClosedNode(
        name,
        _name(raw.get("voicemail"), f"{where}.voicemail"),
        prompt=_sound(raw.get("prompt", "im-sorry"), f"{where}.prompt"),
        holiday_prompt=_sound(
            raw.get("holiday_prompt", ""), f"{where}.holiday_prompt", empty=True
        ),
        closed_now_prompt=_sound(
            raw.get("closed_now_prompt", ""), f"{where}.closed_now_prompt", empty=True
        ),
        options_prompt=_sound(
            raw.get("options_prompt", "vm-leavemsg"), f"{where}.options_prompt"
        ),
        voicemail_key=_key(raw.get("voicemail_key", "1"), f"{where}.voicemail_key"),
        callback_key=_key(raw.get("callback_key", "2"), f"{where}.callback_key"),
        timeout=_number(raw.get("timeout", 6.0), f"{where}.timeout", 0.5, 60),
        tries=int(_number(raw.get("tries", 2), f"{where}.tries", 1, 10)),
    )
    if node.voicemail_key == node.callback_key:
        raise MenuError(f"{where}: voicemail_key and callback_key are the same key")
    return node


def links(node: ClosedNode) -> list[tuple[str, str]]:
    return [("voicemail", node.voicemail)]


async def run(session: Any, node: ClosedNode) -> str:
    """Tell the caller, then take one key: voicemail, callback (if any); no or a wrong key: voicemail."""
    reason = getattr(session, "closed_reason", None) or "after_hours"
    callback = CALLBACK_NODE if CALLBACK_NODE in session.menu.nodes else None
    await session._report()
    await session.ch.stream_file(node.prompt_for(reason))
    for _ in range(node.tries):
        digits, _timed_out = await session.ch.get_data(
            node.options_prompt, int(node.timeout * 1000), 1
        )
        if not digits:
            continue
        session.keys.append(digits[0])
        if digits[0] == node.voicemail_key:
            return node.voicemail
        if callback and digits[0] == node.callback_key:
            return callback
        log.info("ivr_invalid_key", node=node.name, key=digits[0])
    log.info("ivr_closed_default", node=node.name, target=node.voicemail)
    return node.voicemail


register(
    NodeType(
        "closed",
        frozenset(
            {
                "prompt",
                "holiday_prompt",
                "closed_now_prompt",
                "options_prompt",
                "voicemail",
                "voicemail_key",
                "callback_key",
                "timeout",
                "tries",
            }
        ),
        parse,
        links,
        run,
    )
)
