"""Simulated time: a wall clock running ``1/time_scale`` times faster than real time."""

from __future__ import annotations

import asyncio
import time


class SimClock:
    """Epoch seconds in simulated time running ``time_scale`` times faster than real time.

    ``time_scale=20`` makes 20 simulated seconds pass per real second (event timestamps,
    Uniqueids and durations all use simulated time).
    """

    def __init__(self, time_scale: float = 1.0, epoch: float | None = None):
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.scale = time_scale
        self._epoch0 = time.time() if epoch is None else epoch
        self._mono0 = time.monotonic()

    def now(self) -> float:
        """Current simulated epoch seconds."""
        return self._epoch0 + (time.monotonic() - self._mono0) * self.scale

    def real(self, sim_seconds: float) -> float:
        """Real seconds that ``sim_seconds`` of simulated time take."""
        return max(0.0, sim_seconds) / self.scale

    async def sleep(self, sim_seconds: float) -> None:
        """Sleep ``sim_seconds`` of simulated time."""
        await asyncio.sleep(self.real(sim_seconds))


async def wait_any(clock: SimClock, events: list[asyncio.Event], sim_timeout: float | None) -> bool:
    """Wait until one of ``events`` is set or ``sim_timeout`` simulated seconds pass (None: forever).

    True when an event is set.
    """
    if any(e.is_set() for e in events):
        return True
    if sim_timeout is not None and sim_timeout <= 0:
        return False
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        done, _ = await asyncio.wait(waiters, timeout=None if sim_timeout is None else clock.real(sim_timeout),
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
    return bool(done)
