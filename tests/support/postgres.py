"""A real, throwaway PostgreSQL for the tests (never a mock database).

``postgres_dsn()`` returns ``$CTI_TEST_DSN`` when set; otherwise it starts one
cluster per test process with ``scripts/pg.sh`` in a temporary directory on a
free port, and stops and deletes it when the process exits (also when the
process is killed: a small watchdog outlives it just long enough to clean up).
``fresh_database(dsn)`` gives a test module its own empty database.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
PG_SH = ROOT / "scripts" / "pg.sh"

_lock = threading.Lock()
_dsn: str | None = None

# Runs in its own session: when the test process is gone (even SIGKILLed), stop the
# cluster and delete its directory, so no postgres is left running behind a crash.
_WATCHDOG = """
import os, shutil, subprocess, sys, time
pid, pg_sh, base = int(sys.argv[1]), sys.argv[2], sys.argv[3]
while True:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    time.sleep(0.5)
subprocess.run(["bash", pg_sh, "stop", base], capture_output=True)
shutil.rmtree(base, ignore_errors=True)
"""


def postgres_dsn() -> str:
    """DSN of the test PostgreSQL: ``$CTI_TEST_DSN`` or a throwaway cluster started once per process."""
    global _dsn
    given = os.environ.get("CTI_TEST_DSN")
    if given:
        return given
    with _lock:
        if _dsn is None:
            _dsn = _start_throwaway()
        return _dsn


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_throwaway() -> str:
    base = tempfile.mkdtemp(prefix="cti-test-pg-")
    watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(PG_SH), base],
                                start_new_session=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(_stop, base, watchdog)
    errors = ""
    for _ in range(3):  # another process may grab the free port between the probe and the bind
        proc = subprocess.run(["bash", str(PG_SH), "start", base, str(free_port())],
                              capture_output=True, text=True, timeout=180)
        if proc.returncode == 0:
            return proc.stdout.strip().splitlines()[-1]
        errors = proc.stderr
    raise RuntimeError(f"could not start a throwaway PostgreSQL with {PG_SH}:\n{errors}")


def _stop(base: str, watchdog: subprocess.Popen) -> None:
    subprocess.run(["bash", str(PG_SH), "stop", base], capture_output=True, timeout=120)
    shutil.rmtree(base, ignore_errors=True)
    watchdog.kill()
    watchdog.wait()


def with_database(dsn: str, name: str) -> str:
    """The same DSN pointing at another database."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def fresh_database(dsn: str) -> str:
    """Create a new, empty database with a unique name on the server of ``dsn``; return its DSN."""
    name = f"cti_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(dsn)
    try:
        # template0 is tiny and never has connections, so the copy is quick and cannot be blocked.
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    finally:
        await conn.close()
    return with_database(dsn, name)


async def drop_database(dsn: str) -> None:
    """Drop the database of ``dsn`` (made by fresh_database), closing its leftover connections."""
    name = urlsplit(dsn).path.lstrip("/")
    if not name.startswith("cti_test_"):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    conn = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
