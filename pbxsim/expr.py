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


def _variable(spec: str, lookup: Lookup) -> str:
    m = re.match(r"^(.*?\))?([^:]*)((?::-?\d+){1,2})?$", spec) if not spec.endswith(")") else None
    name, offs = spec, None
    if m and m.group(1) is None and m.group(3):
        name, offs = m.group(2), m.group(3)
    value = lookup(name)
    if offs:
        nums = [int(x) for x in offs[1:].split(":")]
        off = nums[0]
        value = value[off:] if off >= 0 else value[off:]
        if len(nums) > 1:
            ln = nums[1]
            value = value[:ln] if ln >= 0 else value[:ln]
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
    try:
        return int(v)
    except ValueError:
        return None


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
