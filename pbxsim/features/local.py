"""Local channels (``Local/exten@context``): the ``;1``/``;2`` pair and its optimisation.

As recorded (traces 14_click_to_dial_local_channel and 08 part B):

- a pair is ``Local/<exten>@<context>-XXXXXXXX;1`` and ``;2`` (their own name counter, the
  Uniqueid counter shared with every channel); ``;2`` runs the dialplan at exten@context
  (state Ring), ``;1`` is the outward half (state Down), ``LocalBridge`` links them;
- ``;1`` follows what ``;2``'s Dial sees: Ringing when ``;2`` dials, Up when ``;2``'s callee
  answers (then ``DialEnd`` ANSWER for ``;1``);
- once both halves are bridged with someone (and neither bridge forbids it, as the
  Atxfer consult bridge and a ConfBridge do, and neither half is recorded by MixMonitor:
  an audiohook blocks it, main/bridge.c) the pair optimises itself away: ``LocalOptimizationBegin``,
  the party of the younger bridge moves into the older bridge in place of its half,
  ``LocalOptimizationEnd`` (``Success: No``, as recorded), both halves are hung up
  (Cause 16) and the younger bridge is destroyed;
- when one half hangs up before that, the other is hung up too.

The surviving bridge gets a talk loop (features/talk.py); the owners of both bridges (queue
call, Dial) let go quietly: the optimisation sets their ``Bridge.takeover``.
"""

from __future__ import annotations

import asyncio
from typing import Callable

import structlog

from ..channel import Bridge, Channel, Fields
from ..clock import wait_any
from ..engines.dialplan import Dialplan
from ..kernel.hooks import OriginateRequest
from ..kernel.kernel import CID_PRES, Kernel
from .talk import Talks, TalkState, quiet

log = structlog.get_logger(__name__)


def _prefixed(ch: Channel, prefix: str) -> Fields:
    return [(prefix + k[len("Channel"):] if k.startswith("Channel") else prefix + k, v) for k, v in ch.fields()]


def bridge_age(kernel: Kernel, bridge: Bridge) -> int:
    """Creation order of a live bridge (kernel.bridges keeps insertion order)."""
    for i, uid in enumerate(kernel.bridges):
        if uid == bridge.uniqueid:
            return i
    return 1 << 30


