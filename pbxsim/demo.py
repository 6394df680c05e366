"""Demo traffic: random customers calling the hotline, agents' phones that answer and talk.

Calls arrive as a Poisson process at ``rate_per_minute`` (simulated time). Callers are
taken from ``ctiserver.store.DEMO_CALLERS`` when importable, else a built-in list. Each
caller presses 1 in the IVR, talks a random while once an agent answers (``talk``, default
20-120 s), and sometimes gives up while waiting. Agents' phones ring ``ring`` (default 2-6 s)
before answering. ``talk=(2, 5)`` turns calls over fast for a benchmark.
"""

from __future__ import annotations

import asyncio
import random
import structlog

from .scripts import CallerScript, Phone
from .sim import PbxSim

log = structlog.get_logger(__name__)

BUILTIN_CALLERS = [("13800138000", "张伟"), ("13900139000", "李娜"), ("13700137000", "王芳"),
                   ("13600136000", "刘洋"), ("13500135000", "陈静"), ("02112345678", "")]


def demo_callers() -> list[tuple[str, str]]:
    """(number, name) pairs: the store's demo customers if available, else a built-in list."""
    try:
        # imported here, not at the top: the simulator runs without the server package installed
        from ctiserver.store import DEMO_CALLERS
    except Exception:  # noqa: BLE001 - the simulator runs without the server package too
        return list(BUILTIN_CALLERS)
    out = []
    for c in DEMO_CALLERS:
        if isinstance(c, (tuple, list)) and c:
            out.append((str(c[0]), str(c[1]) if len(c) > 1 else ""))
        elif isinstance(c, dict):
            out.append((str(c.get("phone") or c.get("number") or ""), str(c.get("name") or "")))
        elif isinstance(c, str):
            out.append((c, ""))
        else:
            num = getattr(c, "phone", None) or getattr(c, "number", None)
            if num:
                out.append((str(num), str(getattr(c, "name", "") or "")))
    return [c for c in out if c[0]] or list(BUILTIN_CALLERS)


def parse_range(text: str) -> tuple[float, float]:
    """``"2:5"`` (or ``"3"``) -> (2.0, 5.0) seconds; ValueError when not ``low <= high``, both >= 0."""
    low, sep, high = text.strip().partition(":")
    try:
        lo, hi = float(low), float(high if sep else low)
    except ValueError:
        raise ValueError(f"not a range: {text!r} (want e.g. 2:5)") from None
    return check_range("range", (lo, hi))


def check_range(label: str, value: tuple[float, float]) -> tuple[float, float]:
    """A (low, high) pair of seconds, validated."""
    lo, hi = (float(v) for v in value)
    if lo < 0 or hi < lo:
        raise ValueError(f"{label}: want 0 <= low <= high, got {lo}:{hi}")
    return lo, hi


def parse_rate(text: str) -> float:
    """``"2/min"``, ``"30/h"``, ``"0.5/s"`` or a bare number (per minute) -> calls per minute."""
    t = text.strip().lower()
    num, _, unit = t.partition("/")
    try:
        value = float(num)
    except ValueError:
        raise ValueError(f"not a rate: {text!r} (want e.g. 2/min)") from None
    if value < 0:
        raise ValueError("rate must be >= 0")
    factor = {"": 1.0, "m": 1.0, "min": 1.0, "minute": 1.0, "h": 1 / 60, "hour": 1 / 60, "s": 60.0, "sec": 60.0}
    if unit not in factor:
        raise ValueError(f"unknown rate unit {unit!r} (use /min, /h or /s)")
    return value * factor[unit]


class DemoTraffic:
    """Places random calls on ``sim`` until stopped."""

    def __init__(self, sim: PbxSim, rate_per_minute: float, seed: int | None = None,
                 abandon_ratio: float = 0.15, talk: tuple[float, float] = (20.0, 120.0),
                 ring: tuple[float, float] = (2.0, 6.0)):
        self.sim = sim
        self.talk = check_range("talk", talk)
        self.ring = check_range("ring", ring)
        self.rate = rate_per_minute
        self.rng = random.Random(seed)
        self.abandon_ratio = abandon_ratio
        self.callers = demo_callers()
        self._task: asyncio.Task | None = None
        self.placed = 0

    def _phone(self, endpoint: str) -> Phone:
        return Phone(answer_after=self.rng.uniform(*self.ring))

    def start(self) -> None:
        """Start placing calls (agents' phones answer after a few seconds)."""
        if self.sim.phone_chooser is None:
            self.sim.phone_chooser = self._phone
        if self.rate > 0 and self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Stop placing new calls (calls in progress go on until the simulator stops)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def script(self) -> CallerScript:
        """One random caller."""
        number, name = self.rng.choice(self.callers)
        abandon = self.rng.random() < self.abandon_ratio
        return CallerScript(number=number, name=name or number, keys="1", keys_at=self.rng.uniform(1.5, 4),
                            hangup_at=self.rng.uniform(15, 40) if abandon else None,
                            hangup_after_answer=self.rng.uniform(*self.talk))

    async def _run(self) -> None:
        while True:
            await self.sim.clock.sleep(self.rng.expovariate(self.rate / 60.0))
            try:
                await self.sim.place_call(self.script())
                self.placed += 1
            except Exception as exc:  # noqa: BLE001 - demo traffic must keep flowing
                log.warning("pbxsim_demo_call_failed", error=str(exc))
