"""IVR node types beyond the built-in five, one module each, found here by themselves.

A module of this package defines its node (a frozen dataclass with ``name`` and ``type``)
and calls ``register(NodeType(...))`` at import: the type's name, the settings a menu file
may give it, ``parse`` (raw TOML table -> node, raising MenuError naming the setting),
``links`` (the (setting, node name) pairs the menu must define) and ``run`` (the session and
the node -> the next node's name, or None when the call is routed or over). ``ivr/menu.py``
and ``ivr/server.py`` ask ``node_types()`` for any type they do not know themselves, so a new
node type is a new module here and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class NodeType:
    """How a menu file's ``type = "<name>"`` table is read, checked and run."""

    name: str
    settings: frozenset[str]
    parse: Callable[[str, dict[str, Any]], Any]
    links: Callable[[Any], Iterable[tuple[str, str]]]
    run: Callable[[Any, Any], Awaitable[str | None]]


_TYPES: dict[str, NodeType] = {}
_loaded = False


def register(node_type: NodeType) -> None:
    """Make ``node_type`` known to menus (called by each module of this package at import)."""
    _TYPES[node_type.name] = node_type


def node_types() -> dict[str, NodeType]:
    """Every node type of this package, its modules imported once."""
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{__name__}.{info.name}")
        _loaded = True
    return _TYPES
