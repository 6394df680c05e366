"""Every header of an outgoing action is checked before a single byte is written."""

from __future__ import annotations

import pytest

from ctiserver.ami.errors import AmiInjectionError
from ctiserver.ami.validate import validate_action

BAD_ACTIONS = [
    pytest.param({"Action": "Originate", "Channel": "PJSIP/1001\r\nAction: Hangup"}, "Channel", id="crlf-value"),
    pytest.param({"Action": "QueuePause", "Reason": "lunch\n"}, "Reason", id="lf-value"),
    pytest.param({"Action": "QueuePause", "Reason": "lu\rnch"}, "Reason", id="cr-value"),
    pytest.param({"Action": "QueuePause", "Reason": "lunch\0x"}, "Reason", id="nul-value"),
    pytest.param({"Action": "Setvar", "Variable": ["A=1", "B=2\r\n\r\nAction: Logoff"]}, "Variable", id="list-value"),
    pytest.param({"Action": "Ping", "X\r\nAction: Hangup\r\nY": "1"}, "X\r\nAction: Hangup\r\nY", id="crlf-key"),
    pytest.param({"Action": "Ping", "Bad Key": "1"}, "Bad Key", id="space-key"),
    pytest.param({"Action": "Ping\r\n"}, "Action", id="crlf-action"),
    pytest.param({"Action": "Ping", "ActionID": "mine"}, "ActionID", id="actionid-is-ours"),
    pytest.param({"Action": "Login", "Username": "admin", "Secret": "x"}, "Action", id="login-is-ours"),
    pytest.param({"Channel": "PJSIP/1001"}, "Action", id="no-action"),
    pytest.param({"Action": "Ping", "Data": object()}, "Data", id="odd-type"),
]


@pytest.mark.parametrize(("action", "field"), BAD_ACTIONS)
async def test_injection_is_refused_and_nothing_is_written(connect, action, field) -> None:
    client, session = await connect()
    with pytest.raises(AmiInjectionError) as refused:
        await client.send(action)
    assert refused.value.header == field
    # Asterisk handles actions in order: once the Ping's reply is back, anything written before it arrived.
    assert (await client.send({"Action": "Ping"})).ok
    assert session.names() == ["Login", "Ping"]


def test_values_are_spelled_for_the_wire_in_the_callers_order() -> None:
    pairs = validate_action({"Action": "QueueAdd", "Queue": "support", "Penalty": 0, "Paused": False,
                             "MemberName": "张伟", "Variable": ["A=1", "B=2"]})
    assert pairs == [("Action", "QueueAdd"), ("Queue", "support"), ("Penalty", "0"), ("Paused", "false"),
                     ("MemberName", "张伟"), ("Variable", "A=1"), ("Variable", "B=2")]
