"""The IVR's loop watchdog: a stuck loop is noticed from another thread, a busy one is not."""

from __future__ import annotations

import asyncio
import threading

import pytest

from ivr.watchdog import LoopWatchdog


async def test_a_loop_blocked_past_the_limit_is_reported_from_the_watchdog_thread() -> None:
    fired = threading.Event()
    dog = LoopWatchdog(asyncio.get_running_loop(), 0.2, on_stall=fired.set)
    dog.start()
    try:
        # the loop is stuck right here (a blocking wait, as a blocking call in a session would be):
        # only the watchdog's own thread can end it
        assert fired.wait(timeout=10), "the watchdog never noticed the blocked loop"
    finally:
        dog.stop()


async def test_a_loop_that_keeps_running_is_left_alone() -> None:
    fired = threading.Event()
    dog = LoopWatchdog(asyncio.get_running_loop(), 0.2, on_stall=fired.set)
    dog.start()
    try:
        for _ in range(30):  # 0.6 s of a loop that runs callbacks, three times the limit
            await asyncio.sleep(0.02)
    finally:
        dog.stop()
    assert not fired.is_set()


def test_a_limit_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="stall_seconds"):
        LoopWatchdog(asyncio.new_event_loop(), 0)
