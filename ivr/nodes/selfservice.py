"""Self-service node: ask a back-end over HTTP and read its answer to the caller.

A menu table ``type = "selfservice"``::

    url = "http://bank.example/accounts/{customer_no}/balance"   # placeholders below, URL-quoted
    method = "GET"                 # or POST (the placeholders as a JSON body)
    timeout = 2.0                  # seconds for the whole request; slower is a fallback
    authenticated = true           # needs a PIN-checked customer (an authenticate node before)
    intro_prompt = "vm-youhave"    # played before the answer (optional)
    say = [{ pointer = "/balance", as = "number", prompt = "" },
           { pointer = "/currency", as = "prompt", prompts = { CNY = "digits/dollars" } }]
    next = "main"                  # after the answer
    fallback = "support"           # back-end slow, down, or answering garbage (an agent)

Placeholders: ``{customer_no}``, ``{caller}`` (the caller's number), ``{uniqueid}``.
Each ``say`` item takes a value by JSON pointer (RFC 6901) and says it ``as``
``digits`` (one by one), ``number`` (a whole or decimal number: "12 dot 5 0") or
``prompt`` (the sound ``prompts`` maps the value to). The whole answer is checked before
the caller hears any of it, so a half-good answer is a fallback, not half a sentence.
What happened is a work-order step: ``UserEvent(CtiStep)`` with ``Step: selfservice``,
the node, the outcome (``ok``, ``timeout``, ``unreachable``, ``http_<status>``,
``malformed``, ``unexpected``, ``not_authenticated``) and the seconds it took.
"""

from __future__ import annotations

import asyncio
import json
import re
import string
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import structlog

from ivr.menu import MenuError, _name, _number, _sound
from ivr.nodes import NodeType, register

log = structlog.get_logger(__name__)

PLACEHOLDERS = frozenset({"customer_no", "caller", "uniqueid"})
SAY_AS = frozenset({"digits", "number", "prompt"})
MAX_BODY = 64 * 1024  # a back-end answering more than this is answering garbage
_NUMBER = re.compile(r"^-?\d{1,15}(\.\d{1,6})?$")


@dataclass(frozen=True, slots=True)
class SayItem:
    """One part of the answer: the value at ``pointer`` said ``as`` digits, number or a prompt per value."""

    pointer: str
    as_: str
    prompt: str = ""
    prompts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SelfServiceNode:
    """Ask ``url`` and read the answer, or go to ``fallback`` (see the module's docstring)."""

    name: str
    url: str
    next: str
    fallback: str
    say: tuple[SayItem, ...]
    method: str = "GET"
    timeout: float = 2.0
    authenticated: bool = False
    intro_prompt: str = ""
    decimal_prompt: str = "letters/dot"
    type: str = "selfservice"


class Unexpected(ValueError):
    """The back-end answered, but not what the node's ``say`` needs."""


def parse(name: str, raw: dict[str, Any]) -> SelfServiceNode:
    """A checked node from its TOML table; MenuError names the setting."""
    where = f"nodes.{name}"
    url = raw.get("url")
    if (
        not isinstance(url, str)
        or urlsplit(url).scheme not in ("http", "https")
        or not urlsplit(url).netloc
    ):
        raise MenuError(
            f"{where}.url: an http:// or https:// URL expected, got {url!r}"
        )
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(url) if f is not None}
    except ValueError as exc:
        raise MenuError(f"{where}.url: {exc}") from None
    if fields - PLACEHOLDERS:
        raise MenuError(
            f"{where}.url: unknown placeholder(s) {', '.join(sorted(fields - PLACEHOLDERS))} "
            f"(known: {', '.join(sorted(PLACEHOLDERS))})"
        )
    method = raw.get("method", "GET")
    if method not in ("GET", "POST"):
        raise MenuError(f"{where}.method: GET or POST expected, got {method!r}")
    authenticated = raw.get("authenticated", False)
    if not isinstance(authenticated, bool):
        raise MenuError(f"{where}.authenticated: true or false expected")
    items = raw.get("say")
    if not isinstance(items, list) or not items:
        raise MenuError(f"{where}.say: a list of {{ pointer, as }} tables is required")
    return SelfServiceNode(
        name,
        url,
        _name(raw.get("next", "hangup"), f"{where}.next"),
        _name(raw.get("fallback"), f"{where}.fallback"),
        tuple(_say_item(item, f"{where}.say[{i}]") for i, item in enumerate(items)),
        method=method,
        timeout=_number(raw.get("timeout", 2.0), f"{where}.timeout", 0.1, 30),
        authenticated=authenticated,
        intro_prompt=_sound(
            raw.get("intro_prompt", ""), f"{where}.intro_prompt", empty=True
        ),
        decimal_prompt=_sound(
            raw.get("decimal_prompt", "letters/dot"), f"{where}.decimal_prompt"
        ),
    )


