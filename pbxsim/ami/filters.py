"""Which events an AMI session is sent: a manager.conf user's ``read =`` classes and ``eventfilter``s.

As Asterisk 22's main/manager.c decides, per session and per event (checked against its
source, 22.10.1, and on a running Asterisk with asterisk_conf/manager.conf):

1. Classes. An event goes to a session only if *every* class of its ``Privilege:`` header
   (``call,all`` -> {call}; ``all`` is only the trailer) is among the user's ``read =``
   classes; ``all`` grants every class, a user without ``read =`` gets no event at all.
2. Filters (``eventfilter`` lines of the user's section, copied into each session at login;
   the AMI ``Filter`` action adds more to one session). None: every event. Include filters
   only: an event must match one. Exclude filters only: an event must match none. Both: it
   must match an include filter and then no exclude filter.

A filter is either *legacy*, ``eventfilter = [!]REGEX`` (a POSIX extended regex searched in
the whole event text, ``Event: ...\\r\\nPrivilege: ...\\r\\n...\\r\\n``; ``!`` excludes), or
*advanced*, ``eventfilter(action(include|exclude),name(EVENT),header(HEADER),method(M)) = [TEXT]``
with at most one of each criterion in any order:

- ``name(EVENT)``: the event's name, exactly (case-sensitive; Asterisk compares hashes);
- ``header(HEADER)``: every line of the event starting with ``HEADER:`` is tried, the value
  being what follows the colon minus leading blanks (a line with an empty value is skipped);
  without ``header`` the whole event text is tried;
- ``method``: ``regex`` (searched), ``exact``, ``starts_with``, ``ends_with``, ``contains``
  (literal), ``none`` (no text: name and/or header presence alone decide). Default ``none``;
  ``none`` with a TEXT, or another method without one, is a format error;
- ``action``: ``include`` (default) or ``exclude``; a TEXT starting with ``!`` also excludes
  unless ``action`` says otherwise (the ``!`` is dropped either way).

A malformed or non-compiling filter is reported (Asterisk logs a warning) and ignored.
Python's ``re`` stands in for POSIX ERE with ``.`` matching line ends too (REG_NEWLINE is
not set), which is the same for the patterns a manager.conf uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

#: main/manager.c perms[]: the event classes (``all`` grants every one, ``none`` none).
CLASSES = frozenset({"system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf",
                     "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security",
                     "message"})
METHODS = frozenset({"regex", "exact", "starts_with", "ends_with", "contains", "none"})


class FilterError(ValueError):
    """A filter Asterisk would refuse; ``kind`` is ``format`` or ``compile`` (its two refusals)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class EventFilter:
    """One ``eventfilter`` (or ``Filter`` action) entry."""

    exclude: bool
    name: str | None
    header: str | None  # with its colon: "Variable:"
    method: str
    text: str
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, name: str, data: str) -> bool:
        """Does the event called ``name`` whose text is ``data`` match this filter?"""
        if self.name is not None and self.name != name:
            return False
        if self.header is None:
            return self._match(data)
        for line in data.split("\n"):
            if line.startswith(self.header):
                value = line[len(self.header):].rstrip("\r").lstrip(" \t")
                if value and self._match(value):
                    return True
        return False

    def _match(self, value: str) -> bool:
        m = self.method
        if m == "none":
            return True
        if m == "regex":
            assert self.regex is not None
            return self.regex.search(value) is not None
        if m == "exact":
            return value == self.text
        if m == "starts_with":
            return value.startswith(self.text)
        if m == "ends_with":
            return value.endswith(self.text)
        return self.text in value  # contains


def _option(option: str, word: str) -> str:
    value = option[len(word):].strip()
    if not value.startswith("("):
        raise FilterError("format", f"{word!r} is not written {word}(...)")
    return value[1:].strip()


def parse_filter(criteria: str, text: str) -> EventFilter:
    """A filter from its manager.conf key (``eventfilter`` or ``eventfilter(...)``) and value."""
    if not criteria:
        raise FilterError("format", "missing criteria")
    exclude = False
    if text.startswith("!"):
        exclude, text = True, text[1:]
    name = header = None
    method = "regex"
    start = criteria.find("(")
    if start < 0:
        if not text:
            raise FilterError("format", f"legacy filter {criteria} = {text!r} without a pattern")
    else:
        inner = criteria[start + 1:].strip()
        if not inner or not inner.endswith(")"):
            raise FilterError("format", f"filter options of {criteria!r} not formatted correctly")
        method, found = "none", set()
        for option in (o for o in re.split(r"[ ,)]+", inner) if o):
            if option.startswith("action"):
                action = _option(option, "action")
                if action not in ("include", "exclude"):
                    raise FilterError("format", f"action {action!r} is unknown")
                exclude = action == "exclude"
                found.add("action")
            elif option.startswith("name"):
                name = _option(option, "name")
                if not name:
                    raise FilterError("format", "name() is empty")
                found.add("name")
            elif option.startswith("header"):
                header = _option(option, "header")
                if not header:
                    raise FilterError("format", "header() is empty")
                header = header if header.endswith(":") else header + ":"
                found.add("header")
            elif option.startswith("method"):
                method = _option(option, "method")
                if method not in METHODS:
                    raise FilterError("format", f"method {method!r} is unknown")
                found.add("method")
            else:
                raise FilterError("format", f"filter option {option!r} is unknown")
        if not found:
            raise FilterError("format", "no action, name, header or method option")
        if not text and method != "none":
            raise FilterError("format", f"method can't be {method!r} with no filter pattern")
        if text and method == "none":
            raise FilterError("format", "method can't be 'none' with a filter pattern")
        if name is None and header is None and method == "none":
            raise FilterError("format", "no name or header option and no filter pattern")
    regex = None
    if text and method == "regex":
        try:
            regex = re.compile(text, re.DOTALL)
        except re.error as exc:
            raise FilterError("compile", f"filter {text!r} does not compile: {exc}") from exc
    return EventFilter(exclude, name, header, method, text, regex)


