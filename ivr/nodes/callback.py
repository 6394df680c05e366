"""Callback node: a caller who left the queue with its exit key asks to be called back, and hangs up.

The queue's ``context = cti-queue-exit`` (queues.conf) makes app_queue let a waiting caller out
when they press a key that is an extension there (``QueueCallerLeave``, no abandon); that
extension runs the IVR again at this node (``AGI(agi://…/hotline?node=callback)``). A menu table
``type = "callback"``::

    queue = "support"                  # the queue the caller left (their place in line is kept there)
    confirm_prompt = "if-correct-press"  # after the number is said: 1 keeps it, anything else asks for one
    number_prompt = "vm-enter-num-to-call"  # "enter the number ... followed by pound"
    invalid_prompt = "check-number-dial-again"
    done_prompt = "auth-thankyou"      # then "goodbye" (done_prompt2), and the IVR hangs up
    min_digits = 3, max_digits = 20, timeout = 8.0, tries = 3
    on_failure = "support"             # no usable number after ``tries``: back to the queue (a new place)

The number is the one the caller calls from when it is 3-20 digits and the caller keeps it;
else the digits they key in (``#`` ends them; anything but 3-20 digits is asked again). The
request goes to the CTI server as ``UserEvent(CtiCallback)`` on the caller's channel (Id, Queue,
Number, Caller, Position), which keeps it in line at the caller's original join time
(ctiserver/callbacks/). The path and keys before the queue are kept: this node reports them with
``callback`` and the exit key added (``CTI_IVR_PATH``, ``CTI_IVR_KEYS``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import structlog

from ivr.menu import MenuError, _arg, _name, _number, _sound
from ivr.nodes import NodeType, register

log = structlog.get_logger(__name__)

DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class CallbackNode:
    """Take the number to call back, tell the CTI server, thank the caller and end the call."""

    name: str
    queue: str
    on_failure: str
    confirm_prompt: str = "if-correct-press"
    number_prompt: str = "vm-enter-num-to-call"
    invalid_prompt: str = "check-number-dial-again"
    done_prompt: str = "auth-thankyou"
    done_prompt2: str = "vm-goodbye"
    min_digits: int = 3
    max_digits: int = 20
    timeout: float = 8.0
    tries: int = 3
    type: str = "callback"


SETTINGS = frozenset(
    {
        "type",
        "queue",
        "on_failure",
        "confirm_prompt",
        "number_prompt",
        "invalid_prompt",
        "done_prompt",
        "done_prompt2",
        "min_digits",
        "max_digits",
        "timeout",
        "tries",
    }
)


def parse(name: str, raw: dict[str, Any]) -> CallbackNode:
    where = f"nodes.{name}"
    low = int(_number(raw.get("min_digits", 3), f"{where}.min_digits", 3, 20))
    high = int(_number(raw.get("max_digits", 20), f"{where}.max_digits", 3, 20))
    if low > high:
        raise MenuError(f"{where}.min_digits: more than max_digits ({low} > {high})")
    return CallbackNode(
        name,
        _arg(raw.get("queue"), f"{where}.queue"),
        _name(raw.get("on_failure"), f"{where}.on_failure"),
        confirm_prompt=_sound(
            raw.get("confirm_prompt", "if-correct-press"), f"{where}.confirm_prompt"
        ),
        number_prompt=_sound(
            raw.get("number_prompt", "vm-enter-num-to-call"), f"{where}.number_prompt"
        ),
        invalid_prompt=_sound(
            raw.get("invalid_prompt", "check-number-dial-again"),
            f"{where}.invalid_prompt",
            empty=True,
        ),
        done_prompt=_sound(
            raw.get("done_prompt", "auth-thankyou"), f"{where}.done_prompt", empty=True
        ),
        done_prompt2=_sound(
            raw.get("done_prompt2", "vm-goodbye"), f"{where}.done_prompt2", empty=True
        ),
        min_digits=low,
        max_digits=high,
        timeout=_number(raw.get("timeout", 8.0), f"{where}.timeout", 0.5, 60),
        tries=int(_number(raw.get("tries", 3), f"{where}.tries", 1, 10)),
    )


def links(node: CallbackNode) -> list[tuple[str, str]]:
    return [("on_failure", node.on_failure)]


def usable(number: str, node: CallbackNode) -> bool:
    return (
        bool(DIGITS.fullmatch(number))
        and node.min_digits <= len(number) <= node.max_digits
    )


async def run(session: Any, node: CallbackNode) -> str | None:
    """Ask for the number (or keep the caller's own), send the request, end the call."""
    ch = session.ch
    await _carry_on(session)
    await (
        session._report()
    )  # the work order shows the caller got here, even if they hang up now
    ms = int(node.timeout * 1000)
    own = ch.caller_number
    candidate = own if usable(own, node) else ""
    for attempt in range(1, node.tries + 1):
        if not candidate:
            typed, _ = await ch.get_data(node.number_prompt, ms, node.max_digits)
            if not usable(typed, node):
                log.info(
                    "ivr_callback_number_invalid", attempt=attempt, digits=len(typed)
                )
                if node.invalid_prompt:
                    await ch.stream_file(node.invalid_prompt)
                continue
            candidate = typed
        await ch.say_digits(candidate)
        key, _ = await ch.get_data(node.confirm_prompt, ms, 1)
        if key == "1":
            session.keys.append("1")
            await _request(session, node, candidate)
            return None
        log.info("ivr_callback_number_declined", attempt=attempt, key=key or None)
        candidate = ""  # not this one: ask for the number to call
    log.info("ivr_callback_gave_up", target=node.on_failure)
    await session._report()
    return node.on_failure


async def _carry_on(session: Any) -> None:
    """The path and keys the caller had before the queue, when this is a new AGI session on the same
    call (the queue's exit key); a menu that came here itself has them already."""
    if len(session.path) > 1:
        return
    ch = session.ch
    before = [p for p in (await ch.get_variable("CTI_IVR_PATH") or "").split(",") if p]
    keys = list(await ch.get_variable("CTI_IVR_KEYS") or "")
    exit_key = await ch.get_variable("EXTEN") or ""
    if len(exit_key) == 1 and exit_key in "0123456789*#":
        keys.append(exit_key)
    session.path[:0] = before
    session.keys[:0] = keys
    session.customer_no = session.customer_no or (
        await ch.get_variable("CTI_CUSTOMER_NO") or ""
    )


async def _request(session: Any, node: CallbackNode, number: str) -> None:
    ch = session.ch
    position = await ch.get_variable("QUEUEPOSITION") or "0"
    cb_id = uuid.uuid4().hex
    await session._report()
    await session._exec(
        "UserEvent",
        f"CtiCallback,Id: {cb_id},Queue: {node.queue},Number: {number},"
        f"Caller: {_digits(ch.caller_number)},Position: {_digits(position) or '0'}",
    )
    log.info(
        "ivr_callback_requested",
        queue=node.queue,
        callback=cb_id,
        own_number=number == ch.caller_number,
    )
    for prompt in (node.done_prompt, node.done_prompt2):
        if prompt:
            await ch.stream_file(prompt)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())[:20]


register(NodeType("callback", SETTINGS, parse, links, run))
