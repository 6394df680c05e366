"""A phone being rung (by the queue or by Dial): when its script answers or declines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from ..channel import Channel
from ..scripts import Phone

R = TypeVar("R", bound="Ring")


@dataclass(eq=False)  # identity: compared and looked up by object, never by value
class Ring:
    """One phone ringing on ``channel``: ``answer_at`` / ``decline_at`` in simulated epoch seconds."""

    interface: str  # what answers, e.g. PJSIP/1001
    channel: Channel
    phone: Phone
    start: float
    answer_at: float | None
    decline_at: float | None

    @classmethod
    def of(cls: type[R], interface: str, channel: Channel, phone: Phone, now: float, **extra: Any) -> R:
        """Ring ``phone`` from ``now``: it declines (486) or answers after its script's delay, or never.

        ``extra``: the fields of a subclass (the queue's member)."""
        answer_at = decline_at = None
        if phone.decline_after is not None:
            decline_at = now + phone.decline_after
        elif not phone.ring_forever and phone.answer_after is not None:
            answer_at = now + phone.answer_after
        return cls(interface, channel, phone, now, answer_at, decline_at, **extra)