def read_classes(value: str | None) -> frozenset[str]:
    """``read =`` as a set of classes (``all`` -> every class; missing -> none)."""
    words = {w.strip().lower() for w in (value or "").split(",") if w.strip()}
    return CLASSES if "all" in words else frozenset(words & CLASSES)


@dataclass
class SessionFilter:
    """What one session is sent: its user's read classes and include/exclude filters.

    Decisions are cached per ``Privilege`` value and per event name, and an event whose
    name decides alone (only ``name()`` filters concern it) is never looked into: the
    load source and the simulator ask this for every event they send.
    """

    read: frozenset[str] = CLASSES
    include: list[EventFilter] = field(default_factory=list)
    exclude: list[EventFilter] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (criteria, text, why) ignored
    _classes: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)
    _names: dict[str, bool | tuple[list[EventFilter], list[EventFilter], bool]] = field(
        default_factory=dict, repr=False, compare=False)

    def add(self, f: EventFilter) -> None:
        (self.exclude if f.exclude else self.include).append(f)
        self._names.clear()

    @property
    def filtering(self) -> bool:
        return bool(self.include or self.exclude)

    def copy(self) -> SessionFilter:
        return SessionFilter(self.read, list(self.include), list(self.exclude), list(self.refused))

    def permits_classes(self, privilege: str) -> bool:
        ok = self._classes.get(privilege)
        if ok is None:
            classes = {c.strip() for c in privilege.split(",")} - {"all", ""}
            ok = self._classes[privilege] = classes <= self.read
        return ok

    def _for_name(self, name: str) -> bool | tuple[list[EventFilter], list[EventFilter], bool]:
        """True/False when ``name`` alone decides, else the (include, exclude) filters that concern it."""
        found = self._names.get(name)
        if found is None:
            inc = [f for f in self.include if f.name in (None, name)]
            exc = [f for f in self.exclude if f.name in (None, name)]
            by_name = all(f.header is None and f.method == "none" for f in inc + exc)
            if by_name:
                found = (not self.include or bool(inc)) and not exc
            else:
                found = (inc, exc, bool(self.include))
            self._names[name] = found
        return found

    def reads(self, name: str) -> frozenset[str] | None:
        """The headers (with their colon) whose values decide for an event called ``name``:
        empty when the name alone decides, None when a filter reads the event's whole text."""
        found = self._for_name(name)
        if isinstance(found, bool):
            return frozenset()
        inc, exc, _ = found
        if any(f.header is None for f in inc + exc):
            return None
        return frozenset(f.header for f in inc + exc if f.header is not None)

    def passes_filters(self, name: str, data: str) -> bool:
        found = self._for_name(name)
        if isinstance(found, bool):
            return found
        inc, exc, any_include = found
        if any_include and not any(f.matches(name, data) for f in inc):
            return False
        return not any(f.matches(name, data) for f in exc)

    def allows(self, name: str, privilege: str, data: str) -> bool:
        """Is an event called ``name`` with this ``Privilege:`` and text ``data`` sent to the session?"""
        return self.permits_classes(privilege) and (not self.filtering or self.passes_filters(name, data))

    def allows_fields(self, fields: list[tuple[str, str]]) -> bool:
        """The same for an event given as its header pairs (``Event`` and ``Privilege`` first)."""
        headers = {k.lower(): v for k, v in reversed(fields)}
        data = "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"
        return self.allows(headers.get("event", ""), headers.get("privilege", ""), data)


def _strip_comment(line: str) -> str:
    """Asterisk config: ``;`` starts a comment unless escaped as ``\\;`` (which stands for ``;``)."""
    out, i = [], 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line) and line[i + 1] == ";":
            out.append(";")
            i += 2
            continue
        if c == ";":
            break
        out.append(c)
        i += 1
    return "".join(out).strip()


def user_entries(text: str) -> dict[str, list[tuple[str, str]]]:
    """manager.conf as {section: [(key as written, value), ...]} in file order."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if not line:
            continue
        if line.startswith("["):
            name = line[1:line.index("]")] if "]" in line else line[1:]
            current = sections.setdefault(name.strip(), [])
        elif current is not None and "=" in line:
            key, _, value = line.partition("=")
            current.append((key.strip(), value.lstrip(">").strip()))
    return sections


def for_user(text: str, user: str) -> SessionFilter | None:
    """The filter of ``user``'s section of a manager.conf text, or None when it has no section."""
    sections = user_entries(text)
    if user == "general" or user not in sections:
        return None
    entries = sections[user]
    read = next((v for k, v in reversed(entries) if k.lower() == "read"), None)
    out = SessionFilter(read=read_classes(read))
    for key, value in entries:
        if key.startswith("eventfilter"):
            try:
                out.add(parse_filter(key, value))
            except FilterError as exc:
                out.refused.append((key, value, str(exc)))
    return out


def load(path: str | Path, user: str) -> SessionFilter | None:
    """``for_user`` of the manager.conf at ``path`` (None when the file or the section is missing)."""
    p = Path(path)
    return for_user(p.read_text(encoding="utf-8"), user) if p.exists() else None
