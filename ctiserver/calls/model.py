"""Calls and legs, and the domain events the call tracker emits.

A call is keyed by Asterisk's ``Linkedid``, its legs by ``Uniqueid``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Where the CTI server's hold puts the customer and the agent's leg (asterisk_conf/extensions.conf).
HOLD_CONTEXT = "hold"
AGENT_WAIT_CONTEXT = "agent-wait"
CONFERENCE_CONTEXT = "cti-conference"  # ConfBridge(${EXTEN},...): the CTI server's conference rooms



def room_name(linkedid: str) -> str:
    """The ConfBridge room of a call: derived from its linkedid, so a restarted server finds it again."""
    return "cti" + re.sub(r"[^0-9A-Za-z]", "", linkedid)[-40:]


# Queue results after which nobody could take the caller (app_queue's QUEUESTATUS).
NO_AGENT_STATUSES = frozenset({"JOINEMPTY", "LEAVEEMPTY", "TIMEOUT", "FULL", "JOINUNAVAIL", "LEAVEUNAVAIL"})


# Words: the *external* party is a number beyond the PBX (dialled through cti-outbound): a
# transfer, consult or conference target of kind "external", the far end of an agent's dial-out.
# An agent is *direct* on a call no queue connected them to (their own dial-out, a direct call,
# the consulted colleague, a conference guest). ``direction="outbound"`` (the agent dialled) and
# the API's ``kind="external"`` are wire values and stay as they are.


# AMI channel states (Leg.state) the server tells apart.
RINGING = 5
UP = 6


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
    room: str = ""  # the conference room (cti-conference,<room>) the leg is in, if any
    external_number: str = ""  # the external number this leg is (an external consult's party), when known


@dataclass(slots=True)
class Consult:
    """A consult (attended transfer, AMI Atxfer) asked from the panel: the agent talks to a colleague
    (kind ``agent``) or an external number (``external``) while the customer waits on music."""

    kind: str
    target: str  # agent id or number
    from_interface: str
    from_leg: str
    by: str
    started_at: float
    legs: set[str] = field(default_factory=set)  # the consult's legs (Local pair, the colleague's phone...)
    target_interface: str = ""  # the colleague's phone, once it answers (kind agent)
    target_leg: str = ""
    answered_at: float | None = None
    cancel_requested: bool = False
    outcome: str = ""  # completed | cancelled | no_answer | target_hung_up | caller_gone | conference | failed

    @property
    def active(self) -> bool:
        return not self.outcome


@dataclass(slots=True)
class Hold:
    """The customer's holds: the panel's (a Redirect into the hold context, the agent's leg waiting
    in agent-wait) or the agent's phone's own (a SIP re-INVITE: Hold/Unhold, the bridge stays)."""

    since: float | None = None  # on hold since then; None while not on hold
    by_phone: bool = False  # the current hold is the phone's, not the panel's
    # the two sides of the last hold, kept after the retrieve: whoever leaves then ends the call
    customer_leg: str = ""
    agent_interface: str = ""
    agent_leg: str = ""
    count: int = 0
    seconds: float = 0.0  # time on hold in the holds that ended

    def start(self, at: float, customer_leg: str, agent_interface: str, agent_leg: str,
              by_phone: bool = False) -> None:
        self.since, self.by_phone = at, by_phone
        self.count += 1
        self.customer_leg, self.agent_interface, self.agent_leg = customer_leg, agent_interface, agent_leg

    def end(self, at: float) -> float:
        """Off hold at ``at``; returns this hold's length."""
        seconds = round(max(0.0, at - (self.since if self.since is not None else at)), 3)
        self.seconds = round(self.seconds + seconds, 3)
        self.since, self.by_phone = None, False
        return seconds

    def withdraw(self) -> None:
        """The phone's hold was an attended transfer starting: not a hold after all."""
        self.since, self.by_phone = None, False
        self.customer_leg = self.agent_interface = self.agent_leg = ""
        self.count = max(0, self.count - 1)

    def side_of(self, leg: str) -> str:
        """"caller" or "agent" for a leg of the (last) hold, else ''."""
        if not leg:
            return ""
        return "agent" if leg == self.agent_leg else "caller" if leg == self.customer_leg else ""

    def total_seconds(self, now: float) -> float:
        return round(self.seconds + (now - self.since if self.since is not None else 0.0), 3)