class LocalChannels:
    """Every Local channel pair of one simulator; Originate of ``Local/...`` channels."""

    def __init__(self, kernel: Kernel, dialplan: Dialplan, talks: Talks):
        self.kernel = kernel
        self.dialplan = dialplan
        self.talks = talks
        self.pairs: dict[str, LocalPair] = {}  # live pairs by channel name (both halves)
        self.seq = 0  # the Local name counter (Local/<exten>@<context>-XXXXXXXX)
        self.opt_id = 0  # LocalOptimizationBegin/End Id
        kernel.listeners.append(self._on_event)
        kernel.hooks.originators["local"] = self.originate_request

    def new_pair(self, exten: str, context: str, linkedid: str | None = None,
                 uid1: str | None = None, uid2: str | None = None) -> "LocalPair":
        """Create ``Local/exten@context-N;1`` and ``;2`` (Newchannel each)."""
        seq = self.seq
        self.seq += 1
        pair = LocalPair(self, exten, context, seq, linkedid, uid1, uid2)
        self.pairs[pair.one.name] = pair
        self.pairs[pair.two.name] = pair
        return pair

    def _on_event(self, event: str, msg: Fields) -> None:
        if event not in ("DialBegin", "DialEnd", "BridgeEnter", "Hangup"):
            return
        fields = dict(msg)
        name = fields.get("Channel", "")
        if not name.startswith("Local/"):
            return
        pair = self.pairs.get(name)
        if pair is None:
            return
        pair.on_event(event, fields)
        if event == "Hangup" and pair.one.gone and pair.two.gone:
            self.pairs.pop(pair.one.name, None)
            self.pairs.pop(pair.two.name, None)

    async def originate_request(self, req: OriginateRequest) -> Channel | None:
        """AMI Originate of ``Local/exten@context``."""
        return await self.originate(req.channel, req.context, req.exten, req.priority, req.cid_num, req.cid_name,
                                    req.timeout, req.account, req.variables, req.channel_id,
                                    req.other_channel_id, req.action_id)

    # --- AMI Originate to a Local channel (trace 14) -------------------------------
    async def originate(self, target: str, context: str, exten: str, priority: int = 1, cid_num: str = "",
                        cid_name: str = "", timeout: float = 30.0, account: str = "",
                        variables: dict[str, str] | None = None, uid1: str | None = None, uid2: str | None = None,
                        action_id: str | None = None) -> Channel | None:
        """Originate ``Local/exten@context`` into context,exten,priority.

        ``;2`` runs the Local's extension (e.g. Dial(PJSIP/1001)); when that is answered,
        OriginateResponse names ``;1``, which then runs context,exten,priority. ``uid1`` /
        ``uid2`` are the action's ChannelId / OtherChannelId: ``;1``'s Uniqueid (and Linkedid,
        it has no requestor), ``;2``'s Uniqueid (default ``<ChannelId>;2``, core_unreal.c).
        """
        spec = target.split("/", 1)[1] if "/" in target else target
        spec = spec.split("/", 1)[0]  # options such as /n are not simulated
        lexten, _, lcontext = spec.partition("@")
        lcontext = lcontext or "default"
        aid = [("ActionID", action_id)] if action_id else []
        if uid1 and not uid2:  # main/core_unreal.c: "if id1 given but not id2, use default of id1;2"
            uid2 = f"{uid1};2"
        # ;2 is allocated with ;1 as requestor: same Linkedid (= ChannelId), and so has all it dials
        kernel = self.kernel
        pair = self.new_pair(lexten, lcontext, uid1=uid1, uid2=uid2)
        one, two = pair.one, pair.two

        def respond(ok: bool, reason: int) -> None:
            kernel.emit("OriginateResponse", aid + [
                ("Response", "Success" if ok else "Failure"), ("Channel", one.name), ("Context", context),
                ("Exten", exten), ("Reason", str(reason)), ("Uniqueid", one.uniqueid),
                ("CallerIDNum", cid_num or "<unknown>"), ("CallerIDName", cid_name or "<unknown>")])

        one.app, one.appdata = "AppDial2", "(Outgoing Line)"
        kernel.emit("Newexten", one.fields() + [("Extension", one.exten), ("Application", one.app),
                                                ("AppData", one.appdata)])
        if account:
            for ch in (one, two):
                ch.accountcode = account
        if cid_num or cid_name:
            for ch in (one, two):
                ch.cid_num, ch.cid_name = cid_num, cid_name
                kernel.emit("NewCallerid", ch.fields() + [CID_PRES])
                ch.conn_num, ch.conn_name = cid_num or "<unknown>", cid_name or "<unknown>"
                kernel.emit("NewConnectedLine", ch.fields())
        for k, v in (variables or {}).items():
            kernel.set_var(one, k, v)
        pair.emit_local_bridge()
        kernel.emit("DialBegin", one.fields("Dest") + [("DialString", spec)])
        pair.on_answer = lambda: respond(True, 4)

        def run_one() -> None:
            one.context, one.exten, one.priority = context, exten, priority
            pair.dialplan_halves.add(one.name)
            kernel.spawn(self.dialplan.run(one))

        pair.after_answer = run_one
        pair.start_two()
        fired = await wait_any(kernel.clock, [pair.answered, one.hungup], timeout)
        if pair.answered.is_set():
            return one
        status, reason = ("CANCEL", 1) if fired else ("NOANSWER", 3)
        kernel.emit("DialEnd", one.fields("Dest") + [("DialStatus", status)])
        if not two.gone:
            two.request_hangup(16)
        kernel.emit_hangup(one, 16 if fired else 0)
        respond(False, reason)
        log.info("pbxsim_local_originate_failed", channel=one.name, reason=reason)
        return None


