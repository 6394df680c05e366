"""The person record an admin edits: checking each field (errors name the field) and its JSON shape.

A person is one ``agents`` row, keyed by its login. A SIP account is attached later as its own
table keyed by the same id (``agents.id``), so this record needs no change to gain a phone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ctiserver.agents.book import ROLES
from ctiserver.apischema import BOOL, INT, STR, TIME, enum, mapping, obj
from ctiserver.errors import InvalidInput
from ctiserver.web import validate as v

LOGIN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}"
INTERFACE = re.compile(r"(PJSIP|SIP|Local|IAX2)/[A-Za-z0-9_.@-]{1,60}")
MAX_PENALTY = 100

# Fields an admin may set, as the API and the CSV import name them.
EDITABLE = ("name", "role", "department", "interface", "queues", "phone")
# Where a person takes calls: a desk/desktop softphone, or the panel's browser phone (WebRTC).
PHONES = ("desk", "browser")


def check_login(value: Any, field: str = "login") -> str:
    return v.token(
        value,
        field,
        pattern=LOGIN,
        max_len=32,
        what="letters, digits, '_', '.', '-' (1 to 32)",
    )


def check_queues(
    value: Any, known: frozenset[str], field: str = "queues"
) -> dict[str, int]:
    """``{"support": 0}``: each queue one the CTI knows, each penalty 0..100."""
    if not isinstance(value, Mapping):
        raise InvalidInput(
            "queues must be an object of queue name -> penalty", field=field
        )
    out: dict[str, int] = {}
    for name, penalty in value.items():
        if name not in known:
            raise InvalidInput(
                f"unknown queue {name!r}; known: {', '.join(sorted(known))}",
                field=field,
            )
        out[name] = v.integer(
            penalty, f"{field}.{name}", minimum=0, maximum=MAX_PENALTY
        )
    return out


def check_fields(
    body: Mapping[str, Any], known_queues: frozenset[str], *, partial: bool
) -> dict[str, Any]:
    """The editable fields of ``body`` checked; all of name/role required unless ``partial``."""
    out: dict[str, Any] = {}
    if "name" in body or not partial:
        out["name"] = v.text(body.get("name"), "name", max_len=100)
    if "role" in body or not partial:
        out["role"] = v.choice(body.get("role"), "role", ROLES)
    if body.get("department") is not None:
        out["department"] = v.text(
            body["department"], "department", max_len=64, min_len=0
        )
    if body.get("interface") is not None:
        iface = body["interface"]
        if not isinstance(iface, str) or (iface and not INTERFACE.fullmatch(iface)):
            raise InvalidInput(
                "interface must look like PJSIP/1004 (or be empty)", field="interface"
            )
        out["interface"] = iface
    if body.get("queues") is not None:
        out["queues"] = check_queues(body["queues"], known_queues)
    if body.get("phone") is not None:
        out["phone"] = v.choice(body["phone"], "phone", PHONES)
    return out


# The schema of person_json(); open: a person hook may add its own keys (the SIP account shown once).
PERSON = obj(
    {"login": STR, "id": STR, "name": STR, "role": enum(*ROLES), "department": STR, "interface": STR,
     "queues": mapping(INT),  # queue -> penalty
     "phone": enum(*PHONES), "disabled": BOOL, "must_change_password": BOOL, "version": INT,
     "created_at": TIME, "updated_at": TIME},
)


def person_json(row: Any) -> dict[str, Any]:
    """What an admin sees of a person (never the password hash)."""
    return {
        "login": row["login"],
        "id": row["id"],
        "name": row["name"],
        "role": row["role"],
        "department": row["department"],
        "interface": row["interface"],
        "queues": {str(k): int(p or 0) for k, p in (row["queues"] or {}).items()},
        "phone": row["phone"],
        "disabled": row["disabled"],
        "must_change_password": row["must_change_password"],
        "version": row["version"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def audit_view(person: Mapping[str, Any]) -> dict[str, Any]:
    """A person as the audit records it: the fields that change, never a password."""
    return {
        k: person.get(k)
        for k in (
            "name",
            "role",
            "department",
            "interface",
            "queues",
            "phone",
            "disabled",
        )
    }
