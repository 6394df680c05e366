"""A work order's lifecycle: its states, the actions on it, who may take them, one pure function.

    draft --submit--> submitted --accept--> accepted --assign--> assigned --start--> in_progress
    in_progress --log/defer--> in_progress --complete--> completed --callback--> callback --close--> closed

``submit`` with ``resolved`` (the matter was settled on the call) goes straight to closed. An
unsatisfied callback sends the work order back to submitted as a repeat complaint (二次投诉);
a closed one is reactivated (激活) to submitted with a reason; the customer may withdraw (撤诉)
at any open step. ``save`` (draft fields) and ``note`` (a remark, any time) change no state.

Nothing here deletes anything: an allowed action yields the next :class:`Record` (version + 1)
and exactly one history :class:`Entry`; a refused one yields a :class:`Refused` with the reason
and leaves the record as it was. Roles are relative to the work order: ``handler`` is a member
of its department or its assignee, ``agent`` the agent who took the call or created it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class Status(StrEnum):
    DRAFT = "draft"              # a call's work order before the agent submits it
    SUBMITTED = "submitted"      # waiting for the department (or the center) to accept it
    ACCEPTED = "accepted"        # 受理
    ASSIGNED = "assigned"        # 交办: to a department or a person
    IN_PROGRESS = "in_progress"  # 处理
    COMPLETED = "completed"      # 完成: answered, the customer is to be called back
    CALLBACK = "callback"        # 回访 done, the customer satisfied
    CLOSED = "closed"            # 关闭
    WITHDRAWN = "withdrawn"      # 撤诉


class Action(StrEnum):
    SAVE = "save"
    SUBMIT = "submit"
    ACCEPT = "accept"
    ASSIGN = "assign"
    START = "start"
    LOG = "log"
    DEFER = "defer"
    COMPLETE = "complete"
    CALLBACK = "callback"
    CLOSE = "close"
    REACTIVATE = "reactivate"
    WITHDRAW = "withdraw"
    NOTE = "note"


class Role(StrEnum):
    AGENT = "agent"
    HANDLER = "handler"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


S, A, R = Status, Action, Role
OPEN = frozenset({S.SUBMITTED, S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS, S.COMPLETED, S.CALLBACK})
FINAL = frozenset({S.CLOSED, S.WITHDRAWN})
SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied")
_CENTER = frozenset({R.AGENT, R.SUPERVISOR, R.ADMIN})   # the call center's side
_DESK = frozenset({R.HANDLER, R.SUPERVISOR, R.ADMIN})   # who dispatches to a department
_WORK = frozenset({R.HANDLER, R.ADMIN})                 # who does the department's work
_ALL = frozenset(R)

# (action, from state) -> the roles that may take it there. Everything absent is refused.
MOVES: dict[tuple[Action, Status], frozenset[Role]] = {
    (A.SAVE, S.DRAFT): _CENTER,
    (A.SUBMIT, S.DRAFT): _CENTER,
    (A.ACCEPT, S.SUBMITTED): _DESK,
    **{(A.ASSIGN, s): _DESK for s in (S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS)},
    **{(A.START, s): _WORK for s in (S.ACCEPTED, S.ASSIGNED)},
    (A.LOG, S.IN_PROGRESS): _WORK,
    (A.DEFER, S.IN_PROGRESS): _WORK,
    (A.COMPLETE, S.IN_PROGRESS): _WORK,
    (A.CALLBACK, S.COMPLETED): _CENTER,
    (A.CLOSE, S.CALLBACK): _CENTER,
    (A.CLOSE, S.COMPLETED): frozenset({R.SUPERVISOR, R.ADMIN}),  # closing without calling back
    (A.REACTIVATE, S.CLOSED): frozenset({R.SUPERVISOR, R.ADMIN}),
    **{(A.WITHDRAW, s): _CENTER for s in OPEN},
    **{(A.NOTE, s): _ALL for s in S},
}

# Where an allowed action leads (the ones not listed depend on the command, see _target).
_TARGET = {A.SAVE: None, A.SUBMIT: S.SUBMITTED, A.ACCEPT: S.ACCEPTED, A.ASSIGN: S.ASSIGNED,
           A.START: S.IN_PROGRESS, A.LOG: None, A.DEFER: None, A.COMPLETE: S.COMPLETED,
           A.CALLBACK: S.CALLBACK, A.CLOSE: S.CLOSED, A.REACTIVATE: S.SUBMITTED, A.WITHDRAW: S.WITHDRAWN,
           A.NOTE: None}

# Actions whose history entry must say why (the comment).
_NEEDS_COMMENT = frozenset({A.LOG, A.DEFER, A.COMPLETE, A.CALLBACK, A.REACTIVATE, A.NOTE})


@dataclass(frozen=True)
class Record:
    """What the lifecycle knows of a work order."""

    status: Status = S.DRAFT
    version: int = 0
    department: str | None = None
    assignee: str | None = None
    repeats: int = 0          # how many times an unsatisfied callback reopened it
    deferred: bool = False    # the handler deferred the answer (暂缓) once


@dataclass(frozen=True)
class Command:
    """One person's request: the action and what it carries."""

    action: Action
    actor: str
    role: Role
    comment: str | None = None
    department: str | None = None   # submit/assign/unsatisfied callback: the department it goes to
    assignee: str | None = None     # assign: the person it goes to
    resolved: bool = False          # submit: settled on the call, close it
    satisfaction: str | None = None  # callback: one of SATISFACTION


