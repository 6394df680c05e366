"""AMI ``Redirect`` and ``Bridge``: moving channels out of bridges and back (traces 07, 08 C).

What real Asterisk 22 does, and this module reproduces:

- Dual Redirect (``ExtraChannel``) of a queue call (07 A): ``Dual Redirect successful``;
  BridgeLeave of the agent leg, then of the customer (both already showing their new
  context), BridgeDestroy; both legs run the dialplan where they were sent (the customer's
  ``MusicOnHold`` gives MusicOnHoldStart). No AgentComplete is ever sent for that call.
- Redirect of the customer only (07 B, 08 C): BridgeLeave of the customer, who runs the new
  dialplan at once (08 C: QueueCallerJoin before the old bridge is gone), then BridgeLeave of
  the agent leg, BridgeDestroy and the agent leg's Hangup (cause 16). The queue call's
  AgentComplete comes only when the customer finally hangs up: Reason=caller, no Dest*
  fields (07 B), and with no channel fields at all when the customer was answered again by
  the queue meanwhile (08 C).
- AMI Bridge of two channels running dialplan applications (07 A): BridgeCreate, each
  channel leaves its application (MusicOnHoldStop) and enters at the next priority.
  main/features.c ``action_bridge`` gives both an after-bridge goto to where each was in
  its dialplan, "go on" style: context, exten and priority + 1 (the priority + 1 because
  the channel was running that priority, AST_FLAG_IN_AUTOLOOP; the channel is yanked out
  of its PBX, so main/bridge_after.c then runs exactly that place). The bridge is a basic
  one (dissolve on hangup): when one party hangs up or is moved away, the other leaves too
  and goes on in its dialplan there (07 A: the customer hung up, the agent's leg ran
  ``agent-wait,s,4`` = Hangup(): BridgeLeave x2, BridgeDestroy, Newexten of the survivor,
  its SoftHangupRequest from Hangup(), the Hangups). With a dialplan that plays music
  again after the hold's MusicOnHold the customer is not hung up: back to the music.
- Redirect of the dialled party out of a ``Dial()`` bridge (the consulted colleague or the
  outside number of a consult, sent to a conference room): the bridge dissolves, Dial's
  caller has no async goto of its own so Dial() returns -1 and its dialplan ends
  (SoftHangupRequest, Hangup), unless Dial had the ``g`` option. A redirected outgoing leg
  (queue member, dialled party) shows the application it was in (``AppQueue``/``AppDial``,
  ``(Outgoing Line)``) in its first Newexten, as the agent's leg does in 07 A.

A channel is moved by setting ``channel.redirect`` and its ``kick`` event: whatever waits
for it (an application's ``Channel.wait``, the queue bridge, a Bridge-action bridge) wakes
and raises :class:`~pbxsim.channel.Redirected`, which the dialplan engine hands to
:func:`redirected`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from ..channel import Bridge, Channel, ChannelHungUp, Redirected

if TYPE_CHECKING:
    from ..sim import PbxSim

log = structlog.get_logger(__name__)

JUMP = "jump"  # channel.redirect value: continue at the channel's (already set) context/exten/priority


class MoveError(Exception):
    """The action is refused (reply ``Response: Error`` with this message)."""


@dataclass(eq=False)
class BridgeTo:
    """channel.redirect value of an AMI Bridge: enter ``bridge`` (after-bridge goto: the next priority)."""

    bridge: Bridge


def _moveable(sim: "PbxSim", name: str, what: str) -> Channel:
    ch = sim.find_channel(name)
    if ch is None or ch.gone or ch.hungup.is_set():
        raise MoveError(f"{what} does not exist: {name}")
    return ch


def redirect(sim: "PbxSim", name: str, context: str, exten: str, priority: int,
             extra: tuple[str, str, str, int] | None = None) -> str:
    """AMI Redirect (with ExtraChannel when ``extra`` = (channel, context, exten, priority)).

    Returns the reply message; raises MoveError when a channel does not exist.
    """
    ch = _moveable(sim, name, "Channel")
    other = _moveable(sim, extra[0], "ExtraChannel") if extra else None
    if other is ch:
        other = None
    moves = [(ch, context, exten, priority)] + ([(other, *extra[1:])] if other else [])
    for chan, ctx, ext, prio in moves:
        chan.context, chan.exten, chan.priority = ctx, ext, prio
        chan.redirect = JUMP
    for chan, *_ in moves:
        chan.kick.set()
    log.info("pbxsim_redirect", channel=ch.name, to=f"{context},{exten},{priority}",
             extra=other.name if other else None, call_id=ch.linkedid)
    return "Dual Redirect successful" if other else "Redirect successful"


def bridge(sim: "PbxSim", name1: str, name2: str) -> str:
    """AMI Bridge of two channels that run dialplan applications (as the CTI server's hold contexts)."""
    ch1 = _moveable(sim, name1, "Channel1")
    ch2 = _moveable(sim, name2, "Channel2")
    if ch1 is ch2:
        raise MoveError("Unable to bridge a channel to itself")
    for ch in (ch1, ch2):
        if ch.bridge is not None and not getattr(ch.bridge, "by_action", False):
            raise MoveError(f"Unable to bridge {ch.name}: it is in a call (simulator: Redirect it first)")
    b = Bridge()
    b.by_action = True  # type: ignore[attr-defined]
    b.dissolved = asyncio.Event()  # type: ignore[attr-defined]
    b.parties = [ch1, ch2]  # type: ignore[attr-defined]  # a party gone before it got in dissolves it too
    sim.bridges[b.uniqueid] = b
    sim.emit("BridgeCreate", b.fields())
    for ch in (ch1, ch2):
        ch.redirect = BridgeTo(b)
        ch.kick.set()
    log.info("pbxsim_bridge", channel1=ch1.name, channel2=ch2.name, call_id=ch1.linkedid)
    return "Channels have been bridged"


def blind_transfer(sim: "PbxSim", name: str, context: str, exten: str) -> str:
    """AMI BlindTransfer of the transferer ``name``'s bridge peer to ``context,exten,1`` (trace 08 A).

    Unhold on the transferer, the BlindTransfer event; then (queue bridge) BridgeLeave of the
    transferer, AgentComplete Reason=transfer, BridgeLeave of the transferee, BridgeDestroy, the
    transferer's Hangup, and the transferee runs the dialplan at the target.
    """
    ch = _moveable(sim, name, "Channel")
    b = ch.bridge
    peers = [p for p in b.channels if p is not ch] if b is not None else []
    if b is None or len(peers) != 1 or getattr(b, "by_action", False):
        raise MoveError("Transfer failed")
    peer = peers[0]
    sim.emit("Unhold", ch.fields())
    sim.emit("BlindTransfer", [("Result", "Success")] + ch.fields("Transferer") + peer.fields("Transferee")
             + b.fields() + [("IsExternal", "Yes"), ("Context", context), ("Extension", exten)])
    peer.context, peer.exten, peer.priority = context, exten, 1
    peer.redirect = JUMP
    peer.blind_from = ch  # type: ignore[attr-defined]
    peer.kick.set()
    log.info("pbxsim_blind_transfer", transferer=ch.name, to=f"{context},{exten}", call_id=ch.linkedid)
    return "Transfer succeeded"


async def redirected(sim: "PbxSim", ch: Channel) -> bool:
    """The dialplan engine caught Redirected for ``ch``: jump, or sit in a bridge until it goes.

    Returns True when an AMI Redirect sent ``ch`` elsewhere (its first step then shows the
    interrupted application, trace 07), False when it goes on after a Bridge-action bridge
    at its after-bridge goto (already ``ch.context/exten/priority``); raises ChannelHungUp.
    """
    target = ch.redirect
    ch.redirect = None
    ch.kick.clear()
    if isinstance(target, BridgeTo):
        # features.c action_bridge: the channel runs this priority (IN_AUTOLOOP): it goes on at the next
        ch.priority += 1
        return await _sit_in_bridge(sim, ch, target.bridge)
    return True


def _leave(sim: "PbxSim", b: Bridge, ch: Channel) -> None:
    if ch in b.channels:
        b.channels.remove(ch)
        ch.bridge = None
        sim.emit("BridgeLeave", b.fields() + ch.fields())


def _destroy(sim: "PbxSim", b: Bridge) -> None:
    if sim.bridges.pop(b.uniqueid, None) is not None:
        sim.emit("BridgeDestroy", b.fields())


async def _sit_in_bridge(sim: "PbxSim", ch: Channel, b: Bridge) -> bool:
    """``ch`` in a Bridge-action bridge until the bridge dissolves (see :func:`redirected`)."""
    from ..engines.queues import wait_any

    b.channels.append(ch)
    ch.bridge = b
    ch.app, ch.appdata = "", ""
    sim.emit("BridgeEnter", b.fields() + ch.fields())
    while True:
        if ch.bridge is not b:  # the bridge dissolved (this or another party's task did it)
            if ch.hungup.is_set():
                if not ch.gone:  # hung up in the bridge: its own end
                    sim.dialplan.emit_cdrs(ch)
                    sim.emit_hangup(ch, 16)
                raise ChannelHungUp(ch.name)
            target = ch.redirect
            if isinstance(target, BridgeTo):  # AMI Bridge again: into the new bridge, same after-bridge goto
                ch.redirect = None
                ch.kick.clear()
                b = target.bridge
                b.channels.append(ch)
                ch.bridge = b
                sim.emit("BridgeEnter", b.fields() + ch.fields())
                continue
            if target is not None:  # AMI Redirect: run the dialplan where it was sent
                ch.redirect = None
                ch.kick.clear()
                return True
            log.info("pbxsim_after_bridge_goto", channel=ch.name, call_id=ch.linkedid,
                     to=f"{ch.context},{ch.exten},{ch.priority}")
            return False  # after-bridge goto: go on at ch.context/exten/priority
        peers = [p for p in getattr(b, "parties", b.channels) if p is not ch]
        inside = [p for p in peers if p in b.channels]  # (one not in yet still has its Bridge kick set)
        await wait_any(sim.clock, [ch.hungup, ch.kick, b.dissolved]  # type: ignore[attr-defined]
                       + [p.hungup for p in peers] + [p.kick for p in inside], None)
        if ch.bridge is not b:
            continue
        hung = [p for p in [ch] + peers if p.hungup.is_set()]
        moved = [p for p in b.channels if p.redirect is not None and p not in hung]
        if hung or moved:
            _dissolve(sim, b, hung, moved)
        else:  # a stray kick (nothing pending): clear it rather than spin on it
            for p in [ch] + inside:
                if p.redirect is None:
                    p.kick.clear()


def _dissolve(sim: "PbxSim", b: Bridge, hung: list[Channel], moved: list[Channel]) -> None:
    """A party of a Bridge-action bridge hung up or was moved away: everyone leaves (basic bridge).

    As recorded (07 A): HangupRequest of a party whose phone hung up (not after an AMI
    Hangup), BridgeLeave of the leaving party, of the others, BridgeDestroy. Each party's
    task then goes on: its Hangup, the dialplan where a Redirect sent it, or its
    after-bridge goto.
    """
    hung = [p for p in hung if p in b.channels]  # (one hung up before it got in ended on its own)
    for p in hung:
        if not getattr(p, "hangup_by_ami", False) and not p.gone:
            sim.emit("HangupRequest", p.fields())
    first = hung + moved
    for p in first + [p for p in b.channels if p not in first]:
        _leave(sim, b, p)
    _destroy(sim, b)
    b.dissolved.set()  # type: ignore[attr-defined]
    log.info("pbxsim_bridge_dissolved", bridge=b.uniqueid, hung_up=[p.name for p in hung],
             moved=[p.name for p in moved])


def _run_moved_leg(sim: "PbxSim", leg: Channel) -> None:
    """A redirected outgoing leg (queue member, dialled party) starts the dialplan where it was sent.

    Its first Newexten shows the application it was in (07 A: ``agent-wait,s,1`` with
    ``AppQueue`` ``(Outgoing Line)``), as for a channel redirected out of its own dialplan.
    """
    leg.redirect = None
    leg.kick.clear()
    if leg.app:
        leg.moved_from = (leg.app, leg.appdata)  # type: ignore[attr-defined]
    sim.spawn(sim.dialplan.run(leg))


def queue_bridge_moved(sim: "PbxSim", b: Bridge, ch: Channel, agent: Channel, complete: list,
                       talk_start: float) -> None:
    """Hook of the queue engine: a Redirect took the customer (and maybe the agent) out of a queue bridge.

    Raises Redirected for the customer's dialplan. ``complete`` is the AgentComplete block
    (without Reason) the queue would have sent.
    """
    if ch.redirect is None and agent.redirect is not None:
        # only the agent leg was moved: it runs the dialplan; the customer's Queue() returns
        _leave(sim, b, agent)
        _leave(sim, b, ch)
        _destroy(sim, b)
        _run_moved_leg(sim, agent)
        sim.emit("AgentComplete", complete + [("Reason", "transfer")])
        return
    if getattr(ch, "blind_from", None) is agent:  # BlindTransfer from the agent's leg (08 A)
        ch.blind_from = None  # type: ignore[attr-defined]
        _leave(sim, b, agent)
        sim.emit("AgentComplete", complete + [("Reason", "transfer")])
        _leave(sim, b, ch)
        _destroy(sim, b)
        sim.emit_hangup(agent, 16)
        raise Redirected(ch.name)
    if agent.redirect is not None:  # dual Redirect (07 A): both legs live on, no AgentComplete ever
        _leave(sim, b, agent)
        _leave(sim, b, ch)
        _destroy(sim, b)
        _run_moved_leg(sim, agent)
        raise Redirected(ch.name)
    # the customer only (07 B, 08 C): the agent leg is hung up; AgentComplete waits for the customer's end
    _leave(sim, b, ch)
    ch.pending_complete = (complete, talk_start)  # type: ignore[attr-defined]

    def agent_leg_goes() -> None:
        ch.after_move = None  # type: ignore[attr-defined]
        if agent.gone:
            return
        _leave(sim, b, agent)
        _destroy(sim, b)
        sim.emit_hangup(agent, 16)

    async def soon() -> None:
        agent_leg_goes()

    # as soon as the customer's new dialplan joined a queue (08 C), or else on the next turn of the loop
    ch.after_move = agent_leg_goes  # type: ignore[attr-defined]
    sim.spawn(soon())
    raise Redirected(ch.name)


def after_queue_join(ch: Channel) -> None:
    """Hook of the queue engine: a customer redirected out of a queue bridge joined a queue again."""
    hook = getattr(ch, "after_move", None)
    if hook is not None:
        hook()


def late_complete(sim: "PbxSim", ch: Channel, after_hangup: bool) -> None:
    """Emit the deferred AgentComplete of a redirected customer (before its Hangup, or after it when requeued)."""
    pending = getattr(ch, "pending_complete", None)
    if pending is None or after_hangup != bool(getattr(ch, "requeued", False)):
        return
    fields, talk_start = pending
    ch.pending_complete = None  # type: ignore[attr-defined]
    talk = [("TalkTime", str(int(sim.clock.now() - talk_start))), ("Reason", "caller")]
    queue = [f for f in fields if f[0] in ("Queue", "Interface", "MemberName", "HoldTime")]
    # the channel as it is now (07 B); 08 C: the late AgentComplete names no channel at all
    sim.emit("AgentComplete", ([] if after_hangup else ch.fields()) + queue + talk)


def dial_bridge_moved(sim: "PbxSim", b: Bridge, ch: Channel, callee: Channel, go_on: bool = False) -> None:
    """Hook of Dial(): a Redirect took the caller and/or the dialled party out of the bridge.

    Moved parties run the dialplan where they were sent; a dialled party left behind is hung
    up (as the agent's leg of a queue call, 07 B). Raises Redirected when the caller moved.
    When only the dialled party moved, the basic bridge dissolves and Dial's caller is kicked
    out with no async goto of its own, so ast_bridge_call() returns -1 (main/features.c) and
    Dial() fails: the caller's dialplan ends there (SoftHangupRequest, Hangup; no next
    priority), unless Dial had the ``g`` option (then DIALSTATUS=ANSWER and it goes on).
    That is how the Local ``;2`` of a consult ends when the CTI server redirects the
    consulted party into a conference. Returns only in that ``g`` case.
    """
    for party in ([callee, ch] if callee.redirect is not None else [ch, callee]):
        _leave(sim, b, party)
    _destroy(sim, b)
    if callee.redirect is not None:
        _run_moved_leg(sim, callee)
    elif ch.redirect is not None:
        sim.emit("SoftHangupRequest", callee.fields() + [("Cause", "16")])
        sim.emit_hangup(callee, 16)
    if ch.redirect is not None:
        raise Redirected(ch.name)
    if go_on:
        return
    log.info("pbxsim_dial_peer_moved_caller_ends", channel=ch.name, peer=callee.name, call_id=ch.linkedid)
    sim.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
    sim.dialplan.emit_cdrs(ch)
    sim.emit_hangup(ch, 16)
    raise ChannelHungUp(ch.name)