class LocalPair:
    """A ``Local/exten@context`` channel pair."""

    def __init__(self, local: LocalChannels, exten: str, context: str, seq: int, linkedid: str | None = None,
                 uid1: str | None = None, uid2: str | None = None):
        self.local = local
        self.kernel = local.kernel
        self.exten, self.context = exten, context
        base = f"Local/{exten}@{context}-{seq:08x}"
        self.one = self._channel(base + ";1", 0, uid1, linkedid)
        self.two = self._channel(base + ";2", 4, uid2, linkedid or self.one.linkedid)
        self.answered = asyncio.Event()
        self.optimized = False
        self.dialplan_halves: set[str] = set()
        self.on_answer: Callable[[], None] | None = None  # ;2's callee answered, before ;1 goes Up
        self.after_answer: Callable[[], None] | None = None  # ... and after ;1's DialEnd ANSWER

    def _channel(self, name: str, state: int, uid: str | None, linkedid: str | None) -> Channel:
        kernel = self.kernel
        _, default_uid = kernel.next_uniqueid()
        uid = uid or default_uid
        ch = Channel(name=name, uniqueid=uid, linkedid=linkedid or uid, endpoint=f"Local/{self.exten}@{self.context}",
                     cid_num="", cid_name="", context=self.context, exten=self.exten, state=state,
                     created=kernel.clock.now())
        kernel.add_channel(ch)
        return ch

    def other(self, ch: Channel) -> Channel:
        return self.two if ch is self.one else self.one

    def local_fields(self) -> Fields:
        return _prefixed(self.one, "LocalOne") + _prefixed(self.two, "LocalTwo")

    def emit_local_bridge(self) -> None:
        self.kernel.emit("LocalBridge", self.local_fields() + [("Context", self.context), ("Exten", self.exten),
                                                               ("LocalOptimization", "Yes")])

    def start_two(self) -> None:
        """``;2`` runs the dialplan at exten@context."""
        self.dialplan_halves.add(self.two.name)
        self.kernel.spawn(self.local.dialplan.run(self.two))

    # --- following ;2's Dial ------------------------------------------------
    def on_event(self, event: str, fields: dict[str, str]) -> None:
        kernel = self.kernel
        chan = fields.get("Channel", "")
        if event == "DialBegin" and chan == self.two.name and self.one.state < 5:
            asyncio.get_event_loop().call_soon(self._ringing)
        elif event == "DialEnd" and chan == self.two.name and fields.get("DialStatus") == "ANSWER":
            asyncio.get_event_loop().call_soon(self._answer)
        elif event == "BridgeEnter" and chan in (self.one.name, self.two.name):
            asyncio.get_event_loop().call_soon(self.maybe_optimize)
        elif event == "Hangup" and chan in (self.one.name, self.two.name) and not self.optimized:
            other = self.other(kernel.channels.get(chan) or (self.one if chan == self.one.name else self.two))
            if not other.gone:
                asyncio.get_event_loop().call_soon(other.request_hangup, 16)

    def _ringing(self) -> None:
        if not self.one.gone and self.one.state < 5:
            self.kernel.set_state(self.one, 5)

    def _answer(self) -> None:
        one = self.one
        if one.gone or self.answered.is_set():
            return
        self.answered.set()
        if self.on_answer is not None:
            self.on_answer()
        self.kernel.set_state(one, 6)
        self.kernel.emit("DialEnd", one.fields("Dest") + [("DialStatus", "ANSWER")])
        if self.after_answer is not None:
            self.after_answer()

    # --- optimisation -------------------------------------------------------
    def maybe_optimize(self) -> None:
        """Optimise the pair away when both halves are bridged with someone."""
        one, two, kernel = self.one, self.two, self.kernel
        if self.optimized or one.gone or two.gone or one.bridge is None or two.bridge is None:
            return
        b1, b2 = one.bridge, two.bridge
        if b1 is b2 or b1.no_optimize or b2.no_optimize:
            return
        if len(b1.channels) != 2 or len(b2.channels) != 2 or one.state != 6 or two.state != 6:
            return
        if one.audiohooks or two.audiohooks:
            # main/bridge.c optimize_lock_*_stack: a half with an audiohook (a MixMonitor, e.g. the
            # dial-out recording on ;2 in cti-outbound) is never optimised away: the pair stays
            return
        # the older bridge survives; the party of the younger one takes its half's place
        x, y = (one, two) if bridge_age(kernel, b1) < bridge_age(kernel, b2) else (two, one)
        keep, gone_bridge = x.bridge, y.bridge
        source = next(c for c in gone_bridge.channels if c is not y)
        self.optimized = True
        opt_id = self.local.opt_id
        self.local.opt_id += 1
        log.info("pbxsim_local_optimize", pair=one.name[:-2], source=source.name, call_id=one.linkedid)
        kernel.emit("LocalOptimizationBegin", self.local_fields() + _prefixed(source, "Source") + [
            ("DestUniqueId", two.uniqueid), ("Id", str(opt_id))])
        for b in (keep, gone_bridge):  # the owners of both bridges let go quietly
            if b.takeover is None:
                b.takeover = quiet
        kernel.bridge_leave(gone_bridge, source)
        kernel.bridge_leave(keep, x)
        kernel.bridge_enter(keep, source)
        kernel.emit("LocalOptimizationEnd", self.local_fields() + [("Success", "No"), ("Id", str(opt_id))])
        kernel.bridge_leave(gone_bridge, y)
        for ch in (y, x):
            ch.hangup_by_ami = True
            ch.request_hangup(16)
        if y.name in self.dialplan_halves:
            kernel.emit("SoftHangupRequest", y.fields() + [("Cause", "16")])
        kernel.emit("HangupRequest", x.fields() + [("Cause", "16")])
        kernel.emit_hangup(y, 16)
        if x.name in self.dialplan_halves:
            kernel.emit("SoftHangupRequest", x.fields() + [("Cause", "16")])
        kernel.emit_hangup(x, 16)
        kernel.bridge_destroy(gone_bridge)
        talk = keep.feature_if(TalkState)
        if talk is not None and talk.owned:
            keep.changed.set()  # a talk loop already owns it: it sees the new party
        else:
            keep.takeover = quiet
            self.local.talks.spawn(keep)
