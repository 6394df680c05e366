"""Scripted SIP parties: agents' phones and inbound callers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Phone:
    """How an endpoint's phone reacts when rung (times in simulated seconds).

    answer_after: answer after N s; ring_forever: never answer; decline_after: 486 after N s;
    hangup_after_answer: the phone hangs up N s after answering (None = waits for the other side);
    registered: False makes the device UNAVAILABLE.
    """

    answer_after: float | None = 1.0
    ring_forever: bool = False
    decline_after: float | None = None
    hangup_after_answer: float | None = None
    registered: bool = True

    def __post_init__(self) -> None:
        for v in (self.answer_after, self.decline_after, self.hangup_after_answer):
            if v is not None and v < 0:
                raise ValueError("phone times must be >= 0")


@dataclass(frozen=True)
class CallerScript:
    """An inbound caller: who calls what, which digits when, and when they hang up.

    dtmf: (seconds after the call starts, digits) pairs (or ``keys="1"``: digits from
    ``keys_at`` s, ``key_gap`` s apart); hangup_at (alias hangup_after): seconds after the
    call starts; hangup_after_answer: seconds after an agent answers. None set: the caller
    stays until the other side hangs up.
    """

    number: str = "caller"
    name: str = "Customer caller"
    dial: str = "96588"
    dtmf: tuple[tuple[float, str], ...] = field(default_factory=tuple)
    hangup_at: float | None = None
    hangup_after_answer: float | None = None
    endpoint: str = "caller"
    keys: str = ""  # shorthand: these digits, one every ``key_gap`` s from ``keys_at`` s
    keys_at: float = 1.5
    key_gap: float = 1.0
    hangup_after: float | None = None  # alias of hangup_at

    def __post_init__(self) -> None:
        if self.keys:
            extra = tuple((self.keys_at + i * self.key_gap, d) for i, d in enumerate(self.keys))
            object.__setattr__(self, "dtmf", tuple(self.dtmf) + extra)
        if self.hangup_after is not None and self.hangup_at is None:
            object.__setattr__(self, "hangup_at", self.hangup_after)
        for label, v in (("number", self.number), ("name", self.name), ("dial", self.dial),
                         ("endpoint", self.endpoint)):
            if "\r" in v or "\n" in v:
                raise ValueError(f"{label} must not contain CR/LF")
        if not self.dial:
            raise ValueError("dial must not be empty")
        object.__setattr__(self, "dtmf", tuple((float(t), str(d)) for t, d in self.dtmf))
        for _, digits in self.dtmf:
            if not digits or any(c not in "0123456789*#ABCD" for c in digits):
                raise ValueError(f"bad DTMF digits {digits!r}")
