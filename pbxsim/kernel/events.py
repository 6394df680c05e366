"""What Asterisk 22 writes in the ``Privilege:`` header of each event (as in the recorded traces)."""

from __future__ import annotations

PRIVILEGE = {
    "Newchannel": "call,all", "Newstate": "call,all", "Hangup": "call,all", "HangupRequest": "call,all",
    "SoftHangupRequest": "call,all", "Newexten": "dialplan,all", "VarSet": "dialplan,all",
    "DTMFEnd": "dtmf,all", "DTMFBegin": "dtmf,all", "Cdr": "cdr,all", "UserEvent": "user,all",
    "AGIExecStart": "agi,all", "AGIExecEnd": "agi,all", "AsyncAGIStart": "agi,all",
    "FullyBooted": "system,all", "SuccessfulAuth": "security,all", "RTCPSent": "reporting,all",
}
AGENT_EVENTS = {"QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled", "AgentConnect",
                "AgentComplete", "AgentRingNoAnswer", "AgentDump", "QueueMemberAdded", "QueueMemberRemoved",
                "QueueMemberPause", "QueueMemberStatus", "QueueMemberPenalty", "QueueMemberRinginuse"}


def privilege_of(event: str) -> str:
    """The ``Privilege:`` Asterisk 22 writes for ``event`` (as in the recorded traces)."""
    return "agent,all" if event in AGENT_EVENTS else PRIVILEGE.get(event, "call,all")
