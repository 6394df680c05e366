"""Dialplan variable substitution (${...}) and $[ ... ] expressions."""

from __future__ import annotations

import re
from typing import Callable

Lookup = Callable[[str], str]


def _find_close(s: str, start: int, open_: str, close: str) -> int:
    depth = 0
    i = start
    while i < len(s):
        if s.startswith(open_, i):
            depth += 1
            i += len(open_)
            continue
        if s[i] == close:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced {open_} in {s!r}")


def substitute(text: str, lookup: Lookup) -> str:
    """Expand ``${VAR}``, ``${VAR:off:len}`` and ``$[expr]`` like pbx_substitute_variables."""
    out = []
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            j = _find_close(text, i, "${", "}")
            inner = substitute(text[i + 2:j], lookup)
            out.append(_variable(inner, lookup))
            i = j + 1
        elif text.startswith("$[", i):
            j = _find_close(text, i, "$[", "]")
            inner = substitute(text[i + 2:j], lookup)
            out.append(evaluate(inner))
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _split_offsets(spec: str) -> tuple[str, str | None]:
    """pbx_variables.c parse_variable_name: the first ``:`` outside parentheses starts the offsets.

    So ``CALLERID(num):0:3`` is the function ``CALLERID(num)`` cut to its first three
    characters, while the ``:`` of ``IF(c?a:b)`` belongs to the function's arguments.
    """
    depth = 0
    for i, c in enumerate(spec):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == ":" and depth == 0:
            return spec[:i], spec[i + 1:]
    return spec, None


def _int_prefix(text: str) -> int | None:
    m = re.match(r"\s*(-?\d+)", text)
    return int(m.group(1)) if m else None


def _variable(spec: str, lookup: Lookup) -> str:
    name, offs = _split_offsets(spec)
    value = lookup(name)
    if offs is None:
        return value
    # sscanf("%d:%d"): a missing or unreadable offset is 0, a missing length means the rest
    first, _, second = offs.partition(":")
    off = _int_prefix(first) or 0
    length = _int_prefix(second) if second else None
    value = value[off:]
    if length is not None:
        value = value[:length]
    return value


_TOKEN = re.compile(r'\s*("(?:[^"]*)"|<=|>=|!=|=|<|>|\+|-|\*|/|%|\(|\)|&|\||[^\s<>=!+\-*/%()&|"]+)')


def _tokens(text: str) -> list[str]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"bad expression {text!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


def _num(v: str) -> int | None:
    """A number for the expression parser: optional minus and digits only (so "+86" is a string)."""
    return int(v) if re.fullmatch(r"-?\d+", v) else None


class _Parser:
    def __init__(self, toks: list[str]):
        self.t, self.i = toks, 0

    def peek(self) -> str | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self) -> str:
        tok = self.t[self.i]
        self.i += 1
        return tok

    def parse(self) -> str:
        v = self.or_()
        return v

    def or_(self) -> str:
        v = self.and_()
        while self.peek() == "|":
            self.take()
            r = self.and_()
            v = v if v not in ("", "0") else r
        return v

    def and_(self) -> str:
        v = self.cmp()
        while self.peek() == "&":
            self.take()
            r = self.cmp()
            v = v if (v not in ("", "0") and r not in ("", "0")) else "0"
        return v

    def cmp(self) -> str:
        v = self.add()
        while self.peek() in ("=", "!=", "<", ">", "<=", ">="):
            op = self.take()
            r = self.add()
            a, b = _num(v), _num(r)
            x, y = (a, b) if a is not None and b is not None else (v, r)
            res = {"=": x == y, "!=": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]
            v = "1" if res else "0"
        return v

    def add(self) -> str:
        v = self.mul()
        while self.peek() in ("+", "-"):
            op = self.take()
            r = self.mul()
            a, b = _num(v), _num(r)
            if a is None or b is None:
                raise ValueError(f"non-numeric operand in {v!r} {op} {r!r}")
            v = str(a + b if op == "+" else a - b)
        return v

    def mul(self) -> str:
        v = self.atom()
        while self.peek() in ("*", "/", "%"):
            op = self.take()
            r = self.atom()
            a, b = _num(v), _num(r)
            if a is None or b is None or (op != "*" and b == 0):
                raise ValueError(f"bad operands {v!r} {op} {r!r}")
            v = str(a * b if op == "*" else (int(a / b) if op == "/" else a % b))
        return v

    def atom(self) -> str:
        tok = self.take()
        if tok == "(":
            v = self.or_()
            if self.peek() == ")":
                self.take()
            return v
        if tok == "-" and self.peek() is not None:
            return str(-int(self.atom()))
        if tok.startswith('"') and tok.endswith('"') and len(tok) >= 2:
            return tok[1:-1]
        return tok


def evaluate(text: str) -> str:
    """Evaluate an expression body (what is inside ``$[ ]``); '' for an empty one."""
    # A malformed expression yields '' (Asterisk logs a syntax error and goes on).
    try:
        toks = _tokens(text)
        if not toks:
            return ""
        p = _Parser(toks)
        v = p.parse()
        if p.peek() is not None:
            return ""
        return v
    except (ValueError, IndexError):
        return ""
