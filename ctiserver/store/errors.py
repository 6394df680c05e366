"""Translate asyncpg and socket errors into one clear line for the user."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import unquote, urlsplit

import asyncpg

from ctiserver.errors import Unavailable


class StoreUnavailable(Unavailable):
    """PostgreSQL cannot be reached or refused us; nothing was changed."""


# Errors that say "the database is not there right now", as opposed to a bad query or bad data.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.InterfaceError,          # pool closed, connection closed under us
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.PostgresConnectionError,  # class 08
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutting down, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: too many connections, disk full
)


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` means PostgreSQL is unreachable (retry later), not that the request is wrong."""
    return isinstance(exc, OUTAGE_ERRORS)


def is_data_error(exc: BaseException) -> bool:
    """True when PostgreSQL refused the values themselves (data exception, constraint violation)."""
    return isinstance(exc, asyncpg.PostgresError) and str(getattr(exc, "sqlstate", "") or "")[:2] in ("22", "23")


def describe_target(dsn: str) -> str:
    """``host:port/db`` of a DSN, never its password."""
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or "localhost"
        port = parts.port or 5432
        db = unquote(parts.path.lstrip("/")) or unquote(parts.username or "") or "postgres"
    except ValueError:
        return "(unparsable DSN)"
    return f"{host}:{port}/{db}"


def reason(exc: BaseException) -> str:
    """A short lower-case reason for a connection failure."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timed out"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text


def connect_error(dsn: str, exc: BaseException) -> StoreUnavailable:
    """The one-line error for a failed ``Store.open``."""
    if isinstance(exc, (asyncpg.exceptions.ClientConfigurationError, ValueError)) and not isinstance(exc, OSError):
        return StoreUnavailable(f"invalid PostgreSQL DSN for {describe_target(dsn)}: {reason(exc)}")
    return StoreUnavailable(f"cannot reach PostgreSQL at {describe_target(dsn)}: {reason(exc)}")
