"""The work-order lifecycle, exhaustively and by property.

Every state x action x role is checked against the table below (written out here, apart
from the code's MOVES, so a change to who may do what shows up as a failing line); then
random sequences of actions by random roles check that history is append-only and tells
the whole story, that refusals change nothing, and that every state stays reachable and
never a dead end.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctiserver.workorders.lifecycle import (FINAL, SATISFACTION, Action, Command, Entry, Moved, Record, Refused,
                                            Role, Status, decide, reachable, transition)

S, A, R = Status, Action, Role

# action, from state, roles that may (a=agent h=handler s=supervisor d=admin), the state it leads to.
TABLE = """
save        draft        a.sd  draft
submit      draft        a.sd  submitted
accept      submitted    .hsd  accepted
assign      accepted     .hsd  assigned
assign      assigned     .hsd  assigned
assign      in_progress  .hsd  assigned
start       accepted     .h.d  in_progress
start       assigned     .h.d  in_progress
log         in_progress  .h.d  in_progress
defer       in_progress  .h.d  in_progress
complete    in_progress  .h.d  completed
callback    completed    a.sd  callback
close       callback     a.sd  closed
close       completed    ..sd  closed
reactivate  closed       ..sd  submitted
withdraw    submitted    a.sd  withdrawn
withdraw    accepted     a.sd  withdrawn
withdraw    assigned     a.sd  withdrawn
withdraw    in_progress  a.sd  withdrawn
withdraw    completed    a.sd  withdrawn
withdraw    callback     a.sd  withdrawn
"""
LETTERS = {"a": R.AGENT, "h": R.HANDLER, "s": R.SUPERVISOR, "d": R.ADMIN}


def expected() -> dict[tuple[Action, Status], tuple[frozenset[Role], Status]]:
    out = {}
    for line in TABLE.strip().splitlines():
        action, frm, who, to = line.split()
        out[(A(action), S(frm))] = (frozenset(LETTERS[c] for c in who if c != "."), S(to))
    for state in S:  # a note is anyone's, any time, and moves nothing
        out[(A.NOTE, state)] = (frozenset(R), state)
    return out


EXPECTED = expected()


def command(action: Action, role: Role, **over) -> Command:
    """A command with everything its action needs."""
    base = dict(comment="because", department="cards" if action is A.ASSIGN else None, resolved=False,
                satisfaction="satisfied" if action is A.CALLBACK else None)
    base.update(over)
    return Command(action, "u1", role, **base)


@pytest.mark.parametrize("state,action,role", list(itertools.product(S, A, R)),
                         ids=lambda x: str(x))
def test_every_state_action_and_role(state: Status, action: Action, role: Role) -> None:
    record = Record(status=state, version=7, department="cards", assignee=None)
    outcome = transition(record, command(action, role))
    rule = EXPECTED.get((action, state))
    if rule is not None and role in rule[0]:
        assert isinstance(outcome, Moved), outcome
        assert outcome.record.status == rule[1] and outcome.record.version == 8
        assert (outcome.entry.from_status, outcome.entry.to_status) == (state, rule[1])
        assert outcome.entry.action == action and outcome.entry.actor == "u1" and outcome.entry.role == role
        return
    assert isinstance(outcome, Refused)
    ever = any(role in roles for (a, _), (roles, _) in EXPECTED.items() if a == action)
    some_role_here = rule is not None
    assert outcome.cause == ("role" if not ever or some_role_here else "state"), outcome
    assert outcome.reason  # always says why


def test_the_code_allows_nothing_the_table_does_not() -> None:
    from ctiserver.workorders.lifecycle import MOVES

    assert {k: v for k, v in MOVES.items()} == {k: roles for k, (roles, _) in EXPECTED.items()}


@pytest.mark.parametrize("action,comment_needed", [(A.LOG, True), (A.DEFER, True), (A.COMPLETE, True),
                                                   (A.CALLBACK, True), (A.REACTIVATE, True), (A.NOTE, True),
                                                   (A.WITHDRAW, False), (A.ACCEPT, False)])
def test_what_needs_a_comment(action: Action, comment_needed: bool) -> None:
    state = next(s for (a, s) in EXPECTED if a == action)
    outcome = transition(Record(status=state, deferred=False), command(action, R.ADMIN, comment="  "))
    if comment_needed:
        assert isinstance(outcome, Refused) and outcome.cause == "input" and outcome.field == "comment"
    else:
        assert isinstance(outcome, Moved) and outcome.entry.comment is None


def test_submit_resolved_on_the_call_closes_and_otherwise_goes_to_the_department() -> None:
    draft = Record()
    closed = transition(draft, command(A.SUBMIT, R.AGENT, resolved=True))
    assert isinstance(closed, Moved) and closed.record.status is S.CLOSED
    assert closed.entry.data == {"resolved": True}
    sent = transition(draft, command(A.SUBMIT, R.AGENT, department="cards"))
    assert isinstance(sent, Moved) and sent.record.status is S.SUBMITTED and sent.record.department == "cards"
    both = transition(draft, command(A.SUBMIT, R.AGENT, resolved=True, department="cards"))
    assert isinstance(both, Refused) and both.field == "department"


def test_an_unsatisfied_callback_is_a_repeat_complaint_to_the_reviewers() -> None:
    done = Record(status=S.COMPLETED, department="cards", assignee="h1", version=5)
    again = transition(done, command(A.CALLBACK, R.AGENT, satisfaction="unsatisfied", department="audit"))
    assert isinstance(again, Moved)
    assert again.record == Record(S.SUBMITTED, 6, "audit", None, repeats=1)
    assert again.entry.data == {"repeats": 1, "assignee": None, "department": "audit",
                                "satisfaction": "unsatisfied"}
    ok = transition(done, command(A.CALLBACK, R.AGENT, satisfaction="basically_satisfied"))
    assert isinstance(ok, Moved) and ok.record.status is S.CALLBACK and ok.record.repeats == 0
    bad = transition(done, command(A.CALLBACK, R.AGENT, satisfaction="meh"))
    assert isinstance(bad, Refused) and bad.field == "satisfaction"


def test_assign_to_a_department_or_a_person_and_start_takes_it() -> None:
    accepted = Record(status=S.ACCEPTED, department="cards")
    to_person = transition(accepted, command(A.ASSIGN, R.HANDLER, department=None, assignee="h2"))
    assert isinstance(to_person, Moved) and to_person.record.assignee == "h2" and to_person.record.department == "cards"
    again = transition(to_person.record, command(A.ASSIGN, R.HANDLER, department=None, assignee="h2"))
    assert isinstance(again, Refused) and again.field == "assignee"
    to_dept = transition(to_person.record, command(A.ASSIGN, R.SUPERVISOR, department="deposits"))
    assert isinstance(to_dept, Moved) and to_dept.record.assignee is None
    nothing = transition(accepted, command(A.ASSIGN, R.HANDLER, department=None))
    assert isinstance(nothing, Refused) and nothing.cause == "input"
    started = transition(to_dept.record, command(A.START, R.HANDLER))
    assert isinstance(started, Moved) and started.record.assignee == "u1"


def test_defer_only_once() -> None:
    working = Record(status=S.IN_PROGRESS)
    once = transition(working, command(A.DEFER, R.HANDLER))
    assert isinstance(once, Moved) and once.record.deferred
    twice = transition(once.record, command(A.DEFER, R.HANDLER))
    assert isinstance(twice, Refused) and twice.cause == "state"


def test_decide_uses_any_role_the_actor_holds_and_explains_the_best_refusal() -> None:
    submitted = Record(status=S.SUBMITTED, department="cards")
    # An agent who also handles the department may accept what they submitted.
    moved = decide(submitted, command(A.ACCEPT, R.AGENT), {R.AGENT, R.HANDLER})
    assert isinstance(moved, Moved) and moved.entry.role is R.HANDLER
    # A handler asked to complete something not yet started hears about the state, not the role.
    refused = decide(submitted, command(A.COMPLETE, R.AGENT), {R.AGENT, R.HANDLER})
    assert isinstance(refused, Refused) and refused.cause == "state"
    assert decide(submitted, command(A.ACCEPT, R.AGENT), set()).cause == "role"


def test_every_state_is_reachable_and_none_is_a_dead_end() -> None:
    assert reachable() == frozenset(S)
    for state in S:
        assert reachable(state) & FINAL, f"{state} cannot end"


# -- random sequences -------------------------------------------------------------------------

steps = st.tuples(st.sampled_from(list(A)), st.sampled_from(list(R)),
                  st.sampled_from([None, "cards", "deposits"]), st.sampled_from([None, "h1", "h2"]),
                  st.booleans(), st.sampled_from([None, *SATISFACTION]), st.sampled_from([None, "", "why"]))


def fold(history: list[Entry]) -> Record:
    """The record a history tells: history alone must be enough to rebuild it."""
    record = Record()
    for e in history:
        assert e.from_status == record.status
        record = dataclasses.replace(record, status=e.to_status, version=record.version + 1,
                                     **{k: v for k, v in e.data.items() if k in ("department", "assignee",
                                                                                  "repeats", "deferred")})
    return record


@settings(max_examples=400)
@given(st.lists(steps, max_size=60))
def test_random_actions_keep_history_append_only_and_complete(seq: list) -> None:
    record, history = Record(), []
    everywhere = reachable()
    for action, role, dept, assignee, resolved, satisfaction, comment in seq:
        cmd = Command(action, "u", role, comment, dept, assignee, resolved, satisfaction)
        before, kept = record, list(history)
        outcome = transition(record, cmd)
        if isinstance(outcome, Refused):
            assert record == before and outcome.reason  # a refusal changes nothing
            continue
        record = outcome.record
        history.append(outcome.entry)
        assert history[:-1] == kept  # earlier entries untouched
        assert record.version == before.version + 1 == len(history)
        assert record.repeats >= before.repeats
        assert record.status in everywhere
        assert fold(history) == record  # nothing is known that history does not say
