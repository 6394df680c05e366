"""Bulk import of people from CSV, all rows or none.

All-or-nothing, because an import is a roster: with half of it in, the admin must work out which
rows went in before sending the rest again, and a re-sent file would then clash with itself. So
every row is checked first (each error with its line number and field), then every row is written
in one transaction; a clash found by PostgreSQL (a login or extension taken meanwhile) rolls the
whole file back and is reported on its line too.

Columns (header row required): ``login,name,role,department,interface,queues,password``, and
``phone`` (``desk`` or ``browser``, empty: desk) when wanted; ``queues`` is ``support:0;sales:5``
(queue:penalty); an empty ``password`` gives a one-time
password, returned once in the report and changed at first sign-in.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import asyncpg

from ctiserver.admin import people
from ctiserver.admin.people import PERSON
from ctiserver.admin.service import (
    UNIQUE_FIELD,
    Admin,
    check_department,
    insert_person,
    run_hooks,
)
from ctiserver.agents.passwords import one_time_password, password_problem
from ctiserver.apischema import INT, STR, array, nullable, obj
from ctiserver.errors import CtiError, InvalidInput

MAX_BYTES = 1_000_000
MAX_ROWS = 5000
COLUMNS = (
    "login",
    "name",
    "role",
    "department",
    "interface",
    "queues",
    "password",
    "phone",
)


def _queues(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, penalty = part.partition(":")
        out[name.strip()] = penalty.strip() if sep else "0"
    return out


def _reader(raw: bytes) -> csv.DictReader:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the file must be UTF-8 text", field="body") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("login", "name", "role") if c not in header]
    if missing:
        raise InvalidInput(
            f"the header row lacks {', '.join(missing)}; columns: {','.join(COLUMNS)}",
            field="body",
        )
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InvalidInput(
            f"unknown column {unknown[0]!r}; columns: {','.join(COLUMNS)}", field="body"
        )
    reader.fieldnames = header
    return reader


def check(
    raw: bytes,
    known_queues: frozenset[str],
    taken_logins: set[str],
    taken_interfaces: set[str],
) -> tuple[list[dict], list[dict]]:
    """Rows ready to write and the errors found ({line, field, message}), against the file itself
    and against the people already stored."""
    rows: list[dict] = []
    problems: list[dict] = []
    seen_logins: dict[str, int] = {}
    seen_interfaces: dict[str, int] = {}
    reader = _reader(raw)
    end = reader.line_num  # the header's last line
    for record in reader:
        line, end = (
            end + 1,
            reader.line_num,
        )  # a row's first line (a quoted cell may span lines)
        if len(rows) + len(problems) >= MAX_ROWS:
            raise InvalidInput(f"at most {MAX_ROWS} rows per file", field="body")
        cells = {k: (val or "").strip() for k, val in record.items() if k is not None}
        if None in record:
            problems.append(
                {"line": line, "field": "row", "message": "more cells than columns"}
            )
            continue
        try:
            login = people.check_login(cells.get("login", ""))
            body: dict[str, Any] = {
                "name": cells.get("name", ""),
                "role": cells.get("role", ""),
                "department": cells.get("department", ""),
                "interface": cells.get("interface", ""),
                "queues": _queues(cells.get("queues", "")),
                "phone": cells.get("phone") or None,
            }
            fields = people.check_fields(body, known_queues, partial=False)
            check_department(fields)
            if login.lower() in taken_logins:
                raise InvalidInput("login already exists", field="login")
            if login.lower() in seen_logins:
                raise InvalidInput(
                    f"login repeated (line {seen_logins[login.lower()]})", field="login"
                )
            iface = fields.get("interface", "")
            if iface and iface in taken_interfaces:
                raise InvalidInput(
                    f"extension {iface} already used by another active person",
                    field="interface",
                )
            if iface and iface in seen_interfaces:
                raise InvalidInput(
                    f"extension {iface} repeated (line {seen_interfaces[iface]})",
                    field="interface",
                )
            password, shown = cells.get("password", ""), None
            if not password:
                password = shown = one_time_password()
            problem = password_problem(password, login)
            if problem:
                raise InvalidInput(problem, field="password")
        except CtiError as exc:
            problems.append(
                {"line": line, "field": exc.field or "row", "message": exc.message}
            )
            continue
        seen_logins[login.lower()] = line
        if iface:
            seen_interfaces[iface] = line
        rows.append(
            {
                "line": line,
                "login": login,
                "fields": fields,
                "password": password,
                "shown": shown,
            }
        )
    return rows, problems


# The schema of import_csv()'s report (201 when imported, 422 with the rows' problems).
REPORT = obj(
    {"imported": INT,
     "errors": array(obj({"line": INT, "field": STR, "message": STR}, closed=True)),
     "people": array(obj(PERSON["properties"] | {"one_time_password": nullable(STR)}))},
    closed=True,
)


async def import_csv(admin: Admin, actor: str, raw: bytes) -> dict[str, Any]:
    """Check every row, then write them all in one transaction, or none: the report says which."""
    existing = await admin._run(
        lambda c: c.fetch("SELECT login, interface, disabled FROM agents")
    )
    taken_logins = {r["login"].lower() for r in existing}
    taken_interfaces = {
        r["interface"] for r in existing if r["interface"] and not r["disabled"]
    }
    rows, problems = check(raw, admin.known_queues(), taken_logins, taken_interfaces)
    if not rows and not problems:
        raise InvalidInput("the file has no rows", field="body")
    if problems:
        return {"imported": 0, "errors": problems, "people": []}

    extras: dict[str, dict[str, Any]] = {}

    async def write(conn: asyncpg.Connection) -> list[Any]:
        written = []
        async with conn.transaction():
            for row in rows:
                try:
                    record = await insert_person(
                        conn,
                        actor,
                        row["login"],
                        row["fields"],
                        row["password"],
                        row["shown"] is not None,
                    )
                    record, extras[row["login"]] = await run_hooks(
                        conn, admin.person_hooks, actor, "person.create", record
                    )
                    written.append(record)
                except asyncpg.UniqueViolationError as exc:
                    field = UNIQUE_FIELD.get(exc.constraint_name or "", "login")
                    raise _RowClash(row["line"], field) from None
                # refused by a hook (e.g. the phone account's name)
                except CtiError as exc:
                    raise _RowClash(
                        row["line"], exc.field or "row", exc.message
                    ) from None
        return written

    try:
        written = await admin._run(write)
    except _RowClash as clash:
        return {
            "imported": 0,
            "people": [],
            "errors": [
                {
                    "line": clash.line,
                    "field": clash.field,
                    "message": clash.message or f"{clash.field} taken meanwhile",
                }
            ],
        }
    for record in written:
        admin._refresh(record)
    shown = {r["login"]: r["shown"] for r in rows}
    return {
        "imported": len(written),
        "errors": [],
        "people": [
            {
                **people.person_json(r),
                **extras[r["login"]],
                "one_time_password": shown[r["login"]],
            }
            for r in written
        ],
    }


class _RowClash(Exception):
    def __init__(self, line: int, field: str, message: str = "") -> None:
        super().__init__(line, field)
        self.line, self.field, self.message = line, field, message
