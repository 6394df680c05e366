"""Menu trees as data: ``ivr/menus/*.toml`` read with tomllib into frozen nodes, checked once.

A menu file names its ``start`` node and a table of ``[nodes.NAME]``, each with a
``type``: ``menu`` (prompt + keys), ``authenticate`` (customer number + PIN),
``queue`` (Queue() with fallback on JOINEMPTY & co.), ``voicemail``, ``hangup``.
Every prompt, queue name and option is checked here, so nothing a menu author
writes can break an AGI command line later.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.nodes import node_types

MENUS_DIR = Path(__file__).with_name("menus")
DEFAULT_MENU = MENUS_DIR / "hotline.toml"

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SOUND = re.compile(r"^[A-Za-z0-9_./-]{1,128}$")
_APP_ARG = re.compile(r"^[A-Za-z0-9_@.-]{0,64}$")
_KEY = re.compile(r"^[0-9*#]$")
QUEUE_STATUSES = frozenset({"TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL",
                            "CONTINUE", "WITHDRAW"})


class MenuError(ValueError):
    """A menu file is missing, malformed, or points at a node that does not exist."""


@dataclass(frozen=True, slots=True)
class MenuNode:
    """Play ``prompt``, wait ``timeout`` seconds for one key, go where ``keys`` says.

    A wrong key plays ``invalid_prompt``; a wrong key or no key replays the menu, at most
    ``tries`` plays in all, then ``on_exhausted``.
    """

    name: str
    prompt: str
    keys: dict[str, str]
    timeout: float = 6.0
    tries: int = 3
    invalid_prompt: str = "invalid"
    on_exhausted: str = "hangup"
    type: str = "menu"


@dataclass(frozen=True, slots=True)
class AuthenticateNode:
    """Identify the caller as a customer and check the PIN, then go to ``next``.

    The customer number is taken from the caller's phone when the store knows it,
    else typed (ended by ``#``) and prefixed with ``customer_prefix`` (keypads have
    no letters). ``tries`` PIN attempts; a failure goes on to
    ``on_failure`` unauthenticated (the agent can still check the caller).
    """

    name: str
    next: str
    on_failure: str
    customer_prompt: str = "vm-enter-num-to-call"
    pin_prompt: str = "agent-pass"
    failed_prompt: str = "auth-incorrect"
    locked_prompt: str = "vm-sorry"  # the customer number is locked after too many wrong PINs
    customer_digits: int = 10
    customer_prefix: str = ""
    pin_digits: int = 6
    timeout: float = 8.0
    tries: int = 3
    type: str = "authenticate"


@dataclass(frozen=True, slots=True)
class QueueNode:
    """Run ``Queue(queue,options,,,timeout)``; on a ``fallback_on`` status send UserEvent
    IvrFallback and go to ``fallback[n-1]`` for the n-th fallback (the last one repeats)."""

    name: str
    queue: str
    fallback: tuple[str, ...]
    options: str = "t"
    timeout: int = 45
    fallback_on: frozenset[str] = frozenset({"JOINEMPTY", "LEAVEEMPTY", "TIMEOUT", "FULL"})
    identify_by_phone: bool = True
    after_agent: str = ""  # where the caller goes when the agent hangs up first (needs Queue option c)
    type: str = "queue"


@dataclass(frozen=True, slots=True)
class VoicemailNode:
    """Leave a message in ``mailbox`` (``VoiceMail(mailbox,options)``), then hang up."""

    name: str
    mailbox: str
    options: str = "su"
    type: str = "voicemail"


@dataclass(frozen=True, slots=True)
class HangupNode:
    """Play ``prompt`` (if any) and end the call."""

    name: str
    prompt: str = ""
    type: str = "hangup"


Node = MenuNode | AuthenticateNode | QueueNode | VoicemailNode | HangupNode | Any  # Any: a type of ivr/nodes/


@dataclass(frozen=True, slots=True)
class Menu:
    """A whole menu tree: ``nodes[start]`` is where every call begins."""

    name: str
    start: str
    nodes: dict[str, Node] = field(default_factory=dict)

    def node(self, name: str) -> Node:
        """The node called ``name`` (names were checked at load)."""
        return self.nodes[name]


def load_menu(source: str | Path | None = None) -> Menu:
    """Read a menu: a TOML path, or None for the hotline menu shipped in ivr/menus/."""
    path = Path(source) if source else DEFAULT_MENU
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MenuError(f"menu file {path} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MenuError(f"menu file {path}: {exc}") from exc
    return parse_menu(data, default_name=path.stem)


def parse_menu(data: dict[str, Any], default_name: str = "menu") -> Menu:
    """Build and check a Menu from already-parsed TOML data."""
    name = _name(data.get("name", default_name), "name")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        raise MenuError("menu: [nodes.NAME] tables are required")
    nodes: dict[str, Node] = {}
    for node_name, raw in raw_nodes.items():
        _name(node_name, "node name")
        if not isinstance(raw, dict):
            raise MenuError(f"nodes.{node_name}: must be a table")
        nodes[node_name] = _node(node_name, raw)
    start = _name(data.get("start", "main"), "start")
    menu = Menu(name, start, nodes)
    _check_links(menu)
    return menu


def _node(name: str, raw: dict[str, Any]) -> Node:
    kind = raw.get("type")
    where = f"nodes.{name}"
    known = {"menu": {"type", "prompt", "keys", "timeout", "tries", "invalid_prompt", "on_exhausted"},
             "authenticate": {"type", "next", "on_failure", "customer_prompt", "pin_prompt", "failed_prompt", "locked_prompt",
                              "customer_digits", "customer_prefix", "pin_digits", "timeout", "tries"},
             "queue": {"type", "queue", "fallback", "options", "timeout", "fallback_on", "identify_by_phone",
                       "after_agent"},
             "voicemail": {"type", "mailbox", "options"},
             "hangup": {"type", "prompt"}}
    extra = node_types()
    if kind in extra and kind not in known:
        unknown = set(raw) - extra[kind].settings - {"type"}
        if unknown:
            raise MenuError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
        return extra[kind].parse(name, raw)
    if kind not in known:
        raise MenuError(f"{where}.type: one of {', '.join(sorted(set(known) | set(extra)))} expected, got {kind!r}")
    unknown = set(raw) - known[kind]
    if unknown:
        raise MenuError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    if kind == "menu":
        keys = raw.get("keys")
        if not isinstance(keys, dict) or not keys:
            raise MenuError(f"{where}.keys: a table of key = node is required")
        for key, target in keys.items():
            if not _KEY.match(key):
                raise MenuError(f"{where}.keys: {key!r} is not a phone key")
            _name(target, f"{where}.keys.{key}")
        return MenuNode(name, _sound(raw.get("prompt"), f"{where}.prompt"), dict(keys),
                        timeout=_number(raw.get("timeout", 6.0), f"{where}.timeout", 0.5, 60),
                        tries=int(_number(raw.get("tries", 3), f"{where}.tries", 1, 10)),
                        invalid_prompt=_sound(raw.get("invalid_prompt", "invalid"), f"{where}.invalid_prompt",
                                              empty=True),
                        on_exhausted=_name(raw.get("on_exhausted", "hangup"), f"{where}.on_exhausted"))
    if kind == "authenticate":
        return AuthenticateNode(
            name, _name(raw.get("next"), f"{where}.next"),
            _name(raw.get("on_failure", raw.get("next")), f"{where}.on_failure"),
            customer_prompt=_sound(raw.get("customer_prompt", "vm-enter-num-to-call"), f"{where}.customer_prompt"),
            pin_prompt=_sound(raw.get("pin_prompt", "agent-pass"), f"{where}.pin_prompt"),
            failed_prompt=_sound(raw.get("failed_prompt", "auth-incorrect"), f"{where}.failed_prompt", empty=True),
            locked_prompt=_sound(raw.get("locked_prompt", "vm-sorry"), f"{where}.locked_prompt", empty=True),
            customer_digits=int(_number(raw.get("customer_digits", 10), f"{where}.customer_digits", 1, 32)),
            customer_prefix=_arg(raw.get("customer_prefix", ""), f"{where}.customer_prefix", empty=True),
            pin_digits=int(_number(raw.get("pin_digits", 6), f"{where}.pin_digits", 1, 16)),
            timeout=_number(raw.get("timeout", 8.0), f"{where}.timeout", 0.5, 60),
            tries=int(_number(raw.get("tries", 3), f"{where}.tries", 1, 10)))
    if kind == "queue":
        fallback = raw.get("fallback", [])
        if isinstance(fallback, str):
            fallback = [fallback]
        if not isinstance(fallback, list) or not fallback:
            raise MenuError(f"{where}.fallback: a node name or a list of node names is required")
        statuses = raw.get("fallback_on", ["JOINEMPTY", "LEAVEEMPTY", "TIMEOUT", "FULL"])
        if not isinstance(statuses, list) or any(s not in QUEUE_STATUSES for s in statuses):
            raise MenuError(f"{where}.fallback_on: QUEUESTATUS values ({', '.join(sorted(QUEUE_STATUSES))}) expected")
        options = raw.get("options", "t")
        if not isinstance(options, str) or not re.fullmatch(r"[A-Za-z]{0,16}", options):
            raise MenuError(f"{where}.options: letters only, got {options!r}")
        identify = raw.get("identify_by_phone", True)
        if not isinstance(identify, bool):
            raise MenuError(f"{where}.identify_by_phone: true or false expected")
        after_agent = _name(raw["after_agent"], f"{where}.after_agent") if "after_agent" in raw else ""
        if after_agent and "c" not in options:
            raise MenuError(f"{where}.after_agent: needs Queue option c (options = \"{options}c\"), "
                            "else Asterisk hangs the caller up with the agent")
        return QueueNode(name, _arg(raw.get("queue"), f"{where}.queue"),
                         tuple(_name(f, f"{where}.fallback") for f in fallback), options=options,
                         timeout=int(_number(raw.get("timeout", 45), f"{where}.timeout", 1, 86400)),
                         fallback_on=frozenset(statuses), identify_by_phone=identify, after_agent=after_agent)
    if kind == "voicemail":
        return VoicemailNode(name, _arg(raw.get("mailbox"), f"{where}.mailbox"),
                             options=_arg(raw.get("options", "su"), f"{where}.options", empty=True))
    return HangupNode(name, _sound(raw.get("prompt", ""), f"{where}.prompt", empty=True))


def _check_links(menu: Menu) -> None:
    def need(target: str, where: str) -> None:
        if target != "hangup" and target not in menu.nodes:
            raise MenuError(f"{where}: no node named {target!r}")

    need(menu.start, "start")
    for node in menu.nodes.values():
        where = f"nodes.{node.name}"
        if isinstance(node, MenuNode):
            for key, target in node.keys.items():
                need(target, f"{where}.keys.{key}")
            need(node.on_exhausted, f"{where}.on_exhausted")
        elif isinstance(node, AuthenticateNode):
            need(node.next, f"{where}.next")
            need(node.on_failure, f"{where}.on_failure")
        elif isinstance(node, QueueNode):
            for target in node.fallback:
                need(target, f"{where}.fallback")
            if node.after_agent:
                need(node.after_agent, f"{where}.after_agent")
        elif node.type in node_types():
            for setting, target in node_types()[node.type].links(node):
                need(target, f"{where}.{setting}")


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise MenuError(f"{where}: a name of letters, digits, '_' or '-' expected, got {value!r}")
    return value


def _sound(value: Any, where: str, empty: bool = False) -> str:
    if empty and value == "":
        return ""
    if not isinstance(value, str) or not _SOUND.match(value) or ".." in value:
        raise MenuError(f"{where}: a sound file name (letters, digits, _ . / -) expected, got {value!r}")
    return value


def _arg(value: Any, where: str, empty: bool = False) -> str:
    if not isinstance(value, str) or not _APP_ARG.match(value) or (not value and not empty):
        raise MenuError(f"{where}: letters, digits, '_', '@', '.', '-' expected, got {value!r}")
    return value


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= value <= high):
        raise MenuError(f"{where}: a number from {low:g} to {high:g} expected, got {value!r}")
    return float(value)
