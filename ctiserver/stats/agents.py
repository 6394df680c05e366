"""One agent's day from its state transitions: pure, in integer milliseconds.

The log holds transitions (``at``, ``to_state``, ``reason``). The agent is in
``to_state`` from ``at`` until the next transition. Time is counted inside a window
``[start, end)``: the UTC day, cut at ``now`` for live figures, so a state crossing
midnight is split there and a state still open counts up to ``now``. The transition
before the window (the store returns it) gives the state at the window's start; with
none, the agent is taken as signed out until its first transition.

``signed_in_ms`` is computed on its own, from sign-in sessions (leaving and returning
to ``logged_out``), so that the invariant

    ready + busy_total + ringing + talk + hold + wrapup == signed_in

checks the state accounting instead of restating it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Protocol

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)

LOGGED_OUT = "logged_out"
#: The states in which an agent is signed in, and the figure each one's time goes to.
BUCKETS: Mapping[str, str] = {
    "ready": "ready", "not_ready": "busy", "ringing": "ringing", "on_call": "talk", "on_hold": "hold",
    "wrap_up": "wrapup",
}
SIGNED_IN = frozenset(BUCKETS)
#: The key of busy time without a reason.
NO_REASON = "unspecified"
#: ring_ended reasons that count as a missed call (not: answered elsewhere, caller hung up).
MISSED_WHY = frozenset({"no_answer", "declined"})


class Transition(Protocol):
    """What agent_day reads from a log row (ctiserver.store.StateLogEntry has it)."""

    at: datetime
    to_state: str
    reason: str | None


def to_ms(at: datetime) -> int:
    """An aware datetime as integer epoch milliseconds (floor; exact, no float)."""
    return (at - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def _signed_in(state: str | None) -> bool:
    # A state this module does not know is counted as signed out (and shows in no figure).
    return state in SIGNED_IN


@dataclass
class AgentDay:
    """Figures of one agent over a window; times in integer milliseconds."""

    agent_id: str
    start_ms: int
    end_ms: int
    signed_in_ms: int = 0
    ready_ms: int = 0
    busy_ms: dict[str, int] = field(default_factory=dict)
    ringing_ms: int = 0
    talk_ms: int = 0
    hold_ms: int = 0
    wrapup_ms: int = 0
    talk_calls: int = 0
    first_sign_in_ms: int | None = None
    last_sign_out_ms: int | None = None
    answered: int = 0
    missed: int = 0
    name: str = ""

    @property
    def busy_total_ms(self) -> int:
        return sum(self.busy_ms.values())

    @property
    def states_ms(self) -> int:
        """The sum the invariant compares with ``signed_in_ms``."""
        return self.ready_ms + self.busy_total_ms + self.ringing_ms + self.talk_ms + self.hold_ms + self.wrapup_ms

    def to_json(self) -> dict[str, Any]:
        """Whole seconds, apportioned so that the parts still add up to signed_in_seconds exactly."""
        parts = [self.ready_ms, self.busy_total_ms, self.ringing_ms, self.talk_ms, self.hold_ms, self.wrapup_ms]
        signed_in = round_half_up(self.signed_in_ms)
        ready, busy_total, ringing, talk, hold, wrapup = apportion(parts, signed_in)
        reasons = sorted(self.busy_ms)
        busy = dict(zip(reasons, apportion([self.busy_ms[r] for r in reasons], busy_total)))
        avg_talk = round(self.talk_ms / self.talk_calls / 1000, 1) if self.talk_calls else 0.0
        return {
            "agent_id": self.agent_id, "name": self.name, "signed_in_seconds": signed_in,
            "ready_seconds": ready, "busy_seconds": busy, "busy_total_seconds": busy_total,
            "ringing_seconds": ringing, "talk_seconds": talk, "hold_seconds": hold, "wrapup_seconds": wrapup,
            "answered": self.answered, "missed": self.missed, "talk_calls": self.talk_calls,
            "avg_talk_seconds": avg_talk,
            "first_sign_in": _iso(self.first_sign_in_ms), "last_sign_out": _iso(self.last_sign_out_ms),
        }


def _iso(ms: int | None) -> str | None:
    return None if ms is None else from_ms(ms).isoformat()


def round_half_up(ms: int) -> int:
    """Milliseconds to whole seconds, halves up."""
    return (ms + 500) // 1000


def apportion(parts_ms: list[int], total_s: int) -> list[int]:
    """Whole seconds for each part that sum to ``total_s`` (largest remainder method).

    Each part gets its floor, then the seconds still missing go to the largest
    remainders (ties: the earlier part), so no part is off by a second or more.
    """
    floors = [p // 1000 for p in parts_ms]
    missing = total_s - sum(floors)
    order = sorted(range(len(parts_ms)), key=lambda i: (-(parts_ms[i] % 1000), i))
    if missing < 0 or missing > len(parts_ms):  # only if total_s is not the rounded sum
        raise ValueError(f"cannot apportion {parts_ms} ms into {total_s} s")
    for i in order[:missing]:
        floors[i] += 1
    return floors


def agent_day(agent_id: str, transitions: Iterable[Transition], start: datetime, end: datetime,
              now: datetime | None = None) -> AgentDay:
    """Time in each state within ``[start, min(end, now))`` from the agent's transitions.

    ``transitions`` are this agent's log rows, in log order (time, then id): those inside the
    window and the last one before it. Rows at or after the window's end are ignored.
    """
    ws = to_ms(start)
    we = to_ms(end) if now is None else min(to_ms(end), to_ms(now))
    we = max(ws, we)  # a day in the future: an empty window
    day = AgentDay(agent_id, ws, we)
    rows = sorted(((to_ms(t.at), i, t.to_state, t.reason) for i, t in enumerate(transitions)),
                  key=lambda r: (r[0], r[1]))
    _state_times(day, rows, ws, we)
    _sessions(day, rows, ws, we)
    return day


def _clip(a: int, b: int, ws: int, we: int) -> int:
    return max(0, min(b, we) - max(a, ws))


def _state_times(day: AgentDay, rows: list[tuple[int, int, str, str | None]], ws: int, we: int) -> None:
    state: str | None = None
    reason: str | None = None
    since = ws
    run_start: int | None = None  # the current call's start (on_call, with holds in between)
    run_talk = 0
    for at, _, to_state, to_reason in rows + [(we, -1, "", None)]:
        if at > since:
            length = _clip(since, at, ws, we)
            if state in BUCKETS and length:
                _add(day, state, reason, length)
                if state == "on_call":
                    run_talk += length
        since = max(since, at)
        if at >= we and to_state:  # rows after the window's end change nothing we count
            continue
        in_call = to_state in ("on_call", "on_hold")
        if run_start is not None and not in_call:
            day.talk_calls += _counts(run_start, run_talk, ws)
            run_start = None
        if in_call and run_start is None:  # a call's run starts at its first on_call or on_hold row
            run_start, run_talk = at, 0  # (a log trimmed to the window may start on hold)
        if to_state:
            state, reason = to_state, to_reason
    if run_start is not None:  # a call still going at the window's end
        day.talk_calls += _counts(run_start, run_talk, ws)


def _counts(run_start: int, talk_in_window: int, ws: int) -> int:
    # A call counts on the day it started, and on the next ones only if there is talk time in them.
    return 1 if talk_in_window > 0 or run_start >= ws else 0


def _add(day: AgentDay, state: str, reason: str | None, ms: int) -> None:
    bucket = BUCKETS[state]
    if bucket == "busy":
        key = reason or NO_REASON
        day.busy_ms[key] = day.busy_ms.get(key, 0) + ms
    else:
        setattr(day, f"{bucket}_ms", getattr(day, f"{bucket}_ms") + ms)


def _sessions(day: AgentDay, rows: list[tuple[int, int, str, str | None]], ws: int, we: int) -> None:
    """signed_in_ms, first sign-in and last sign-out, from the sign-in sessions alone."""
    session_start: int | None = None
    for at, _, to_state, _reason in rows:
        if at >= we:
            break
        if _signed_in(to_state) and session_start is None:
            session_start = at
        elif not _signed_in(to_state) and session_start is not None:
            _session(day, session_start, at, ws, we, ended=True)
            session_start = None
    if session_start is not None:
        _session(day, session_start, we, ws, we, ended=False)


def _session(day: AgentDay, begin: int, end: int, ws: int, we: int, *, ended: bool) -> None:
    length = _clip(begin, end, ws, we)
    if end < ws or (end == ws and begin < ws):
        return  # over before the window: nothing of it today
    day.signed_in_ms += length
    if day.first_sign_in_ms is None:
        day.first_sign_in_ms = max(begin, ws)
    if ended:
        day.last_sign_out_ms = end
    else:
        day.last_sign_out_ms = None  # still signed in at the window's end
