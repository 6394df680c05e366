"""CSV answers: the standard library's writer, UTF-8 with a BOM (spreadsheets then read Chinese
right), and cells that a spreadsheet would run as a formula (= + - @, tab, CR) quoted with a '."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One cell's text: None empty, numbers as written, text made inert if it looks like a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def render(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """The whole file: a header line, then one line per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def safe_name(text: str) -> str:
    """A file name made of the characters every browser keeps."""
    return (
        "".join(
            ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in text
        )[:80]
        or "export"
    )
