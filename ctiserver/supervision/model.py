"""A monitoring session: one supervisor's phone spying on one agent's call, in one mode at a time."""

from __future__ import annotations

from dataclasses import dataclass

from ctiserver.apischema import BOOL, NUM, STR, enum, nullable, obj

MODES = ("listen", "whisper", "barge")
# ChanSpy's start option for each mode (cti-spy: ChanSpy(PJSIP/<ext>,qdES${CTI_SPY_MODE}))
CHANSPY_FLAG = {"listen": "", "whisper": "w", "barge": "B"}
# ChanSpy option d: the DTMF digit that switches to each mode
SWITCH_DIGIT = {"listen": "4", "whisper": "5", "barge": "6"}
MODE_OF_DIGIT = {digit: mode for mode, digit in SWITCH_DIGIT.items()}
# Channels the server Originates for monitoring carry this ChannelId prefix (Uniqueid = Linkedid),
# so they are recognised in every event and after a restart.
SPY_PREFIX = "cti-spy-"


@dataclass(slots=True)
class Session:
    id: str  # the spy channel's ChannelId (its Uniqueid and Linkedid)
    supervisor: str
    supervisor_name: str
    interface: str  # the supervisor's phone
    linkedid: str  # the monitored call
    agent: str
    agent_interface: str
    mode: str
    requested_at: float
    state: str = "ringing"  # ringing (the supervisor's phone) -> active (ChanSpyStart) -> ended
    channel: str = ""  # the spy channel's name, once Asterisk made it
    started_at: float | None = None
    switching_to: str = ""  # a mode asked for, until Asterisk says the digit arrived
    intercepting: bool = False
    error: str = ""  # why the last intercept did not happen (the session goes on)
    ended_at: float | None = None
    end_reason: str = ""
    hung_up: bool = False  # the server asked Asterisk to hang the spy channel up
    # the intercept's Bridge went out but the AMI link went before Asterisk answered: whether the
    # caller is with the supervisor or still with the agent is known again after the resync
    unsure: bool = False
    pause_before: tuple[bool, str] = (False, "")  # the agent's pause before the intercept (to give back)
    previous_move: str = ""  # the call's move intent the intercept replaced (given back if it fails)

    # The schema of view().
    VIEW = obj(
        {"id": STR, "supervisor": STR, "supervisor_name": STR, "linkedid": STR, "agent": STR, "mode": enum(*MODES),
         "state": enum("ringing", "active", "intercepted", "ended"), "requested_at": NUM, "since": nullable(NUM),
         "switching_to": nullable(enum(*MODES)), "intercepting": BOOL, "seconds": NUM, "ended_at": nullable(NUM),
         "end_reason": nullable(STR), "error": nullable(STR), "unsure": BOOL},
    )

    def view(self, now: float) -> dict:
        return {"id": self.id, "supervisor": self.supervisor, "supervisor_name": self.supervisor_name,
                "linkedid": self.linkedid, "agent": self.agent, "mode": self.mode, "state": self.state,
                "requested_at": self.requested_at, "since": self.started_at, "switching_to": self.switching_to or None,
                "intercepting": self.intercepting,
                "seconds": round(now - self.started_at, 1) if self.started_at is not None else 0.0,
                "ended_at": self.ended_at, "end_reason": self.end_reason or None, "error": self.error or None,
                "unsure": self.unsure}
