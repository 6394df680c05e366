"""``Sim*`` AMI actions: drive the simulator from another process (tests, demos).

``SimPlaceCall`` (Number, Name, Dial, Keys, KeysAt, KeyGap, Dtmf=``1.5:1;3:2``, HangupAfter,
HangupAfterAnswer, Endpoint), ``SimSetPhone`` (Endpoint, AnswerAfter, RingForever,
DeclineAfter, HangupAfterAnswer, Registered), ``SimCallerHangup`` (Channel), ``SimTruth``,
``SimHold`` (Endpoint, Held=yes|no: the phone holds / resumes its call), ``SimRestart``
(Asterisk restarts right after the reply: every AMI session is dropped).
A bad value is refused with ``Response: Error`` naming the field.
"""

from __future__ import annotations

import json
from typing import Protocol

from ..channel import Channel
from ..kernel.actions import ActionError, Reply, Request, bool_value, float_value
from ..scripts import CallerScript, Phone


class PlacedCall(Protocol):
    """What SimPlaceCall reports of a placed call."""

    @property
    def channel(self) -> Channel: ...

    @property
    def uniqueid(self) -> str: ...


class SimControl(Protocol):
    """What the Sim* actions drive (PbxSim implements it)."""

    async def place_call(self, script: CallerScript) -> PlacedCall: ...

    def set_phone(self, endpoint: str, phone: Phone) -> None: ...

    def find_channel(self, name: str) -> Channel | None: ...

    async def phone_hold(self, endpoint: str, held: bool = True) -> None: ...

    def restart_soon(self) -> None: ...

    def truth(self) -> dict: ...


class SimActions:
    """The Sim* actions, on whatever implements :class:`SimControl` (the composition root)."""

    def __init__(self, sim: SimControl):
        self.sim = sim

    async def action_simplacecall(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        dtmf = []
        for part in (msg.get("dtmf") or "").split(";"):
            if part.strip():
                at, _, digits = part.partition(":")
                try:
                    dtmf.append((float(at), digits.strip()))
                except ValueError:
                    raise ActionError(f"Dtmf: bad item {part!r} (want seconds:digits)") from None
        kwargs = {}
        for key, field in (("KeysAt", "keys_at"), ("KeyGap", "key_gap")):
            v = float_value(msg, key)
            if v is not None:
                kwargs[field] = v
        try:
            script = CallerScript(
                number=msg.get("number", "caller"), name=msg.get("name", "Customer caller"),
                dial=msg.get("dial", "96588"), dtmf=tuple(dtmf), keys=msg.get("keys", ""),
                hangup_at=float_value(msg, "HangupAfter"), hangup_after_answer=float_value(msg, "HangupAfterAnswer"),
                endpoint=msg.get("endpoint", "caller"), **kwargs)
            handle = await self.sim.place_call(script)
        except (ValueError, KeyError) as exc:
            raise ActionError(str(exc).strip("'")) from None
        return [[("Response", "Success")] + aid + [("Message", "Call placed"), ("Channel", handle.channel.name),
                                                   ("Uniqueid", handle.uniqueid)]]

    def action_simsetphone(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        endpoint = msg.get("endpoint")
        if not endpoint:
            raise ActionError("Endpoint: required")
        try:
            phone = Phone(answer_after=float_value(msg, "AnswerAfter") if msg.get("answerafter") else 1.0,
                          ring_forever=bool_value(msg.get("ringforever")), decline_after=float_value(msg, "DeclineAfter"),
                          hangup_after_answer=float_value(msg, "HangupAfterAnswer"),
                          registered=bool_value(msg.get("registered"), True))
            self.sim.set_phone(endpoint, phone)
        except (ValueError, KeyError) as exc:
            raise ActionError(str(exc).strip("'")) from None
        return [[("Response", "Success")] + aid + [("Message", "Phone set")]]

    def action_simcallerhangup(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        ch = self.sim.find_channel(msg.get("channel", ""))
        if ch is None:
            raise ActionError("No such channel")
        ch.request_hangup(16)
        return [[("Response", "Success")] + aid + [("Message", "Caller hung up")]]

    async def action_simhold(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        endpoint = msg.get("endpoint")
        if not endpoint:
            raise ActionError("Endpoint: required")
        held = bool_value(msg.get("held"), True)
        try:
            await self.sim.phone_hold(endpoint, held)
        except (ValueError, KeyError) as exc:
            raise ActionError(str(exc).strip("'")) from None
        return [[("Response", "Success")] + aid + [("Message", "Phone holds" if held else "Phone resumed")]]

    def action_simrestart(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        self.sim.restart_soon()
        return [[("Response", "Success")] + aid + [("Message", "Restarting")]]

    def action_simtruth(self, req: Request) -> Reply:
        msg, aid = req.msg, req.aid
        return [[("Response", "Success")] + aid + [("Truth", json.dumps(self.sim.truth(), ensure_ascii=False))]]
