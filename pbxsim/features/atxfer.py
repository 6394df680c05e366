"""AMI ``Atxfer``: attended (consult) transfer, as recorded in trace 08 part B.

Real Asterisk 22 executes AMI Atxfer by feeding the features.conf ``atxfer`` code to the
transferer's channel as DTMF, so it needs ``[featuremap] atxfer = *2`` (without it:
``No attended transfer feature code found``). The reply only says ``Atxfer successfully
queued``; then, on the transferer's (agent's) channel:

1. ``DTMFEnd`` ``*``, ``2``; ``Hold`` on the transferer, ``MusicOnHoldStart`` on the
   transferee (the customer), whose device goes ONHOLD; ``DTMFEnd`` of each target digit;
2. the consult leg is a Local pair ``Local/<exten>@<context>-XXXXXXXX;1/;2``: a consult
   bridge is created, ``;1`` and the transferer enter it (the transferer leaves the
   customer's bridge), ``;2`` runs the target extension (e.g. Dial(PJSIP/1002,20));
3. the target answers: ``;1`` goes Up, ``DialEnd`` ANSWER for ``;1``;
4. the transferer hangs up: ``BridgeMerge`` (consult bridge into the customer's),
   ``;1`` enters the customer's bridge, ``MusicOnHoldStop``, ``AttendedTransfer``,
   ``AgentComplete`` Reason=transfer, the consult bridge is destroyed, the transferer's
   Hangup; then the Local pair optimises itself away (``LocalOptimizationBegin/End``) and
   the customer talks with the target directly. No other AgentComplete follows.

Not recorded, simulated as Asterisk's source does it: the target does not answer, hangs
up, or is moved away (the CTI server Redirects it into a conference room) during the
consult -> ``;2``'s Dial ends (a moved callee dissolves Dial's bridge, Dial returns -1:
``;2`` is hung up without running its next priority, features/moves.py), ``;1`` goes
(BridgeLeave, Hangup), and main/bridge_basic.c's CONSULTING state takes "Transfer Target
Hangup" to REBRIDGE: the transferer leaves the consult bridge and re-enters the
customer's (BridgeLeave, BridgeEnter), ``Unhold`` on it, the customer's
``MusicOnHoldStop``, then ``BridgeDestroy`` of the consult bridge. The customer hangs up
during the consult -> the customer's call ends (AgentComplete Reason=caller) and the
consult goes on as a plain call; the transferer hangs up while the target still rings ->
the customer is merged with the ringing leg and gets the target when it answers.
"""

from __future__ import annotations

import structlog

from ..channel import Bridge, Channel, Fields
from ..clock import wait_any
from ..engines.dialplan import Dialplan
from ..kernel.actions import ActionError, Reply, Request
from ..kernel.kernel import CID_PRES, Kernel
from .local import LocalChannels, LocalPair
from .talk import TalkState

log = structlog.get_logger(__name__)

# simulated seconds between what Asterisk does for an Atxfer (trace 08 B)
STAR_TO_CODE = 0.145
CODE_TO_HOLD = 0.1
DIGIT_GAP = 0.045
DIGIT_TIMEOUT = 3.0  # features.conf transferdigittimeout (default)
DIAL_ATTEMPTS = 3  # features.conf transferdialattempts (default)


class AtxferError(Exception):
    """Refused (the message is Asterisk's)."""


def feature_code(kernel: Kernel, name: str = "atxfer") -> str:
    """The features.conf [featuremap] code of ``name`` ('' when not configured)."""
    codes = {k: v.lstrip(">").strip() for k, v in kernel.conf_files.sections("features.conf").get("featuremap", [])}
    return codes.get(name, "")


def transfer_fields(prefix: str, ch: Channel) -> Fields:
    return [(prefix + k, v) for k, v in ch.fields()]


