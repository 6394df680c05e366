"""The baseline: a bare panoramisk 1.4 client reading the same AMI stream as the server.

Run by bench/pop_latency.py in its own process (so its CPU is measured apart). Prints one
JSON line per AgentCalled ({"linkedid", "interface", "ts", "recv"}) and, on SIGTERM, a
final {"events": N} line.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

from panoramisk import Manager


async def main(host: str, port: int, user: str, secret: str) -> None:
    count = 0

    def on_event(manager: Manager, msg) -> None:  # noqa: ANN001 - panoramisk's Message
        nonlocal count
        count += 1
        if msg.get("Event") == "AgentCalled":
            print(json.dumps({"linkedid": msg.get("Linkedid"), "interface": msg.get("Interface"),
                              "ts": float(msg.get("Timestamp") or 0), "recv": time.time()}), flush=True)

    manager = Manager(host=host, port=port, username=user, secret=secret, ping_delay=60,
                      loop=asyncio.get_running_loop())
    manager.register_event("*", on_event)
    await manager.connect()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    print(json.dumps({"events": count}), flush=True)
    manager.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
