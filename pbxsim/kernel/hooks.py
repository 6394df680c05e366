"""The extension points of the kernel and the engines: where features hang their behaviour.

The engines call these at fixed moments and know nothing of who listens; a feature
registers its callbacks when it is built (features/*.py). Lists run in registration order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Awaitable, Callable

from ..channel import Bridge, Channel, Fields

ChannelHook = Callable[[Channel], None]
# a Redirect took a party out of a queue call's bridge: (bridge, caller, agent leg,
# AgentComplete block without Reason, talk start); raises Redirected for the caller when it moved
QueueBridgeMoved = Callable[[Bridge, Channel, Channel, Fields, float], None]
# a Redirect took a party out of Dial's bridge: (bridge, caller, callee, Dial's 'g' option);
# raises Redirected or ChannelHungUp for the caller, or returns when the caller goes on
DialBridgeMoved = Callable[[Bridge, Channel, Channel, bool], None]


async def _plain_jump(ch: Channel) -> bool:
    ch.redirect = None
    ch.kick.clear()
    return True


def _unmoved(*_args: object) -> None:
    raise RuntimeError("a channel was moved out of a bridge but no feature handles moves")


@dataclass(frozen=True)
class OriginateRequest:
    """AMI Originate of ``channel`` (``PJSIP/1001``, ``Local/1001@agents``) into context,exten,priority."""

    channel: str
    context: str
    exten: str
    priority: int = 1
    cid_num: str = ""
    cid_name: str = ""
    timeout: float = 30.0
    account: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    channel_id: str | None = None  # ChannelId: the originated channel's Uniqueid (and Linkedid)
    other_channel_id: str | None = None  # OtherChannelId: a Local pair's ;2
    action_id: str | None = None


Originator = Callable[[OriginateRequest], Awaitable[Channel | None]]


class Hooks:
    """Every extension point in one place (the kernel owns one)."""

    def __init__(self) -> None:
        # around a channel's Hangup event (a moved queue call's late AgentComplete goes here)
        self.before_hangup: list[ChannelHook] = []
        self.after_hangup: list[ChannelHook] = []
        # the queue engine: a caller joined a queue (after QueueCallerJoin and its music) /
        # was connected to a member (after the bridge is up)
        self.queue_joined: list[ChannelHook] = []
        self.queue_connected: list[ChannelHook] = []
        # a call was answered by this interface (queue member or dialled party)
        self.answered: list[Callable[[Channel, str], None]] = []
        # the dialplan caught Redirected: True when the channel was sent elsewhere (its next
        # step then shows the interrupted application), False when it goes on where it is
        self.redirected: Callable[[Channel], Awaitable[bool]] = _plain_jump
        self.queue_bridge_moved: QueueBridgeMoved = _unmoved
        self.dial_bridge_moved: DialBridgeMoved = _unmoved
        # AMI Originate by channel technology (lowercase): pjsip, local
        self.originators: dict[str, Originator] = {}
        # parts of sim.truth() (recordings, conferences, spies)
        self.truth: list[Callable[[], dict]] = []
