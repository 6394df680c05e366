"""Calls and legs, and the domain events the call tracker emits.

A call is keyed by Asterisk's ``Linkedid``, its legs by ``Uniqueid``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Where the CTI server's hold puts the customer and the agent's leg (asterisk_conf/extensions.conf).
HOLD_CONTEXT = "hold"
AGENT_WAIT_CONTEXT = "agent-wait"

# Queue results after which nobody could take the caller (app_queue's QUEUESTATUS).
NO_AGENT_STATUSES = frozenset({"JOINEMPTY", "LEAVEEMPTY", "TIMEOUT", "FULL", "JOINUNAVAIL", "LEAVEUNAVAIL"})


@dataclass(slots=True)
class Leg:
    uniqueid: str
    linkedid: str
    channel: str
    endpoint: str
    state: int = 0
    bridge: str = ""
    exten: str = ""  # what the leg dialled (an agent's outbound call: the number)
    connected: tuple[str, str] = ("", "")  # connected line (number, name) as Asterisk last reported it


@dataclass(slots=True)
class Call:
    linkedid: str
    started_at: float
    caller_num: str = ""
    caller_name: str = ""
    direction: str = "inbound"
    caller_leg: str = ""
    legs: set[str] = field(default_factory=set)
    ivr_keys: list[str] = field(default_factory=list)
    ivr_path: list[str] = field(default_factory=list)
    ivr_reported: bool = False  # the IVR sets CTI_IVR_* itself: stop guessing from DTMF
    customer_no: str = ""
    authenticated: bool = False
    queue: str = ""
    queued_at: float | None = None
    ringing: dict[str, str] = field(default_factory=dict)  # agent leg -> interface
    answered_at: float | None = None
    agent_interface: str = ""
    agent_leg: str = ""
    outside: dict[str, str] = field(default_factory=dict)  # agent legs up outside any queue -> interface
    abandoned: bool = False
    queue_status: str = ""
    hangup_by: str = ""
    ended_at: float | None = None
    resynced: bool = False  # rebuilt from a snapshot: some times are estimates
    # call control (issue 4): hold by Redirect into the hold context, moves (transfer, IVR)
    held_since: float | None = None  # the customer sits in the hold context since then
    holds: int = 0
    hold_seconds: float = 0.0
    moving: str = ""  # a move the CTI server asked for (transfer/ivr): the agent leg's end is not a hangup
    direct_ringing: set[str] = field(default_factory=set)  # agent legs rung by a transfer's Dial (not a queue)
    ivr_base: tuple[list[str], str] = field(default_factory=lambda: ([], ""))  # path/keys before a return to the IVR
    previous_agents: list[str] = field(default_factory=list)  # interfaces that had the call before a move
    former_legs: dict[str, str] = field(default_factory=dict)  # legs of previous agents still up (consult) -> interface
    hold_parties: tuple[str, str, str] = ("", "", "")  # (customer leg, agent interface, agent leg) of the hold
    hold_by_phone: bool = False  # the hold is the agent's phone's own (re-INVITE: Hold/Unhold), not the panel's

    @property
    def held(self) -> bool:
        return self.held_since is not None

    def total_hold_seconds(self, now: float) -> float:
        return round(self.hold_seconds + (now - self.held_since if self.held_since is not None else 0.0), 3)

    @property
    def disposition(self) -> str | None:
        """answered / no_agent / abandoned once ended (None while the call is live)."""
        if self.ended_at is None:
            return None
        if self.answered_at is not None or (self.outside and self.queued_at is None):
            return "answered"
        if self.queue_status in NO_AGENT_STATUSES:
            return "no_agent"
        return "abandoned"

    @property
    def wait_seconds(self) -> float | None:
        if self.queued_at is None:
            return None
        end = self.answered_at if self.answered_at is not None else self.ended_at
        return None if end is None else round(max(0.0, end - self.queued_at), 3)

    @property
    def talk_seconds(self) -> float | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        return round(max(0.0, self.ended_at - self.answered_at), 3)

    @property
    def ivr_keys_text(self) -> str:
        return "".join(self.ivr_keys)


# --- domain events -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallStarted:
    call: Call
    at: float


@dataclass(frozen=True, slots=True)
class CallIdentified:
    """The IVR authenticated the caller as a customer (CTI_CUSTOMER_NO)."""

    call: Call
    at: float


@dataclass(frozen=True, slots=True)
class CallQueued:
    call: Call
    at: float


@dataclass(frozen=True, slots=True)
class CallRinging:
    call: Call
    interface: str
    leg: str
    at: float


@dataclass(frozen=True, slots=True)
class CallRingEnded:
    """An agent stopped being rung without answering: no_answer, declined (486) or caller_gone."""

    call: Call
    interface: str
    leg: str
    why: str
    at: float


@dataclass(frozen=True, slots=True)
class CallAnswered:
    call: Call
    interface: str
    leg: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentLegEnded:
    """The answering agent's leg is gone (the agent is free of this call)."""

    call: Call
    interface: str
    leg: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentBusyOutside:
    """An agent's phone is up in a call that no queue gave them (direct or outbound)."""

    call: Call
    interface: str
    leg: str
    peer: tuple[str, str]
    at: float


@dataclass(frozen=True, slots=True)
class CallHeld:
    """An agent's phone put its call on hold (held=True) or took it back."""

    call: Call
    interface: str
    leg: str
    held: bool
    at: float


@dataclass(frozen=True, slots=True)
class CallOnHold:
    """The customer went to the hold context (panel hold) or came back into a bridge (retrieve)."""

    call: Call
    held: bool
    seconds: float  # this hold's length (on retrieve; 0 when it starts)
    at: float


@dataclass(frozen=True, slots=True)
class HeldPartyGone:
    """While the customer was held, one side hung up: the other one is alone (caller or agent)."""

    call: Call
    who: str  # "caller" | "agent"
    at: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    call: Call
    at: float


CallEvent = (CallStarted | CallIdentified | CallQueued | CallRinging | CallRingEnded
             | CallAnswered | AgentBusyOutside | CallHeld | CallOnHold | HeldPartyGone | AgentLegEnded | CallEnded)
