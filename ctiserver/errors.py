"""Domain errors: a stable code and a message, no HTTP inside.

The web layer's error middleware maps each class to a status (400/401/403/404/
409/503); the domain never speaks HTTP. Lower-level errors (AMI, database) are
translated at their boundary with ``raise ... from exc``.
"""

from __future__ import annotations


class CtiError(Exception):
    """Base of every error a user may see."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field

    def as_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


class InvalidInput(CtiError):
    """A value given by a caller is malformed or out of range (names the field)."""

    code = "invalid_input"


class Unauthenticated(CtiError):
    code = "unauthenticated"


class Forbidden(CtiError):
    code = "forbidden"


class NotFound(CtiError):
    code = "not_found"


class Conflict(CtiError):
    """The request is well formed but the current state refuses it (e.g. already signed in)."""

    code = "conflict"


class Unavailable(CtiError):
    """A back end (Asterisk, PostgreSQL) cannot do it right now; nothing was changed."""

    code = "unavailable"
