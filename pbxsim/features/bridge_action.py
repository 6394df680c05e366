"""AMI ``Bridge``: two channels that run dialplan applications meet in a basic bridge (trace 07 A).

main/features.c ``action_bridge`` gives both an after-bridge goto to where each was in its
dialplan, "go on" style: context, exten and priority + 1 (the priority + 1 because the
channel was running that priority, AST_FLAG_IN_AUTOLOOP; the channel is yanked out of its
PBX, so main/bridge_after.c then runs exactly that place). The bridge is a basic one
(dissolve on hangup): when one party hangs up or is moved away, the other leaves too and
goes on in its dialplan there (07 A: the customer hung up, the agent's leg ran
``agent-wait,s,4`` = Hangup(): BridgeLeave x2, BridgeDestroy, Newexten of the survivor, its
SoftHangupRequest from Hangup(), the Hangups). With a dialplan that plays music again after
the hold's MusicOnHold the customer is not hung up: back to the music.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog

from ..channel import Bridge, Channel, ChannelHungUp
from ..clock import wait_any
from ..kernel.kernel import Kernel

log = structlog.get_logger(__name__)


class MoveError(Exception):
    """The action is refused (reply ``Response: Error`` with this message)."""


@dataclass(eq=False)
class ActionBridge(Bridge):
    """The bridge of an AMI Bridge action."""

    parties: list[Channel] = field(default_factory=list)  # a party gone before it got in dissolves it too
    dissolved: asyncio.Event = field(default_factory=asyncio.Event)
    # parties moved in with their application still running (a queue's caller, trace 18): each
    # notices its own hangup and leaves on its own (features/moves.py); the others only see the dissolve
    carried: list[Channel] = field(default_factory=list)


@dataclass(eq=False)
class BridgeTo:
    """channel.redirect value of an AMI Bridge: enter ``bridge`` (after-bridge goto: the next priority)."""

    bridge: ActionBridge


def moveable(kernel: Kernel, name: str, what: str) -> Channel:
    """The live channel ``name``; MoveError ``<what> does not exist`` otherwise."""
    ch = kernel.find_channel(name)
    if ch is None or ch.gone or ch.hungup.is_set():
        raise MoveError(f"{what} does not exist: {name}")
    return ch


def bridge(kernel: Kernel, name1: str, name2: str) -> str:
    """AMI Bridge of two channels that run dialplan applications (as the CTI server's hold contexts)."""
    ch1 = moveable(kernel, name1, "Channel1")
    ch2 = moveable(kernel, name2, "Channel2")
    if ch1 is ch2:
        raise MoveError("Unable to bridge a channel to itself")
    for ch in (ch1, ch2):
        if ch.bridge is not None and not isinstance(ch.bridge, ActionBridge):
            raise MoveError(f"Unable to bridge {ch.name}: it is in a call (simulator: Redirect it first)")
    b = kernel.bridge_create(ActionBridge(parties=[ch1, ch2]))
    for ch in (ch1, ch2):
        yank(ch, b)
    log.info("pbxsim_bridge", channel1=ch1.name, channel2=ch2.name, call_id=ch1.linkedid)
    return "Channels have been bridged"


def share_linkedid(kernel: Kernel, b: ActionBridge, joining: Channel) -> None:
    """A basic bridge gives everyone in it the oldest Linkedid among them, the joining channel's
    included, before its BridgeEnter (main/bridge_channel.c ast_bridge_channel_update_linkedids;
    trace 18: the supervisor's spy channel takes the customer's call's Linkedid)."""
    born = {c.linkedid: c.created for c in kernel.channels.values() if c.uniqueid == c.linkedid}
    everyone = [joining] + [c for c in b.channels if c is not joining]
    oldest = min(everyone, key=lambda c: born.get(c.linkedid, c.created)).linkedid
    for c in everyone:
        c.linkedid = oldest


def yank(ch: Channel, b: ActionBridge) -> None:
    """Take ``ch`` out of the application it runs into ``b`` (ast_channel_yank: a masquerade)."""
    ch.yanked = True
    ch.redirect = BridgeTo(b)
    ch.kick.set()


async def sit_in_bridge(kernel: Kernel, ch: Channel, b: ActionBridge) -> bool:
    """``ch`` in a Bridge-action bridge until the bridge dissolves.

    Returns True when an AMI Redirect sent it elsewhere, False when it goes on at its
    after-bridge goto (already ``ch.context/exten/priority``); raises ChannelHungUp.
    """
    if b.dissolved.is_set():  # the bridge ended before this party got in: straight to its after-bridge goto
        ch.yanked = False
        ch.check()
        return False
    share_linkedid(kernel, b, ch)
    b.channels.append(ch)
    ch.bridge = b
    ch.yanked = False
    ch.app, ch.appdata = "", ""
    kernel.emit("BridgeEnter", b.fields() + ch.fields())
    while True:
        if ch.bridge is not b:  # the bridge dissolved (this or another party's task did it)
            if ch.hungup.is_set():
                if not ch.gone:  # hung up in the bridge: its own end
                    kernel.emit_cdrs(ch)
                    kernel.emit_hangup(ch, 16)
                raise ChannelHungUp(ch.name)
            target = ch.redirect
            if isinstance(target, BridgeTo):  # AMI Bridge again: into the new bridge, same after-bridge goto
                ch.redirect = None
                ch.kick.clear()
                b = target.bridge
                share_linkedid(kernel, b, ch)
                b.channels.append(ch)
                ch.bridge = b
                kernel.emit("BridgeEnter", b.fields() + ch.fields())
                continue
            if target is not None:  # AMI Redirect: run the dialplan where it was sent
                ch.redirect = None
                ch.kick.clear()
                return True
            log.info("pbxsim_after_bridge_goto", channel=ch.name, call_id=ch.linkedid,
                     to=f"{ch.context},{ch.exten},{ch.priority}")
            return False  # after-bridge goto: go on at ch.context/exten/priority
        peers = [p for p in b.parties if p is not ch and p not in b.carried]  # (carried ones end it themselves)
        inside = [p for p in peers if p in b.channels]  # (one not in yet still has its Bridge kick set)
        await wait_any(kernel.clock, [ch.hungup, ch.kick, b.dissolved]
                       + [p.hungup for p in peers] + [p.kick for p in inside], None)
        if ch.bridge is not b:
            continue
        hung = [p for p in [ch] + peers if p.hungup.is_set()]
        moved = [p for p in [ch] + inside if p.redirect is not None and p not in hung]
        if hung or moved:
            dissolve(kernel, b, hung, moved)
        else:  # a stray kick (nothing pending): clear it rather than spin on it
            for p in [ch] + inside:
                if p.redirect is None:
                    p.kick.clear()


def dissolve(kernel: Kernel, b: ActionBridge, hung: list[Channel], moved: list[Channel]) -> None:
    """A party of a Bridge-action bridge hung up or was moved away: everyone leaves (basic bridge).

    As recorded (07 A): HangupRequest of a party whose phone hung up (not after an AMI
    Hangup), BridgeLeave of the leaving party, of the others, BridgeDestroy. Each party's
    task then goes on: its Hangup, the dialplan where a Redirect sent it, or its
    after-bridge goto.
    """
    hung = [p for p in hung if p in b.channels]  # (one hung up before it got in ended on its own)
    for p in hung:
        if not p.hangup_by_ami and not p.gone:
            kernel.emit("HangupRequest", p.fields())
    first = hung + moved
    for p in first + [p for p in b.channels if p not in first]:
        kernel.bridge_leave(b, p)
    kernel.bridge_destroy(b)
    b.dissolved.set()
    log.info("pbxsim_bridge_dissolved", bridge=b.uniqueid, hung_up=[p.name for p in hung],
             moved=[p.name for p in moved])