def bridge_block(prefix: str, b: Bridge, count: int | None = None) -> Fields:
    out = [(prefix + k, v) for k, v in b.fields()]
    if count is not None:
        out = [(k, str(count)) if k == prefix + "BridgeNumChannels" else (k, v) for k, v in out]
    return out


class Atxfer:
    """One attended transfer in progress."""

    def __init__(self, owner: "Atxfers", transferer: Channel, context: str, exten: str):
        self.kernel = owner.kernel
        self.dialplan = owner.dialplan
        self.local = owner.local
        self.transferer = transferer
        self.context, self.exten = context, exten
        self.exten_got = ""  # what Asterisk collected of the digits fed to it
        assert transferer.bridge is not None  # start() checked it
        self.orig: Bridge = transferer.bridge
        self.transferee: Channel = next(c for c in self.orig.channels if c is not transferer)
        self.pair: LocalPair | None = None
        self.consult: Bridge | None = None
        self.phase = "dialing"  # dialing -> consult -> done

    async def run(self) -> None:
        """Feed the code and the digits, then set up the consult leg (spawned by the action)."""
        kernel, agent, customer = self.kernel, self.transferer, self.transferee
        code = feature_code(kernel)
        kernel.set_var(agent, "TRANSFER_CONTEXT", self.context)
        for i, digit in enumerate(code):
            if i:
                await kernel.clock.sleep(STAR_TO_CODE)
            self._dtmf(digit)
        await kernel.clock.sleep(CODE_TO_HOLD)
        if self._gone():
            return
        kernel.emit("Hold", agent.fields())
        customer.held = True
        kernel.touch_device(customer)
        kernel.emit("MusicOnHoldStart", customer.fields() + [("Class", "default")])
        collected = ""
        for i, digit in enumerate(self.exten):
            await kernel.clock.sleep(DIGIT_GAP)
            if self._gone():
                return
            self._dtmf(digit)
            if collected is None:
                continue  # read after the collection stopped: passed on as plain DTMF
            if digit == "#":  # ast_app_dtget: '#' ends the number
                self.exten_got, collected = collected, None
                continue
            collected += digit
            # grab_transfer: the first digit interrupts the prompt unchecked; ast_app_dtget then stops
            # as soon as no longer extension of the context could match (a '!' pattern: at once)
            if i and not self.dialplan.matchmore(self.context, collected):
                self.exten_got, collected = collected, None
        if collected is not None:
            self.exten_got = collected
        await kernel.clock.sleep(0.002)
        if self._gone():
            return
        override = agent.variables.get("TRANSFER_EXTEN", "")
        if override and self.dialplan.find(self.context, override) is not None:
            self.exten_got = override
        if self.dialplan.find(self.context, self.exten_got) is None:
            await self._fail()
            return
        self.exten = self.exten_got
        self._start_consult()

    async def _fail(self) -> None:
        """No such extension: grab_transfer asks again (transferdialattempts, each waiting
        transferdigittimeout for digits nobody sends), then gives up; the transferer stays with
        the customer (``Unhold``, the customer's ``MusicOnHoldStop``)."""
        log.info("pbxsim_atxfer_no_extension", transferer=self.transferer.name, dialled=self.exten_got,
                 context=self.context, call_id=self.transferer.linkedid)
        await self.kernel.clock.sleep(DIAL_ATTEMPTS * DIGIT_TIMEOUT)
        if self._gone():
            return
        self.phase = "done"
        self.kernel.emit("Unhold", self.transferer.fields())
        self._unhold_customer()

    def _gone(self) -> bool:
        if self.transferer.hungup.is_set() or self.transferee.hungup.is_set() or self.transferer.bridge is not self.orig:
            self._unhold_customer()
            return True
        return False

    def _dtmf(self, digit: str) -> None:
        self.kernel.emit("DTMFEnd", self.transferer.fields() + [("Digit", digit), ("DurationMs", "0"),
                                                              ("Direction", "Received")])

    def _start_consult(self) -> None:
        kernel, agent = self.kernel, self.transferer
        pair = self.pair = self.local.new_pair(self.exten, self.context, linkedid=agent.linkedid)
        one, two = pair.one, pair.two
        self.consult = kernel.bridge_create(Bridge(no_optimize=True))
        two.cid_num, two.cid_name = agent.cid_num, agent.cid_name
        kernel.emit("NewCallerid", two.fields() + [CID_PRES])
        pair.emit_local_bridge()
        pair.start_two()
        kernel.bridge_enter(self.consult, one)
        kernel.bridge_leave(self.orig, agent)
        kernel.bridge_enter(self.consult, agent)
        self.orig.takeover = self.queue_side  # the queue/Dial owner defers to us
        self.orig.feature(TalkState).watch = [agent]  # a talk loop owning it also waits for the transferer
        self.phase = "consult"
        log.info("pbxsim_atxfer_consult", transferer=agent.name, target=f"{self.exten}@{self.context}",
                 call_id=agent.linkedid)
        kernel.spawn(self._watch_consult())

    async def _watch_consult(self) -> None:
        """The consult leg fails (no answer, target hangs up): back to the customer."""
        pair = self.pair
        assert pair is not None
        await wait_any(self.kernel.clock, [pair.one.hungup, self.transferer.hungup, self.transferee.hungup], None)
        # a hangup of the transferer or the customer is the bridge owner's (queue_side)
        if self.phase == "consult" and not (self.transferer.hungup.is_set() or self.transferee.hungup.is_set()):
            self._back_to_customer()

    def _back_to_customer(self) -> None:
        assert self.pair is not None and self.consult is not None
        kernel, agent, one, consult = self.kernel, self.transferer, self.pair.one, self.consult
        self.phase = "done"
        self._release()
        if not one.gone:
            kernel.bridge_leave(consult, one)
            kernel.emit_hangup(one, 16)
        # main/bridge_basic.c, CONSULTING + "Transfer Target Hangup" -> REBRIDGE: rebridge_enter()
        # moves the transferer back (BridgeLeave, BridgeEnter) and unhold()s it (Unhold on the
        # transferer, the transferee's music stops); then the state machine shuts down and
        # destroys the consult bridge (BridgeDestroy last)
        kernel.bridge_leave(consult, agent)
        kernel.bridge_enter(self.orig, agent)
        kernel.emit("Unhold", agent.fields())
        self._unhold_customer()
        kernel.bridge_destroy(consult)
        log.info("pbxsim_atxfer_cancelled", transferer=agent.name, call_id=agent.linkedid)

    def _release(self) -> None:
        """The customer's bridge belongs to its owner again."""
        self.orig.takeover = None
        self.orig.feature(TalkState).watch = []

    def _unhold_customer(self) -> None:
        customer = self.transferee
        if customer.held and not customer.gone:
            customer.held = False
            self.kernel.touch_device(customer)
            self.kernel.emit("MusicOnHoldStop", customer.fields())

    async def queue_side(self, ch: Channel | None, peer: Channel | None, complete: Fields | None) -> None:
        """Hook: the owner of the customer's bridge saw a hangup during the Atxfer.

        ``ch`` is the channel whose task runs the owner (queue caller, Dial caller, or None
        for a talk loop). Ends the call as Asterisk does; the owner then ends its dialplan.
        """
        kernel, agent, customer = self.kernel, self.transferer, self.transferee
        if self.phase != "consult":
            return
        if customer.hungup.is_set():
            await self._customer_left(ch, complete)
            return
        # the transferer hung up: the transfer completes (trace 08 B)
        self.phase = "done"
        assert self.pair is not None and self.consult is not None
        consult, one = self.consult, self.pair.one
        if not agent.hangup_by_ami:
            kernel.emit("HangupRequest", agent.fields())
        kernel.bridge_leave(consult, agent)
        kernel.emit("BridgeMerge", bridge_block("To", self.orig) + bridge_block("From", consult))
        kernel.bridge_leave(consult, one)
        kernel.bridge_enter(self.orig, one)
        self._unhold_customer()
        kernel.emit("AttendedTransfer", [("Result", "Success")] + transfer_fields("OrigTransferer", agent)
                    + bridge_block("Orig", self.orig) + transfer_fields("SecondTransferer", agent)
                    + bridge_block("Second", consult) + transfer_fields("Transferee", customer)
                    + transfer_fields("TransferTarget", one)
                    + [("IsExternal", "No"), ("DestType", "Bridge"), ("DestBridgeUniqueid", self.orig.uniqueid)])
        if complete is not None:
            kernel.emit("AgentComplete", complete + [("Reason", "transfer")])
        kernel.bridge_destroy(consult)
        kernel.emit_hangup(agent, 16)
        log.info("pbxsim_atxfer_done", transferer=agent.name, transferee=customer.name, call_id=agent.linkedid)
        self._release()
        await self.local.talks.run(self.orig, owner=ch if ch is customer else None)

    async def _customer_left(self, ch: Channel | None, complete: Fields | None) -> None:
        """The customer hung up during the consult: their call ends, the consult goes on.

        When the hook runs in the transferer's own task (it placed the call with Dial), that
        task goes on owning the consult until it ends."""
        kernel, customer = self.kernel, self.transferee
        self.phase = "done"
        if not customer.hangup_by_ami:
            kernel.emit("HangupRequest", customer.fields())
        if complete is not None:
            kernel.emit("AgentComplete", complete + [("Reason", "caller")])
        kernel.bridge_leave(self.orig, customer)
        kernel.bridge_destroy(self.orig)
        kernel.emit("SoftHangupRequest", customer.fields() + [("Cause", "16")])
        kernel.emit_cdrs(customer)
        kernel.emit_hangup(customer, 16)
        self._release()
        consult = self.consult
        assert consult is not None
        consult.no_optimize = False  # now a plain call between agent and target
        if ch is self.transferer:
            consult.feature(TalkState).owned = True
            if self.pair is not None:
                self.pair.maybe_optimize()
            await self.local.talks.run(consult, owner=ch)
            return
        self.local.talks.spawn(consult)
        if self.pair is not None:
            self.pair.maybe_optimize()


