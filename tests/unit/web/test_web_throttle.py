"""Sign-in throttling: a login that keeps failing waits; a success or time clears it."""

from __future__ import annotations

from ctiserver.web.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_block_until_the_oldest_ages_out() -> None:
    clock = Clock()
    t = LoginThrottle(max_failures=5, window_seconds=300, clock=clock)
    for _ in range(4):
        t.failed("login:1001")
        clock.now += 10
    assert t.retry_after("login:1001") == 0
    t.failed("login:1001")
    assert t.retry_after("login:1001") == 300 - 40
    assert t.retry_after("login:1002") == 0  # other logins are not affected
    clock.now += 261
    assert t.retry_after("login:1001") == 0


def test_a_success_clears_and_a_higher_limit_applies_per_address() -> None:
    clock = Clock()
    t = LoginThrottle(max_failures=2, window_seconds=60, clock=clock)
    t.failed("login:1001")
    t.succeeded("login:1001")
    t.failed("login:1001")
    assert t.retry_after("login:1001") == 0
    for _ in range(3):
        t.failed("addr:10.0.0.1")
    assert t.retry_after("addr:10.0.0.1") > 0
    assert t.retry_after("addr:10.0.0.1", limit=10) == 0


def test_memory_stays_bounded() -> None:
    clock = Clock()
    t = LoginThrottle(max_failures=1, window_seconds=60, max_keys=100, clock=clock)
    for i in range(1000):
        t.failed(f"login:{i}")
    assert len(t._failures) <= 100
    assert t.retry_after("login:999") > 0  # the newest are kept
