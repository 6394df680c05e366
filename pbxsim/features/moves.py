"""AMI ``Redirect``, ``BlindTransfer`` and ``Bridge``: moving channels out of bridges and back (traces 07, 08 A/C).

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
- AMI Bridge of two channels running dialplan applications (07 A): features/bridge_action.py.
- AMI Bridge of a queue's caller, bridged with the agent, and of a channel running an application
  (the supervisor's ChanSpy: the intercept, trace 18): the caller is *moved* (bridge_move_locked),
  its Queue() still running: BridgeCreate, BridgeLeave of the caller, BridgeEnter into the new
  bridge (still at its Queue priority), BridgeLeave of the agent's leg, BridgeDestroy, the agent
  leg's Hangup (Cause 16, nothing before it: the queue bridge dissolves and Asterisk hangs up the
  leg itself), the queue member's call ends there (QueueMemberStatus, CallsTaken + 1); the other
  channel is yanked (no ChanSpyStop) and enters at its next priority. No AgentComplete until the
  caller's channel ends (Reason=caller, no Dest* fields). When the caller hangs up: HangupRequest,
  AgentComplete, BridgeLeave of both, BridgeDestroy, the other party's after-bridge goto, the
  caller's SoftHangupRequest and Hangup. When the other party goes: the caller's after-bridge
  goto is the priority after its Queue (one Newexten there, still showing ``Queue``; the step
  itself runs without another); an AGI that EXECed the Queue sees a hangup (AGISTATUS=HANGUP).
- Redirect of the dialled party out of a ``Dial()`` bridge (the consulted colleague or the
  outside number of a consult, sent to a conference room): the bridge dissolves, Dial's
  caller has no async goto of its own so Dial() returns -1 and its dialplan ends
  (SoftHangupRequest, Hangup), unless Dial had the ``g`` option. A redirected outgoing leg
  (queue member, dialled party) shows the application it was in (``AppQueue``/``AppDial``,
  ``(Outgoing Line)``) in its first Newexten, as the agent's leg does in 07 A.

A channel is moved by setting ``channel.redirect`` and its ``kick`` event: whatever waits
for it (an application's ``Channel.wait``, the queue bridge, a Bridge-action bridge) wakes
and raises :class:`~pbxsim.channel.Redirected`, which the dialplan engine hands to the kernel's
``redirected`` hook (:meth:`Moves.redirected`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import structlog

from ..channel import Bridge, Channel, ChannelHungUp, Fields, Redirected
from ..clock import wait_any
from ..engines.dialplan import Dialplan
from ..kernel.actions import ActionError, Reply, Request
from ..kernel.kernel import Kernel
from .bridge_action import (ActionBridge, BridgeTo, MoveError, bridge, dissolve, moveable, share_linkedid, sit_in_bridge,
                            yank)

log = structlog.get_logger(__name__)

JUMP = "jump"  # channel.redirect value: continue at the channel's (already set) context/exten/priority
AFTER_BRIDGE = "after-bridge"  # channel.redirect value: go on where the after-bridge goto put it (no Newexten)
CARRIED = "carried"  # channel.redirect value: moved into an AMI Bridge bridge; its application still runs


@dataclass
class MoveState:
    """What a moved customer's channel carries until its call ends (see Channel.feature)."""

    # the queue call's AgentComplete block (without Reason) and its talk start, sent when the customer ends
    pending_complete: tuple[Fields, float] | None = None
    requeued: bool = False  # answered by a queue again meanwhile (08 C): the late AgentComplete follows its Hangup
    after_move: Callable[[], None] | None = None  # hangs up the old agent leg once the customer joined a queue
    blind_from: Channel | None = None  # the transferer of a BlindTransfer