@dataclass(slots=True)
class Conference:
    """The call as a ConfBridge conference (cti-conference,<room>)."""

    room: str = ""  # the room the call was moved into
    pending: str = ""  # consult -> conference: the room customer and agent go to once together again
    guests: set[str] = field(default_factory=set)  # legs the server Originated into the call


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
    auth: str = ""  # the IVR's PIN check as reported (CTI_AUTHENTICATED): yes, no (failed), locked
    queue: str = ""
    queued_at: float | None = None
    ringing: dict[str, str] = field(default_factory=dict)  # agent leg -> interface
    answered_at: float | None = None
    agent_interface: str = ""
    agent_leg: str = ""
    direct_agents: dict[str, str] = field(default_factory=dict)  # agent legs no queue connected -> interface
    abandoned: bool = False
    dial_ends: dict[str, str] = field(default_factory=dict)  # ringing agent leg -> its first DialEnd status
    queue_status: str = ""
    hangup_by: str = ""
    ended_at: float | None = None
    resynced: bool = False  # rebuilt from a snapshot: some times are estimates
    # call control: holds, moves (transfer, IVR), consult, conference
    hold: Hold = field(default_factory=Hold)
    moving: str = ""  # a move the CTI server asked for (transfer/ivr): the agent leg's end is not a hangup
    direct_ringing: set[str] = field(default_factory=set)  # agent legs rung by a transfer's Dial (not a queue)
    ivr_base: tuple[list[str], str] = field(default_factory=lambda: ([], ""))  # path/keys before a return to the IVR
    previous_agents: list[str] = field(default_factory=list)  # interfaces that had the call before a move
    former_legs: dict[str, str] = field(default_factory=dict)  # legs of previous agents still up (consult) -> interface
    consult: Consult | None = None  # the last consult asked from the panel (active while outcome is '')
    conference: Conference = field(default_factory=Conference)

    @property
    def identified(self) -> bool:
        """The IVR said who the caller is (CallIdentified): a right PIN, or a number locked after wrong
        ones. A customer number it reports unauthenticated is only a claim: the caller's number decides."""
        return bool(self.customer_no) and (self.authenticated or self.auth == "locked")

    @property
    def consulting(self) -> bool:
        return self.consult is not None and self.consult.active

    @property
    def held(self) -> bool:
        return self.hold.since is not None

    @property
    def conferencing(self) -> bool:
        """A conference call, or about to become one (consult -> conference)."""
        return bool(self.conference.room or self.conference.pending)

    @property
    def disposition(self) -> str | None:
        """answered / no_agent / abandoned, or no_answer for an agent's call out, once ended (None while live)."""
        if self.ended_at is None:
            return None
        if self.direction == "outbound" and self.queued_at is None:  # the agent dialled: did the far end answer?
            return "answered" if self.answered_at is not None else "no_answer"
        if self.answered_at is not None or (self.direct_agents and self.queued_at is None):
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
class CallerChanged:
    """The caller's number or name changed on their channel (a prefix stripped, a name looked up)."""

    call: Call
    previous: tuple[str, str]  # (number, name) before
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
    """An agent stopped being rung without answering: no_answer, declined (486), caller_gone, or
    caller_left_queue (the caller left the queue with its exit key, e.g. for a callback, while this
    agent was rung for them: not the agent's miss)."""

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
class AgentBusyDirect:
    """An agent's phone is up in a call no queue gave them: their dial-out, a direct call, a consult
    or conference they were brought into (``peer``: who they talk to)."""

    call: Call
    interface: str
    leg: str
    peer: tuple[str, str]
    at: float


@dataclass(frozen=True, slots=True)
class AgentLegHeld:
    """An agent's leg went on hold (held=True) or came back: the panel's hold parks it in agent-wait,
    the phone's own hold (Hold/Unhold) holds it where it is. The agent's state follows."""

    call: Call
    interface: str
    leg: str
    held: bool
    at: float


@dataclass(frozen=True, slots=True)
class CustomerHeld:
    """A hold of the call started (held=True) or ended: the customer went to the hold context (the
    panel's hold) or was held by the agent's phone, or came back (retrieve, Unhold, moved on)."""

    call: Call
    held: bool
    seconds: float  # this hold's length (on retrieve; 0 when it starts)
    at: float


@dataclass(frozen=True, slots=True)
class HeldPartyGone:
    """The customer was held (or held, then retrieved) and one side hung up: the other is alone.

    After a retrieve, real Asterisk sends a leg left alone in the AMI Bridge back to its
    dialplan (the customer to music on hold, the agent to agent-wait), so it must be ended."""

    call: Call
    who: str  # "caller" | "agent"
    at: float
    retrieved: bool = False  # the two were joined again by an AMI Bridge (retrieve), not held


@dataclass(frozen=True, slots=True)
class ConsultStarted:
    """A consult the panel did not ask for: an Atxfer from elsewhere (the phone's DTMF atxfer code,
    another AMI client: trace 08 B). Asterisk held the customer first; that hold was the consult's."""

    call: Call
    consult: Consult
    at: float


@dataclass(frozen=True, slots=True)
class ConsultAnswered:
    """The consulted colleague or external number answered: the agent talks to them now."""

    call: Call
    consult: Consult
    at: float


@dataclass(frozen=True, slots=True)
class ConsultEnded:
    """A consult is over: ``call.consult.outcome`` says how (completed: the colleague has the call now)."""

    call: Call
    consult: Consult
    at: float


@dataclass(frozen=True, slots=True)
class ConferenceJoined:
    """A leg entered a conference room (cti-conference,<room>); ``call`` is the leg's own call."""

    call: Call
    room: str
    leg: str
    at: float


@dataclass(frozen=True, slots=True)
class ConferenceLeft:
    """A leg left a conference room (hung up, kicked, moved on); ``call`` is the leg's own call."""

    call: Call
    room: str
    leg: str
    at: float


@dataclass(frozen=True, slots=True)
class ConferenceReady:
    """Consult -> conference: the colleague went to the room, the agent is back with the customer,
    so the two can follow (``room``)."""

    call: Call
    room: str
    at: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    call: Call
    at: float


@dataclass(frozen=True, slots=True)
class CallStep:
    """A step the server took on a call: a command from the panel (its request, or why it failed),
    a follow-up the server sent itself, who joined a conference, a recording. The work order
    records it as it records every call event, through the one projection."""

    linkedid: str
    kind: str
    data: dict
    at: float
    fields: dict = field(default_factory=dict)


CallEvent = (CallStarted | CallIdentified | CallerChanged | CallQueued | CallRinging | CallRingEnded
             | CallAnswered | AgentBusyDirect | AgentLegHeld | CustomerHeld | HeldPartyGone | AgentLegEnded
             | ConsultStarted | ConsultAnswered | ConsultEnded | ConferenceJoined | ConferenceLeft | ConferenceReady
             | CallEnded)
