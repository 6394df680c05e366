"""What panels are pushed for each call event: once per event, one shape per message type."""

from __future__ import annotations

from ctiserver.calls import model as cm
from ctiserver.calls.notifier import POP_UPDATE, CallNotifier

VIEW_KEYS = {"linkedid", "caller_number", "caller_name", "direction", "queue", "state", "agent", "ringing",
             "since", "queued_since", "duration", "held", "held_since", "holds", "hold_seconds",
             "hold_warning_seconds", "consult", "conference"}


class Directory:
    def agent_of(self, interface: str) -> str:
        return {"PJSIP/1001": "1001", "PJSIP/1002": "1002"}.get(interface, "")

    def agent_ids(self) -> dict[str, str]:
        return {"PJSIP/1001": "1001", "PJSIP/1002": "1002"}


def answered_call() -> cm.Call:
    call = cm.Call("1700000000.1", 1700000000.0, caller_num="13800138000", caller_name="Zhang Wei",
                   caller_leg="1700000000.1", direction="inbound")
    call.queue, call.queued_at, call.answered_at = "support", 1700000001.0, 1700000002.0
    call.agent_interface, call.agent_leg = "PJSIP/1001", "1700000000.2"
    call.legs |= {"1700000000.1", "1700000000.2"}
    return call


def test_each_consult_and_conference_event_is_one_call_update_to_supervisors_and_one_pop_update() -> None:
    notifier = CallNotifier(hub=None, directory=Directory(), customers=lambda linkedid: None,  # type: ignore[arg-type]
                            room_call=lambda room: None, hold_warning=30.0)
    call = answered_call()
    consult = cm.Consult("agent", "1002", "PJSIP/1001", "1700000000.2", "phone", 1700000003.0)
    call.consult = consult
    room = cm.room_name(call.linkedid)
    events = [cm.ConsultStarted(call, consult, 1700000003.0), cm.ConsultAnswered(call, consult, 1700000004.0),
              cm.ConsultEnded(call, consult, 1700000005.0), cm.ConferenceReady(call, room, 1700000006.0),
              cm.ConferenceJoined(call, room, "1700000000.1", 1700000007.0),
              cm.ConferenceLeft(call, room, "1700000000.1", 1700000008.0)]
    for ce in events:
        pushes = notifier.pushes(ce, ce.at)
        types = sorted(t for t, _, _ in pushes)
        assert types == ["call_update", POP_UPDATE], (type(ce).__name__, types)
        for type_, data, audience in pushes:
            if type_ == "call_update":  # always the call's one-line view, to supervisors only
                assert set(data) == VIEW_KEYS and audience.role_names == {"supervisor", "admin"}
            else:  # the agent's own pop, to that agent only
                assert "workorder_ref" in data and "customer_class" in data
                assert audience.agent_ids == {"1001"} and not audience.role_names
