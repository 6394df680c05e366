"""Caller id texts as Asterisk reads and writes them (main/callerid.c).

``"Name" <number>``, ``Name <number>``, a bare number or a bare name; what
``Set(CALLERID(all)=...)`` and the FastAGI ``SET CALLERID`` accept.
"""

from __future__ import annotations

PHONE_CHARS = set("0123456789*#+")


def shrink_phone_number(number: str) -> str:
    """``ast_shrink_phone_number``: drop ``( )``, blanks, dashes outside ``[]`` and a dot not at the end."""
    out, bracketed = [], 0
    for i, c in enumerate(number):
        if c == "[":
            bracketed += 1
        elif c == "]":
            bracketed -= 1
        elif c == "-" and not bracketed:
            continue
        elif c == "." and i + 1 < len(number):
            continue
        elif c in "( )":
            continue
        out.append(c)
    return "".join(out)


def _strip_quoted(text: str) -> tuple[str, bool]:
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1], True
    if text == '"':
        return "", True
    return text, False


def parse(text: str) -> tuple[str | None, str | None]:
    """``ast_callerid_parse``: (name, number), either None when the text has none."""
    instr, quoted = _strip_quoted(text)
    lt = instr.rfind("<")
    if lt >= 0:
        gt = instr.rfind(">", lt)
        number = instr[lt + 1:gt] if gt >= 0 else instr[lt + 1:]
        name, _ = _strip_quoted(instr[:lt])
        return name.replace('\\"', '"'), number
    shrunk = shrink_phone_number(instr)
    if not quoted and shrunk and set(shrunk) <= PHONE_CHARS:
        return None, shrunk
    return _strip_quoted(instr)[0].replace('\\"', '"'), None


def split(text: str) -> tuple[str, str]:
    """``ast_callerid_split``: (name, number) with '' for a missing part, the number shrunk."""
    name, number = parse(text)
    return name or "", shrink_phone_number(number) if number is not None else ""