class Moves:
    """Redirect, BlindTransfer and Bridge on one simulator, and the hooks the engines call for them."""

    def __init__(self, kernel: Kernel, dialplan: Dialplan):
        self.kernel = kernel
        self.dialplan = dialplan
        hooks = kernel.hooks
        hooks.redirected = self.redirected
        hooks.queue_bridge_moved = self.queue_bridge_moved
        hooks.dial_bridge_moved = self.dial_bridge_moved
        hooks.queue_joined.append(self.after_queue_join)
        hooks.queue_connected.append(self.requeued)
        hooks.before_hangup.append(lambda ch: self.late_complete(ch, after_hangup=False))
        hooks.after_hangup.append(lambda ch: self.late_complete(ch, after_hangup=True))
        kernel.register_action("Redirect", self.action_redirect)
        kernel.register_action("BlindTransfer", self.action_blindtransfer)
        kernel.register_action("Bridge", self.action_bridge)

    # --- AMI actions -------------------------------------------------------------
    def action_redirect(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        name = msg.get("channel")
        if not name:
            raise ActionError("Channel not specified")
        if not msg.get("exten") or not msg.get("context"):
            raise ActionError("Exten not specified" if not msg.get("exten") else "Context not specified")
        try:
            priority = int(msg.get("priority") or 1)
            extra = None
            if msg.get("extrachannel"):
                extra = (msg["extrachannel"], msg.get("extracontext") or msg["context"],
                         msg.get("extraexten") or msg["exten"], int(msg.get("extrapriority") or priority))
        except ValueError:
            raise ActionError("Invalid priority") from None
        try:
            message = self.redirect(name, msg["context"], msg["exten"], priority, extra)
        except MoveError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + aid + [("Message", message)]]

    def action_blindtransfer(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        name = msg.get("channel")
        if not name:
            raise ActionError("No channel specified")
        if not msg.get("exten"):
            raise ActionError("No extension specified")
        try:
            message = self.blind_transfer(name, msg.get("context") or "default", msg["exten"])
        except MoveError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + aid + [("Message", message)]]

    def action_bridge(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        one, two = msg.get("channel1"), msg.get("channel2")
        if not one or not two:
            raise ActionError("Missing channel parameter in request")
        try:
            message = self.bridge(one, two)
        except MoveError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + aid + [("Message", message)]]

    # --- the moves ---------------------------------------------------------------
    def redirect(self, name: str, context: str, exten: str, priority: int,
                 extra: tuple[str, str, str, int] | None = None) -> str:
        """AMI Redirect (with ExtraChannel when ``extra`` = (channel, context, exten, priority)).

        Returns the reply message; raises MoveError when a channel does not exist.
        """
        ch = moveable(self.kernel, name, "Channel")
        other = moveable(self.kernel, extra[0], "ExtraChannel") if extra else None
        if other is ch:
            other = None
        moves = [(ch, context, exten, priority)] + ([(other, *extra[1:])] if other and extra else [])
        for chan, ctx, ext, prio in moves:
            chan.context, chan.exten, chan.priority = ctx, ext, prio
            chan.redirect = JUMP
        for chan, *_ in moves:
            chan.kick.set()
        log.info("pbxsim_redirect", channel=ch.name, to=f"{context},{exten},{priority}",
                 extra=other.name if other else None, call_id=ch.linkedid)
        return "Dual Redirect successful" if other else "Redirect successful"

    def bridge(self, name1: str, name2: str) -> str:
        """AMI Bridge (features/bridge_action.py; a queue's caller is moved, see the module docstring)."""
        ch1 = moveable(self.kernel, name1, "Channel1")
        ch2 = moveable(self.kernel, name2, "Channel2")
        if ch1 is ch2:
            raise MoveError("Unable to bridge a channel to itself")
        carried = [ch for ch in (ch1, ch2) if ch.bridge is not None and not isinstance(ch.bridge, ActionBridge)]
        if not carried:
            return bridge(self.kernel, name1, name2)
        for ch in carried:
            if ch.bridge is None or ch.bridge.owner is not ch or ch.bridge.takeover is not None:
                raise MoveError(f"Unable to bridge {ch.name}: it is in a call (simulator: Redirect it first)")
        b = ActionBridge(parties=[ch1, ch2], carried=carried)
        # Asterisk acks first; the moves follow in the order it makes them (Channel1, then Channel2)
        self.kernel.spawn(self._bridge_carrying(b, ch1, ch2))
        log.info("pbxsim_bridge", channel1=ch1.name, channel2=ch2.name, carried=[c.name for c in carried],
                 call_id=ch1.linkedid)
        return "Channels have been bridged"

    async def _bridge_carrying(self, b: ActionBridge, ch1: Channel, ch2: Channel) -> None:
        kernel = self.kernel
        kernel.bridge_create(b)
        for ch in (ch1, ch2):
            if ch.gone or ch.hungup.is_set():
                continue  # gone meanwhile: the other's wait sees it
            if ch not in b.carried:
                yank(ch, b)
                continue
            old = ch.bridge
            assert old is not None
            kernel.bridge_leave(old, ch)
            share_linkedid(kernel, b, ch)
            kernel.bridge_enter(b, ch)
            old.takeover = lambda owner, peer, complete, b=b, old=old: self._carried(b, old, owner, peer, complete)
            ch.redirect = CARRIED  # the owner's wait ends; it hands the call over (Bridge.takeover)
            ch.kick.set()

    async def _carried(self, b: ActionBridge, old: Bridge, ch: Channel, agent: Channel | None,
                       complete: Fields | None) -> None:
        """The queue's caller in the new bridge until it goes or the bridge dissolves (its Queue() runs on).

        Returns when the caller's channel is gone; raises Redirected (after-bridge goto, AMI Redirect).
        """
        kernel = self.kernel
        ch.redirect = None
        ch.kick.clear()
        if agent is not None:  # the queue bridge, left with the agent's leg alone, dissolves: the leg goes
            kernel.bridge_leave(old, agent)
            kernel.bridge_destroy(old)
            if not agent.gone:
                agent.hangup_by_ami = True
                kernel.emit_hangup(agent, 16)
        if complete is not None:
            talk_start = agent.answered if agent is not None and agent.answered is not None else kernel.clock.now()
            ch.feature(MoveState).pending_complete = (complete, talk_start)
        while ch.bridge is b:
            peers = [p for p in b.parties if p is not ch]
            await wait_any(kernel.clock, [ch.hungup, ch.kick, b.dissolved] + [p.hungup for p in peers]
                           + [p.kick for p in peers if p in b.channels], None)
            if ch.bridge is not b:
                break
            if ch.hungup.is_set():
                self._carried_hangs_up(b, ch)
                return
            hung = [p for p in peers if p.hungup.is_set()]
            moved = [p for p in [ch] + peers if p in b.channels and p.redirect is not None and p not in hung]
            if hung or moved:
                dissolve(kernel, b, hung, moved)
            else:
                ch.kick.clear()
        if ch.hungup.is_set():
            self._carried_hangs_up(b, ch)
            return
        if ch.redirect is not None:  # AMI Redirect: the dialplan where it was sent
            raise Redirected(ch.name)
        # the after-bridge goto: the priority after the Queue it still runs (features.c action_bridge)
        ch.priority += 1
        ch.newexten_at = (ch.context, ch.exten, ch.priority)
        kernel.emit("Newexten", ch.fields() + [("Extension", ch.exten), ("Application", ch.app),
                                               ("AppData", ch.appdata)])
        log.info("pbxsim_after_bridge_goto", channel=ch.name, call_id=ch.linkedid,
                 to=f"{ch.context},{ch.exten},{ch.priority}")
        ch.redirect = AFTER_BRIDGE
        raise Redirected(ch.name)

    def _carried_hangs_up(self, b: ActionBridge, ch: Channel) -> None:
        """The moved caller hangs up in the new bridge (trace 18 C)."""
        kernel = self.kernel
        if ch in b.channels:
            if not ch.hangup_by_ami:
                kernel.emit("HangupRequest", ch.fields())
                self.late_complete(ch, after_hangup=False)  # app_queue: at the caller's hangup request
            kernel.bridge_leave(b, ch)
            for p in list(b.channels):
                kernel.bridge_leave(b, p)
            kernel.bridge_destroy(b)
            b.dissolved.set()
        kernel.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
        kernel.emit_cdrs(ch)
        kernel.emit_hangup(ch, 16)

    def blind_transfer(self, name: str, context: str, exten: str) -> str:
        """AMI BlindTransfer of the transferer ``name``'s bridge peer to ``context,exten,1`` (trace 08 A).

        Unhold on the transferer, the BlindTransfer event; then (queue bridge) BridgeLeave of the
        transferer, AgentComplete Reason=transfer, BridgeLeave of the transferee, BridgeDestroy, the
        transferer's Hangup, and the transferee runs the dialplan at the target.
        """
        kernel = self.kernel
        ch = moveable(kernel, name, "Channel")
        b = ch.bridge
        peers = [p for p in b.channels if p is not ch] if b is not None else []
        if b is None or len(peers) != 1 or isinstance(b, ActionBridge):
            raise MoveError("Transfer failed")
        peer = peers[0]
        kernel.emit("Unhold", ch.fields())
        kernel.emit("BlindTransfer", [("Result", "Success")] + ch.fields("Transferer") + peer.fields("Transferee")
                    + b.fields() + [("IsExternal", "Yes"), ("Context", context), ("Extension", exten)])
        peer.context, peer.exten, peer.priority = context, exten, 1
        peer.redirect = JUMP
        peer.feature(MoveState).blind_from = ch
        peer.kick.set()
        log.info("pbxsim_blind_transfer", transferer=ch.name, to=f"{context},{exten}", call_id=ch.linkedid)
        return "Transfer succeeded"

    # --- hooks -------------------------------------------------------------------
    async def redirected(self, ch: Channel) -> bool:
        """The dialplan engine caught Redirected for ``ch``: jump, or sit in a bridge until it goes.

        Returns True when an AMI Redirect sent ``ch`` elsewhere (its first step then shows the
        interrupted application, trace 07), False when it goes on after a Bridge-action bridge
        at its after-bridge goto (already ``ch.context/exten/priority``); raises ChannelHungUp.
        """
        target = ch.redirect
        ch.redirect = None
        ch.kick.clear()
        if target == AFTER_BRIDGE:  # back from an AMI Bridge with its application still running
            return False
        if isinstance(target, BridgeTo):
            # features.c action_bridge: the channel runs this priority (IN_AUTOLOOP): it goes on at the next
            ch.priority += 1
            return await sit_in_bridge(self.kernel, ch, target.bridge)
        return True

    def _run_moved_leg(self, leg: Channel) -> None:
        """A redirected outgoing leg (queue member, dialled party) starts the dialplan where it was sent.

        Its first Newexten shows the application it was in (07 A: ``agent-wait,s,1`` with
        ``AppQueue`` ``(Outgoing Line)``), as for a channel redirected out of its own dialplan.
        """
        leg.redirect = None
        leg.kick.clear()
        if leg.app:
            leg.moved_from = (leg.app, leg.appdata)
        self.kernel.spawn(self.dialplan.run(leg))

    def queue_bridge_moved(self, b: Bridge, ch: Channel, agent: Channel, complete: Fields,
                           talk_start: float) -> None:
        """A Redirect took the customer (and maybe the agent) out of a queue bridge.

        Raises Redirected for the customer's dialplan. ``complete`` is the AgentComplete block
        (without Reason) the queue would have sent.
        """
        kernel = self.kernel
        state = ch.feature(MoveState)
        if ch.redirect is None and agent.redirect is not None:
            # only the agent leg was moved: it runs the dialplan; the customer's Queue() returns
            kernel.bridge_leave(b, agent)
            kernel.bridge_leave(b, ch)
            kernel.bridge_destroy(b)
            self._run_moved_leg(agent)
            kernel.emit("AgentComplete", complete + [("Reason", "transfer")])
            return
        if state.blind_from is agent:  # BlindTransfer from the agent's leg (08 A)
            state.blind_from = None
            kernel.bridge_leave(b, agent)
            kernel.emit("AgentComplete", complete + [("Reason", "transfer")])
            kernel.bridge_leave(b, ch)
            kernel.bridge_destroy(b)
            kernel.emit_hangup(agent, 16)
            raise Redirected(ch.name)
        if agent.redirect is not None:  # dual Redirect (07 A): both legs live on, no AgentComplete ever
            kernel.bridge_leave(b, agent)
            kernel.bridge_leave(b, ch)
            kernel.bridge_destroy(b)
            self._run_moved_leg(agent)
            raise Redirected(ch.name)
        # the customer only (07 B, 08 C): the agent leg is hung up; AgentComplete waits for the customer's end
        kernel.bridge_leave(b, ch)
        state.pending_complete = (complete, talk_start)

        def agent_leg_goes() -> None:
            state.after_move = None
            if agent.gone:
                return
            kernel.bridge_leave(b, agent)
            kernel.bridge_destroy(b)
            kernel.emit_hangup(agent, 16)

        async def soon() -> None:
            agent_leg_goes()

        # as soon as the customer's new dialplan joined a queue (08 C), or else on the next turn of the loop
        state.after_move = agent_leg_goes
        kernel.spawn(soon())
        raise Redirected(ch.name)

    def after_queue_join(self, ch: Channel) -> None:
        """A customer redirected out of a queue bridge joined a queue again: its old agent leg goes now."""
        state = ch.feature_if(MoveState)
        hook = state.after_move if state is not None else None
        if hook is not None:
            hook()

    def requeued(self, ch: Channel) -> None:
        """A queue answered a redirected customer again (08 C): its late AgentComplete follows its Hangup."""
        state = ch.feature_if(MoveState)
        if state is not None and state.pending_complete is not None:
            state.requeued = True

    def late_complete(self, ch: Channel, after_hangup: bool) -> None:
        """The deferred AgentComplete of a redirected customer (before its Hangup, or after it when requeued)."""
        state = ch.feature_if(MoveState)
        pending = state.pending_complete if state is not None else None
        if state is None or pending is None or after_hangup != state.requeued:
            return
        fields, talk_start = pending
        state.pending_complete = None
        talk = [("TalkTime", str(int(self.kernel.clock.now() - talk_start))), ("Reason", "caller")]
        queue = [f for f in fields if f[0] in ("Queue", "Interface", "MemberName", "HoldTime")]
        # the channel as it is now (07 B); 08 C: the late AgentComplete names no channel at all
        self.kernel.emit("AgentComplete", ([] if after_hangup else ch.fields()) + queue + talk)

    def dial_bridge_moved(self, b: Bridge, ch: Channel, callee: Channel, go_on: bool = False) -> None:
        """A Redirect took the caller and/or the dialled party out of the bridge.

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
            self.kernel.bridge_leave(b, party)
        self.kernel.bridge_destroy(b)
        if callee.redirect is not None:
            self._run_moved_leg(callee)
        elif ch.redirect is not None:
            self.kernel.emit("SoftHangupRequest", callee.fields() + [("Cause", "16")])
            self.kernel.emit_hangup(callee, 16)
        if ch.redirect is not None:
            raise Redirected(ch.name)
        if go_on:
            return
        log.info("pbxsim_dial_peer_moved_caller_ends", channel=ch.name, peer=callee.name, call_id=ch.linkedid)
        self.kernel.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
        self.kernel.emit_cdrs(ch)
        self.kernel.emit_hangup(ch, 16)
        raise ChannelHungUp(ch.name)