class Atxfers:
    """The Atxfer action of one simulator (it needs ``[featuremap] atxfer`` in features.conf)."""

    def __init__(self, kernel: Kernel, dialplan: Dialplan, local: LocalChannels):
        self.kernel = kernel
        self.dialplan = dialplan
        self.local = local
        kernel.register_action("Atxfer", self.action_atxfer, classes=("call",))

    def action_atxfer(self, req: Request) -> Reply:
        msg = req.msg
        try:
            self.start(msg.get("channel", ""), msg.get("context", ""), msg.get("exten", ""))
        except AtxferError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + req.aid + [("Message", "Atxfer successfully queued")]]

    def start(self, channel: str, context: str, exten: str) -> Atxfer:
        """AMI Atxfer: validate, then run the transfer in the background."""
        kernel = self.kernel
        if not channel:
            raise AtxferError("No channel specified")
        if not exten:
            raise AtxferError("No extension specified")
        if not feature_code(kernel):
            raise AtxferError("No attended transfer feature code found")
        ch = kernel.find_channel(channel)
        if ch is None or ch.gone:
            raise AtxferError("Channel specified does not exist")
        if ch.bridge is None or len(ch.bridge.channels) != 2:
            raise AtxferError("Channel is not in a two-party bridge")  # simulator: Asterisk feeds the DTMF anyway
        context = context or ch.context  # whether the digits make an extension shows later (_fail), as in Asterisk
        x = Atxfer(self, ch, context, exten)
        kernel.spawn(x.run())
        return x