def _say_item(raw: Any, where: str) -> SayItem:
    if not isinstance(raw, dict):
        raise MenuError(f"{where}: a table {{ pointer, as }} expected")
    unknown = set(raw) - {"pointer", "as", "prompt", "prompts"}
    if unknown:
        raise MenuError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    pointer = raw.get("pointer")
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise MenuError(
            f'{where}.pointer: a JSON pointer such as "/balance" expected, got {pointer!r}'
        )
    as_ = raw.get("as")
    if as_ not in SAY_AS:
        raise MenuError(
            f"{where}.as: one of {', '.join(sorted(SAY_AS))} expected, got {as_!r}"
        )
    prompts = raw.get("prompts", {})
    if not isinstance(prompts, dict) or (as_ == "prompt" and not prompts):
        raise MenuError(
            f'{where}.prompts: a table of value = sound is required with as = "prompt"'
        )
    return SayItem(
        pointer,
        as_,
        _sound(raw.get("prompt", ""), f"{where}.prompt", empty=True),
        tuple((str(k), _sound(v, f"{where}.prompts.{k}")) for k, v in prompts.items()),
    )


def links(node: SelfServiceNode) -> list[tuple[str, str]]:
    return [("next", node.next), ("fallback", node.fallback)]


def resolve(document: Any, pointer: str) -> Any:
    """The value at an RFC 6901 JSON pointer; Unexpected when there is none."""
    value = document
    if not pointer:
        return value
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            raise Unexpected(f"nothing at {pointer}")
    return value


def plan(node: SelfServiceNode, document: Any) -> list[tuple[str, str]]:
    """What to say, as (how, what) steps: ("file", sound), ("digits", "123"), ("number", "42");
    Unexpected when any part of the answer does not fit."""
    steps: list[tuple[str, str]] = []
    for item in node.say:
        value = resolve(document, item.pointer)
        if item.prompt:
            steps.append(("file", item.prompt))
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise Unexpected(f"{item.pointer}: {type(value).__name__} cannot be said")
        text = str(value)
        if item.as_ == "prompt":
            sound = dict(item.prompts).get(text)
            if sound is None:
                raise Unexpected(f"{item.pointer}: no prompt for {text!r}")
            steps.append(("file", sound))
        elif item.as_ == "digits":
            if not text.isdigit() or len(text) > 32:
                raise Unexpected(f"{item.pointer}: digits expected, got {text[:40]!r}")
            steps.append(("digits", text))
        else:
            if isinstance(value, float):
                text = f"{value:.2f}"
            if not _NUMBER.match(text):
                raise Unexpected(
                    f"{item.pointer}: a number expected, got {text[:40]!r}"
                )
            whole, _, fraction = text.partition(".")
            steps.append(("number", whole))
            if fraction:
                steps += [("file", node.decimal_prompt), ("digits", fraction)]
    return steps


async def ask(node: SelfServiceNode, values: dict[str, str]) -> tuple[str, Any]:
    """(outcome, parsed JSON): the outcome is ``ok`` or why the back-end could not be used."""
    url = node.url.format(**{k: quote(v, safe="") for k, v in values.items()})
    try:
        async with asyncio.timeout(node.timeout):
            async with aiohttp.ClientSession() as http:
                body = {"json": values} if node.method == "POST" else {}
                async with http.request(
                    node.method, url, allow_redirects=False, **body
                ) as resp:
                    if resp.status // 100 != 2:
                        return f"http_{resp.status}", None
                    raw = await resp.content.read(MAX_BODY + 1)
    except TimeoutError:
        return "timeout", None
    except (aiohttp.ClientError, OSError) as exc:
        log.info(
            "ivr_selfservice_unreachable",
            node=node.name,
            error=str(exc) or type(exc).__name__,
        )
        return "unreachable", None
    if len(raw) > MAX_BODY:
        return "malformed", None
    try:
        return "ok", json.loads(raw)
    except ValueError:  # not UTF-8 or not JSON
        return "malformed", None


async def run(session: Any, node: SelfServiceNode) -> str | None:
    """Ask, say the answer and go to ``next``; any failure goes to ``fallback``. The step goes to the work order."""
    await session._report()
    started = time.monotonic()
    if node.authenticated and not session.authenticated:
        outcome, steps = "not_authenticated", None
    else:
        # told first: if the caller hangs up while the back-end thinks, the server still knows
        await session._exec(
            "UserEvent", f"CtiStep,Step: selfservice,Node: {node.name},Outcome: asking"
        )
        values = {
            "customer_no": session.customer_no,
            "caller": session.ch.caller_number,
            "uniqueid": session.ch.uniqueid,
        }
        outcome, document = await ask(node, values)
        steps = None
        if outcome == "ok":
            try:
                steps = plan(node, document)
            except Unexpected as exc:
                outcome = "unexpected"
                log.info("ivr_selfservice_unexpected", node=node.name, error=str(exc))
    seconds = round(time.monotonic() - started, 3)
    target = node.next if steps is not None else node.fallback
    log.info(
        "ivr_selfservice",
        node=node.name,
        outcome=outcome,
        seconds=seconds,
        target=target,
    )
    await session._exec(
        "UserEvent",
        f"CtiStep,Step: selfservice,Node: {node.name},Outcome: {outcome},"
        f"Seconds: {seconds}",
    )
    if steps is None:
        return target
    if node.intro_prompt:
        await session.ch.stream_file(node.intro_prompt)
    for how, what in steps:
        if how == "file":
            await session.ch.stream_file(what)
        elif how == "digits":
            await session.ch.say_digits(what)
        else:
            await session.ch.say_number(int(what))
    return target


register(
    NodeType(
        "selfservice",
        frozenset(
            {
                "url",
                "method",
                "timeout",
                "authenticated",
                "intro_prompt",
                "say",
                "next",
                "fallback",
                "decimal_prompt",
            }
        ),
        parse,
        links,
        run,
    )
)
