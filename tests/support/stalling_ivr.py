"""``python -m ivr`` whose event loop blocks in the first caller's session.

A stand-in for what stalls a real IVR (a blocking call in the loop, a runaway
computation): the process is the real one, with its real watchdog (ivr/watchdog.py).
Run as ``python -m tests.support.stalling_ivr --port N`` (the arguments of ``python -m ivr``).
"""

from __future__ import annotations

import sys
import time

from ivr import __main__ as ivr_main
from ivr.server import IvrServer


async def _stuck(self: IvrServer, reader: object, writer: object) -> None:
    time.sleep(3600)  # noqa: ASYNC251 - the point: it blocks the whole loop, every caller of this IVR waits


IvrServer._session = _stuck  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(ivr_main.main(sys.argv[1:]))