@dataclass(frozen=True)
class Entry:
    """One line of the append-only history."""

    action: Action
    actor: str
    role: Role
    from_status: Status
    to_status: Status
    comment: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Moved:
    record: Record
    entry: Entry


@dataclass(frozen=True)
class Refused:
    """Why not. ``cause``: role (the actor may not), state (not from here), input (something missing)."""

    cause: Literal["role", "state", "input"]
    reason: str
    field: str | None = None


def allowed_from(action: Action) -> tuple[Status, ...]:
    """The states an action can start from (for any role)."""
    return tuple(s for s in S if (action, s) in MOVES)


def _roles_for(action: Action) -> frozenset[Role]:
    return frozenset().union(*(roles for (a, _), roles in MOVES.items() if a == action))


def _names(items: Iterable[StrEnum]) -> str:
    return ", ".join(str(i) for i in items)


def _target(record: Record, cmd: Command) -> tuple[Status, dict[str, Any]]:
    """The next state and the changes the action makes beside it."""
    a, changes = cmd.action, {}
    to = _TARGET[a] or record.status
    if a is A.SUBMIT:
        if cmd.resolved:
            to = S.CLOSED
        elif cmd.department:
            changes["department"] = cmd.department
    elif a is A.ASSIGN:
        if cmd.department:
            changes["department"] = cmd.department
        # A new department without a named person: anyone there takes it.
        changes["assignee"] = cmd.assignee or (None if cmd.department else record.assignee)
    elif a is A.START and record.assignee is None:
        changes["assignee"] = cmd.actor
    elif a is A.DEFER:
        changes["deferred"] = True
    elif a is A.CALLBACK and cmd.satisfaction == "unsatisfied":
        to = S.SUBMITTED  # a repeat complaint, to the department named (the reviewers) or the same one
        changes["repeats"] = record.repeats + 1
        changes["assignee"] = None
        if cmd.department:
            changes["department"] = cmd.department
    return to, changes


