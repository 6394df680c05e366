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

``bridge_talk`` is the basic two-party bridge both ends of a call meet in after a move
(optimisation, transfer): when one party hangs up the others are hung up.

Hooks elsewhere (see pbxsim/README.md, "Issue 4 hooks"): a bridge owner (queue call,
Dial) whose bridge has a ``takeover`` coroutine lets it end the call (``run_takeover``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Awaitable, Callable

import structlog

from ..channel import Bridge, Channel, Fields

if TYPE_CHECKING:
    from ..sim import PbxSim

log = structlog.get_logger(__name__)


def is_local(ch: Channel) -> bool:
    """True for either half of a Local channel pair."""
    return ch.name.startswith("Local/")


def _prefixed(ch: Channel, prefix: str) -> Fields:
    return [(prefix + k[len("Channel"):] if k.startswith("Channel") else prefix + k, v) for k, v in ch.fields()]


def bridge_age(sim: "PbxSim", bridge: Bridge) -> int:
    """Creation order of a live bridge (sim.bridges keeps insertion order)."""
    for i, uid in enumerate(sim.bridges):
        if uid == bridge.uniqueid:
            return i
    return 1 << 30


def new_bridge(sim: "PbxSim", no_optimize: bool = False) -> Bridge:
    """Create a basic bridge (BridgeCreate)."""
    b = Bridge()
    b.no_optimize = no_optimize  # type: ignore[attr-defined]
    b.changed = asyncio.Event()  # type: ignore[attr-defined]
    sim.bridges[b.uniqueid] = b
    sim.emit("BridgeCreate", b.fields())
    return b


def enter(sim: "PbxSim", bridge: Bridge, ch: Channel) -> None:
    """``ch`` enters ``bridge`` (BridgeEnter)."""
    bridge.channels.append(ch)
    ch.bridge = bridge
    sim.emit("BridgeEnter", bridge.fields() + ch.fields())
    _changed(bridge)


def leave(sim: "PbxSim", bridge: Bridge, ch: Channel) -> None:
    """``ch`` leaves ``bridge`` (BridgeLeave)."""
    if ch in bridge.channels:
        bridge.channels.remove(ch)
        if ch.bridge is bridge:
            ch.bridge = None
        sim.emit("BridgeLeave", bridge.fields() + ch.fields())
        _changed(bridge)


def destroy(sim: "PbxSim", bridge: Bridge) -> None:
    """BridgeDestroy (once)."""
    if sim.bridges.pop(bridge.uniqueid, None) is not None:
        sim.emit("BridgeDestroy", bridge.fields())


def _changed(bridge: Bridge) -> None:
    ev = getattr(bridge, "changed", None)
    if ev is not None:
        ev.set()


def runs_dialplan(ch: Channel) -> bool:
    """The channel runs a dialplan of its own (an outgoing Dial/queue leg does not)."""
    return ch.app not in ("AppDial", "AppQueue", "AppDial2", "")


class LocalPair:
    """A ``Local/exten@context`` channel pair."""

    def __init__(self, sim: "PbxSim", exten: str, context: str, linkedid: str | None = None,
                 uid1: str | None = None, uid2: str | None = None):
        self.sim = sim
        self.exten, self.context = exten, context
        seq = getattr(sim, "_local_seq", 0)
        sim._local_seq = seq + 1  # type: ignore[attr-defined]
        base = f"Local/{exten}@{context}-{seq:08x}"
        self.one = self._channel(base + ";1", 0, uid1, linkedid)
        self.two = self._channel(base + ";2", 4, uid2, linkedid or self.one.linkedid)
        self.one.local_pair = self  # type: ignore[attr-defined]
        self.two.local_pair = self  # type: ignore[attr-defined]
        self.answered = asyncio.Event()
        self.optimized = False
        self.dialplan_halves: set[str] = set()
        _listen(sim)
        pairs(sim)[self.one.name] = self
        pairs(sim)[self.two.name] = self

    def _channel(self, name: str, state: int, uid: str | None, linkedid: str | None) -> Channel:
        sim = self.sim
        seq = sim._seq
        sim._seq += 1
        uid = uid or f"{int(sim.clock.now())}.{seq}"
        ch = Channel(name=name, uniqueid=uid, linkedid=linkedid or uid, endpoint=f"Local/{self.exten}@{self.context}",
                     cid_num="", cid_name="", context=self.context, exten=self.exten, state=state,
                     created=sim.clock.now())
        sim.channels[name] = ch
        sim.emit("Newchannel", ch.fields())
        return ch

    def other(self, ch: Channel) -> Channel:
        return self.two if ch is self.one else self.one

    def local_fields(self) -> Fields:
        return _prefixed(self.one, "LocalOne") + _prefixed(self.two, "LocalTwo")

    def emit_local_bridge(self) -> None:
        self.sim.emit("LocalBridge", self.local_fields() + [("Context", self.context), ("Exten", self.exten),
                                                            ("LocalOptimization", "Yes")])

    def start_two(self) -> None:
        """``;2`` runs the dialplan at exten@context."""
        self.dialplan_halves.add(self.two.name)
        self.sim.spawn(self.sim.dialplan.run(self.two))

    # --- following ;2's Dial ------------------------------------------------
    def on_event(self, event: str, fields: dict[str, str]) -> None:
        sim = self.sim
        chan = fields.get("Channel", "")
        if event == "DialBegin" and chan == self.two.name and self.one.state < 5:
            asyncio.get_event_loop().call_soon(self._ringing)
        elif event == "DialEnd" and chan == self.two.name and fields.get("DialStatus") == "ANSWER":
            asyncio.get_event_loop().call_soon(self._answer)
        elif event == "BridgeEnter" and chan in (self.one.name, self.two.name):
            asyncio.get_event_loop().call_soon(self.maybe_optimize)
        elif event == "Hangup" and chan in (self.one.name, self.two.name) and not self.optimized:
            other = self.other(sim.channels.get(chan) or (self.one if chan == self.one.name else self.two))
            if not other.gone:
                asyncio.get_event_loop().call_soon(other.request_hangup, 16)

    def _ringing(self) -> None:
        if not self.one.gone and self.one.state < 5:
            self.sim.set_state(self.one, 5)

    def _answer(self) -> None:
        one = self.one
        if one.gone or self.answered.is_set():
            return
        self.answered.set()
        on_answer = getattr(self, "on_answer", None)
        if on_answer is not None:
            on_answer()
        self.sim.set_state(one, 6)
        self.sim.emit("DialEnd", one.fields("Dest") + [("DialStatus", "ANSWER")])
        after = getattr(self, "after_answer", None)
        if after is not None:
            after()

    # --- optimisation -------------------------------------------------------
    def maybe_optimize(self) -> None:
        """Optimise the pair away when both halves are bridged with someone."""
        one, two, sim = self.one, self.two, self.sim
        if self.optimized or one.gone or two.gone or one.bridge is None or two.bridge is None:
            return
        b1, b2 = one.bridge, two.bridge
        if b1 is b2 or getattr(b1, "no_optimize", False) or getattr(b2, "no_optimize", False):
            return
        if len(b1.channels) != 2 or len(b2.channels) != 2 or one.state != 6 or two.state != 6:
            return
        if getattr(one, "mixmonitors", None) or getattr(two, "mixmonitors", None):
            # main/bridge.c optimize_lock_*_stack: a half with an audiohook (a MixMonitor, e.g. the
            # dial-out recording on ;2 in cti-outbound) is never optimised away: the pair stays
            return
        # the older bridge survives; the party of the younger one takes its half's place
        x, y = (one, two) if bridge_age(sim, b1) < bridge_age(sim, b2) else (two, one)
        keep, gone_bridge = x.bridge, y.bridge
        source = next(c for c in gone_bridge.channels if c is not y)
        self.optimized = True
        opt_id = getattr(sim, "_local_opt_id", 0)
        sim._local_opt_id = opt_id + 1  # type: ignore[attr-defined]
        log.info("pbxsim_local_optimize", pair=one.name[:-2], source=source.name, call_id=one.linkedid)
        sim.emit("LocalOptimizationBegin", self.local_fields() + _prefixed(source, "Source") + [
            ("DestUniqueId", two.uniqueid), ("Id", str(opt_id))])
        for b in (keep, gone_bridge):  # the owners of both bridges let go quietly
            if getattr(b, "takeover", None) is None:
                b.takeover = quiet  # type: ignore[attr-defined]
        leave(sim, gone_bridge, source)
        leave(sim, keep, x)
        enter(sim, keep, source)
        sim.emit("LocalOptimizationEnd", self.local_fields() + [("Success", "No"), ("Id", str(opt_id))])
        leave(sim, gone_bridge, y)
        for ch in (y, x):
            ch.hangup_by_ami = True  # type: ignore[attr-defined]
            ch.request_hangup(16)
        if y.name in self.dialplan_halves:
            sim.emit("SoftHangupRequest", y.fields() + [("Cause", "16")])
        sim.emit("HangupRequest", x.fields() + [("Cause", "16")])
        sim.emit_hangup(y, 16)
        if x.name in self.dialplan_halves:
            sim.emit("SoftHangupRequest", x.fields() + [("Cause", "16")])
        sim.emit_hangup(x, 16)
        destroy(sim, gone_bridge)
        if getattr(keep, "talk_owner", False):
            _changed(keep)  # a bridge_talk already owns it: it sees the new party
        else:
            keep.takeover = quiet  # type: ignore[attr-defined]
            spawn_talk(sim, keep)


def pairs(sim: "PbxSim") -> dict[str, LocalPair]:
    """Live Local pairs by channel name."""
    d = getattr(sim, "_local_pairs", None)
    if d is None:
        d = sim._local_pairs = {}  # type: ignore[attr-defined]
    return d


def _listen(sim: "PbxSim") -> None:
    if getattr(sim, "_local_listening", False):
        return
    sim._local_listening = True  # type: ignore[attr-defined]

    def on_event(event: str, msg: Fields) -> None:
        if event not in ("DialBegin", "DialEnd", "BridgeEnter", "Hangup"):
            return
        fields = dict(msg)
        name = fields.get("Channel", "")
        if not name.startswith("Local/"):
            return
        pair = pairs(sim).get(name)
        if pair is None:
            return
        pair.on_event(event, fields)
        if event == "Hangup" and pair.one.gone and pair.two.gone:
            pairs(sim).pop(pair.one.name, None)
            pairs(sim).pop(pair.two.name, None)

    sim.listeners.append(on_event)


async def quiet(*_args) -> None:
    """A bridge owner whose parties were moved away lets go without a word."""


async def run_takeover(bridge: Bridge, *args) -> bool:
    """The hook for bridge owners (queue call, Dial): True if a feature ended the call.

    Called when the owner's wait ends; if a feature (Local optimisation, Atxfer) set
    ``bridge.takeover`` the owner must not run its own hangup sequence.
    """
    takeover: Callable[..., Awaitable[None]] | None = getattr(bridge, "takeover", None)
    if takeover is None:
        return False
    await takeover(*args)
    return True


def _phone_hangup_at(sim: "PbxSim", ch: Channel) -> float | None:
    """When this PJSIP party's phone script hangs up (answer time + hangup_after_answer)."""
    if is_local(ch) or ch.answered is None or not ch.endpoint or ch.endpoint not in sim.endpoints:
        return None
    phone = sim.phone(ch.endpoint)
    if getattr(ch, "handle", None) is not None:  # a scripted caller hangs up by its own script
        return None
    return None if phone.hangup_after_answer is None else ch.answered + phone.hangup_after_answer


def spawn_talk(sim: "PbxSim", bridge: Bridge) -> None:
    """Give ``bridge`` a bridge_talk owner now (so no one else takes it meanwhile)."""
    bridge.talk_owner = True  # type: ignore[attr-defined]
    sim.spawn(bridge_talk(sim, bridge))


async def bridge_talk(sim: "PbxSim", bridge: Bridge, owner: Channel | None = None) -> None:
    """Own a basic bridge after a move: when a party hangs up, the others are hung up.

    Order as recorded (08 B end, 14 end): HangupRequest of the party that hung up, its
    BridgeLeave, the others' BridgeLeave, BridgeDestroy, Hangups (a party running a
    dialplan gets SoftHangupRequest first). ``owner``: the party whose task awaits this
    (the queue caller after an Atxfer). An AMI Redirect (pbxsim/moves.py) of a party takes
    it out (Redirected is raised for the owner; another party runs the dialplan where it
    was sent); a party left behind is hung up, as Asterisk does (trace 07 B).
    """
    from ..engines.queues import wait_any
    bridge.talk_owner = True  # type: ignore[attr-defined]
    if getattr(bridge, "changed", None) is None:
        bridge.changed = asyncio.Event()  # type: ignore[attr-defined]
    while True:
        parties = list(bridge.channels)
        hung = [p for p in parties if p.hungup.is_set()]
        takeover = getattr(bridge, "takeover", None)
        if takeover is not None and takeover is not quiet:  # a feature (Atxfer) holds the call
            watched = list(getattr(bridge, "watch", []))
            if hung or any(w.hungup.is_set() for w in watched):
                await takeover(owner, None, None)
                return
            parties = parties + watched
        elif hung or len(parties) < 2:
            break
        times = [t for t in (_phone_hangup_at(sim, p) for p in parties) if t is not None]
        bridge.changed.clear()  # type: ignore[attr-defined]
        timeout = (min(times) - sim.clock.now()) if times else None
        kicks = [k for k in (getattr(p, "kick", None) for p in parties) if k is not None]
        fired = await wait_any(sim.clock, [p.hungup for p in parties] + kicks + [bridge.changed],  # type: ignore[attr-defined]
                               timeout)
        if any(getattr(p, "redirect", None) is not None and not p.hungup.is_set() for p in parties):
            _redirected_out(sim, bridge, owner)
            return
        if not fired and times:
            now = sim.clock.now()
            for p in parties:
                at = _phone_hangup_at(sim, p)
                if at is not None and at <= now:
                    p.request_hangup(16)
    first = hung[0] if hung else None
    if first is not None and not getattr(first, "hangup_by_ami", False):
        sim.emit("HangupRequest", first.fields() + ([] if runs_dialplan(first) else [("Cause", "16")]))
    order = ([first] if first is not None else []) + [p for p in parties if p is not first]
    for p in order:
        leave(sim, bridge, p)
    destroy(sim, bridge)
    for p in order:
        if p.gone:
            continue
        if p is not first and runs_dialplan(p) or getattr(p, "hangup_by_ami", False) and runs_dialplan(p):
            sim.emit("SoftHangupRequest", p.fields() + [("Cause", "16")])
        p.hangup_by_ami = True  # type: ignore[attr-defined]  # its own task must not say more
        p.request_hangup(16)
        if runs_dialplan(p):
            sim.dialplan.emit_cdrs(p)
        sim.emit_hangup(p, 16)


def _redirected_out(sim: "PbxSim", bridge: Bridge, owner: Channel | None) -> None:
    """AMI Redirect of parties of a bridge_talk bridge (e.g. hold after a consult transfer)."""
    from ..channel import Redirected
    moved = [p for p in bridge.channels if getattr(p, "redirect", None) is not None]
    rest = [p for p in bridge.channels if p not in moved]
    for p in moved + rest:
        leave(sim, bridge, p)
    destroy(sim, bridge)
    for p in rest:
        if runs_dialplan(p):
            sim.emit("SoftHangupRequest", p.fields() + [("Cause", "16")])
            sim.dialplan.emit_cdrs(p)
        p.hangup_by_ami = True  # type: ignore[attr-defined]
        p.request_hangup(16)
        sim.emit_hangup(p, 16)
    log.info("pbxsim_redirected_out_of_bridge", moved=[p.name for p in moved], hung_up=[p.name for p in rest])
    for p in moved:
        if p is owner:
            continue
        p.redirect = None  # type: ignore[attr-defined]
        p.kick.clear()  # type: ignore[attr-defined]
        sim.spawn(sim.dialplan.run(p))
    if owner is not None and owner in moved:
        raise Redirected(owner.name)


# --- AMI Originate to a Local channel (trace 14) -------------------------------
async def originate(sim: "PbxSim", target: str, context: str, exten: str, priority: int = 1, cid_num: str = "",
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
    pair = LocalPair(sim, lexten, lcontext, uid1=uid1, uid2=uid2)
    one, two = pair.one, pair.two

    def respond(ok: bool, reason: int) -> None:
        sim.emit("OriginateResponse", aid + [
            ("Response", "Success" if ok else "Failure"), ("Channel", one.name), ("Context", context),
            ("Exten", exten), ("Reason", str(reason)), ("Uniqueid", one.uniqueid),
            ("CallerIDNum", cid_num or "<unknown>"), ("CallerIDName", cid_name or "<unknown>")])

    one.app, one.appdata = "AppDial2", "(Outgoing Line)"
    sim.emit("Newexten", one.fields() + [("Extension", one.exten), ("Application", one.app),
                                         ("AppData", one.appdata)])
    if account:
        for ch in (one, two):
            ch.accountcode = account
    if cid_num or cid_name:
        for ch in (one, two):
            ch.cid_num, ch.cid_name = cid_num, cid_name
            sim.emit("NewCallerid", ch.fields() + [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])
            ch.conn_num, ch.conn_name = cid_num or "<unknown>", cid_name or "<unknown>"
            sim.emit("NewConnectedLine", ch.fields())
    for k, v in (variables or {}).items():
        sim.set_var(one, k, v)
    pair.emit_local_bridge()
    sim.emit("DialBegin", one.fields("Dest") + [("DialString", spec)])
    pair.on_answer = lambda: respond(True, 4)  # type: ignore[attr-defined]

    def run_one() -> None:
        one.context, one.exten, one.priority = context, exten, priority
        pair.dialplan_halves.add(one.name)
        sim.spawn(sim.dialplan.run(one))

    pair.after_answer = run_one  # type: ignore[attr-defined]
    pair.start_two()
    from ..engines.queues import wait_any
    fired = await wait_any(sim.clock, [pair.answered, one.hungup], timeout)
    if pair.answered.is_set():
        return one
    status, reason = ("CANCEL", 1) if fired else ("NOANSWER", 3)
    sim.emit("DialEnd", one.fields("Dest") + [("DialStatus", status)])
    if not two.gone:
        two.request_hangup(16)
    sim.emit_hangup(one, 16 if fired else 0)
    respond(False, reason)
    log.info("pbxsim_local_originate_failed", channel=one.name, reason=reason)
    return None

