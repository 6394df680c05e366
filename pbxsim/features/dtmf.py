"""AMI ``PlayDTMF``: a digit on a channel, received (``Receive: true``) or sent to its phone (trace 18).

apps/app_senddtmf.c manager_play_dtmf, as Asterisk 22.10.1 answered it:

- ``Receive: true``: the digit is queued on the channel as if its phone had sent it (a lone
  DTMF_END frame); the reply ``DTMF successfully queued`` at once, then ``DTMFEnd`` on that
  channel with ``DurationMs`` (the Duration asked for, 0 by default) and ``Direction: Received``,
  and no DTMFBegin. Whatever application the channel runs reads it (ChanSpy's ``d`` option
  switches mode with it; WaitExten, AGI GET DATA take it as a keypress).
- without ``Receive``: the digit is played to the phone (a SIP INFO with the shipped
  ``dtmf_mode = info``); no event on AMI at all, the reply after the digit's duration (100 ms
  by default: ast_senddigit_external).
- refused: ``Channel not found``, ``No digit specified``, ``Could not convert Duration parameter``.

Registered with the ``call`` write class, as Asterisk does.
"""

from __future__ import annotations

import structlog

from ..kernel.actions import ActionError, Reply, Request, bool_value
from ..kernel.kernel import Kernel

log = structlog.get_logger(__name__)

SENT_SECONDS = 0.1  # the default duration of a sent digit (AST_DEFAULT_EMULATE_DTMF_DURATION)


class Dtmf:
    """The PlayDTMF action of one simulator."""

    def __init__(self, kernel: Kernel):
        self.kernel = kernel
        kernel.register_action("PlayDTMF", self.action_playdtmf, ("call",))

    async def action_playdtmf(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        ch = self.kernel.find_channel(msg.get("channel") or "")
        if ch is None or ch.gone:
            raise ActionError("Channel not found")
        digit = (msg.get("digit") or "")[:1]
        if not digit:
            raise ActionError("No digit specified")
        raw = (msg.get("duration") or "").strip()
        if raw and not raw.isdigit():
            raise ActionError("Could not convert Duration parameter")
        duration_ms = int(raw) if raw else 0
        if bool_value(msg.get("receive")):
            self.kernel.emit("DTMFEnd", ch.fields() + [("Digit", digit), ("DurationMs", str(duration_ms)),
                                                       ("Direction", "Received")])
            ch.dtmf.put_nowait(digit)
            log.info("pbxsim_dtmf_received", channel=ch.name, digit=digit, call_id=ch.linkedid)
        else:
            await self.kernel.clock.sleep(duration_ms / 1000 if duration_ms else SENT_SECONDS)
            log.info("pbxsim_dtmf_sent", channel=ch.name, digit=digit, call_id=ch.linkedid)
        return [[("Response", "Success")] + aid + [("Message", "DTMF successfully queued")]]