def _check_input(record: Record, cmd: Command) -> Refused | None:
    a = cmd.action
    if a in _NEEDS_COMMENT and not (cmd.comment or "").strip():
        what = {A.REACTIVATE: "a reason", A.DEFER: "a reason", A.CALLBACK: "the customer's opinion",
                A.COMPLETE: "the answer"}.get(a, "a comment")
        return Refused("input", f"{a} needs {what}", "comment")
    if a is A.ASSIGN and not (cmd.department or cmd.assignee):
        return Refused("input", "assign needs a department or a person", "department")
    if a is A.ASSIGN and cmd.department is None and cmd.assignee == record.assignee:
        return Refused("input", f"it is already assigned to {cmd.assignee}", "assignee")
    if a is A.CALLBACK and cmd.satisfaction not in SATISFACTION:
        return Refused("input", f"callback needs satisfaction: one of {', '.join(SATISFACTION)}", "satisfaction")
    if a is A.SUBMIT and cmd.resolved and cmd.department:
        return Refused("input", "a matter resolved on the call goes to no department", "department")
    if a is A.DEFER and record.deferred:
        return Refused("state", "the answer was already deferred once")
    return None


def transition(record: Record, cmd: Command) -> Moved | Refused:
    """The one pure transition: the next record and its history entry, or why not."""
    a, role = cmd.action, cmd.role
    if role not in _roles_for(a):
        return Refused("role", f"a {role} may not {a} a work order")
    if (a, record.status) not in MOVES:
        return Refused("state", f"cannot {a} a work order that is {record.status} "
                                f"(only one that is {_names(allowed_from(a))})")
    if role not in MOVES[(a, record.status)]:
        who = _names(sorted(MOVES[(a, record.status)]))
        return Refused("role", f"only {who} may {a} a work order that is {record.status}")
    refused = _check_input(record, cmd)
    if refused is not None:
        return refused
    to, changes = _target(record, cmd)
    data = {k: v for k, v in changes.items() if getattr(record, k) != v}
    if a is A.CALLBACK:
        data["satisfaction"] = cmd.satisfaction
    if a is A.SUBMIT:
        data["resolved"] = cmd.resolved
    new = dataclasses.replace(record, status=to, version=record.version + 1, **changes)
    return Moved(new, Entry(a, cmd.actor, role, record.status, to, (cmd.comment or "").strip() or None, data))


def decide(record: Record, cmd: Command, roles: Iterable[Role]) -> Moved | Refused:
    """Try the command under each role the actor holds on this work order; the first that may wins.

    When none may, the most telling refusal is returned: missing input, then a state
    refusal (some role of the actor could act, just not now), then the role refusal.
    """
    refusals: list[Refused] = []
    for role in sorted(set(roles), key=list(R).index):
        outcome = transition(record, dataclasses.replace(cmd, role=role))
        if isinstance(outcome, Moved):
            return outcome
        refusals.append(outcome)
    if not refusals:
        return Refused("role", "you have no part in this work order")
    rank = {"input": 0, "state": 1, "role": 2}
    return min(refusals, key=lambda r: rank[r.cause])


def reachable(start: Status = S.DRAFT) -> frozenset[Status]:
    """Every state some sequence of actions leads to from ``start``."""
    seen, todo = {start}, [start]
    while todo:
        for nxt in _successors(todo.pop()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


def _successors(state: Status) -> set[Status]:
    out: set[Status] = set()
    for (action, frm) in MOVES:
        if frm != state:
            continue
        target = _TARGET[action] or state
        out.add(target)
        if action is A.SUBMIT:
            out.add(S.CLOSED)
        if action is A.CALLBACK:
            out.add(S.SUBMITTED)
    return out


def allowed_actions(record: Record, roles: Iterable[Role]) -> tuple[Action, ...]:
    """The actions some role of the actor may take on the record now (inputs aside), in MOVES order.

    The one answer the panel shows buttons from: a defer is left out once deferred (it is
    allowed once); whether the category allows a deferral at all is the settings' to say.
    """
    held = set(roles)
    out: list[Action] = []
    for (action, frm), who in MOVES.items():
        if frm is not record.status or not held & who or action in out:
            continue
        if action is A.DEFER and record.deferred:
            continue
        out.append(action)
    return tuple(out)
