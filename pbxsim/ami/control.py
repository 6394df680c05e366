"""``Sim*`` AMI actions: drive the simulator from another process (tests, demos).

``SimPlaceCall`` (Number, Name, Dial, Keys, KeysAt, KeyGap, Dtmf=``1.5:1;3:2``, HangupAfter,
HangupAfterAnswer, Endpoint), ``SimSetPhone`` (Endpoint, AnswerAfter, RingForever,
DeclineAfter, HangupAfterAnswer, Registered), ``SimCallerHangup`` (Channel), ``SimTruth``,
``SimHold`` (Endpoint, Held=yes|no: the phone holds / resumes its call), ``SimRestart``
(Asterisk restarts right after the reply: every AMI session is dropped).
A bad value is refused with ``Response: Error`` naming the field.

Also Asterisk's own call-control actions ``Redirect`` (with ``ExtraChannel``), ``Bridge`` and
``BlindTransfer`` (pbxsim/moves.py says what they do, after traces 07 and 08 A/C).
"""

from __future__ import annotations

import json

from ..scripts import CallerScript, Phone


class ActionError(Exception):
    """Reply ``Response: Error`` with this message."""


def bool_value(value: str | None, default: bool = False) -> bool:
    """An AMI yes/true/1/on flag."""
    if value is None or value == "":
        return default
    return value.strip().lower() in ("yes", "true", "1", "on", "y")


def float_value(msg: dict[str, str], key: str) -> float | None:
    """A non-negative number header, or None when absent; ActionError naming ``key`` otherwise."""
    raw = msg.get(key.lower())
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ActionError(f"{key}: not a number: {raw!r}") from None
    if value < 0:
        raise ActionError(f"{key}: must be >= 0")
    return value


class CallControlActions:
    """AMI Redirect, Bridge and BlindTransfer (mixed into the AMI server; ``self.sim`` is the simulator)."""

    def action_redirect(self, msg, aid):
        from ..features.moves import MoveError, redirect

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
            message = redirect(self.sim, name, msg["context"], msg["exten"], priority, extra)
        except MoveError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + aid + [("Message", message)]]

    def action_blindtransfer(self, msg, aid):
        from ..features.moves import MoveError, blind_transfer

        name = msg.get("channel")
        if not name:
            raise ActionError("No channel specified")
        if not msg.get("exten"):
            raise ActionError("No extension specified")
        try:
            message = blind_transfer(self.sim, name, msg.get("context") or "default", msg["exten"])
        except MoveError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + aid + [("Message", message)]]

    def action_bridge(self, msg, aid):
        from ..features.moves import MoveError, bridge

        one, two = msg.get("channel1"), msg.get("channel2")
        if not one or not two:
            raise ActionError("Missing channel parameter in request")
        try:
            message = bridge(self.sim, one, two)
        except MoveError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + aid + [("Message", message)]]


class SimControlActions(CallControlActions):
    """Mixed into the AMI server; ``self.sim`` is the simulator."""

    async def action_simplacecall(self, msg, aid):
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

    def action_simsetphone(self, msg, aid):
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

    def action_simcallerhangup(self, msg, aid):
        ch = self.sim.find_channel(msg.get("channel", ""))
        if ch is None:
            raise ActionError("No such channel")
        ch.request_hangup(16)
        return [[("Response", "Success")] + aid + [("Message", "Caller hung up")]]

    async def action_simhold(self, msg, aid):
        endpoint = msg.get("endpoint")
        if not endpoint:
            raise ActionError("Endpoint: required")
        held = bool_value(msg.get("held"), True)
        try:
            await self.sim.phone_hold(endpoint, held)
        except (ValueError, KeyError) as exc:
            raise ActionError(str(exc).strip("'")) from None
        return [[("Response", "Success")] + aid + [("Message", "Phone holds" if held else "Phone resumed")]]

    def action_simrestart(self, msg, aid):
        self.sim.restart_soon()
        return [[("Response", "Success")] + aid + [("Message", "Restarting")]]

    def action_simtruth(self, msg, aid):
        return [[("Response", "Success")] + aid + [("Truth", json.dumps(self.sim.truth(), ensure_ascii=False))]]


