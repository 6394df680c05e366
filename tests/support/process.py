"""`python -m ctiserver` started as an operator starts it, in a subprocess, and read line by line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def start_server(env: dict[str, str]) -> asyncio.subprocess.Process:
    """The server with JSON logs on stderr and ``env`` on top of this process's environment."""
    # lab: a test server may face a simulated Asterisk with the demo secrets (ctiserver/security.py)
    full = {**os.environ, "CTI_LOG_FORMAT": "json", "CTI_HTTP_SESSION_SECRET": "t", "CTI_SERVER_MODE": "lab", **env}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "ctiserver", cwd=ROOT, env=full,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def wait_for_line(proc: asyncio.subprocess.Process, needle: str, timeout: float = 60.0,
                        seen: list[str] | None = None) -> list[str]:
    """Read stderr until a line containing ``needle``; every line read is kept in ``seen``."""
    seen = [] if seen is None else seen

    async def scan() -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            seen.append(line.decode("utf-8", "replace"))
            if needle in seen[-1]:
                return
        raise AssertionError(f"server exited before printing {needle!r}:\n{''.join(seen[-30:])}")

    await asyncio.wait_for(scan(), timeout)
    return seen
