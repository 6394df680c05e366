"""The work-order lifecycle as the API enforces it, over random sequences of actions by random people.

Hypothesis draws a sequence of (person, action, inputs, acting on the current or an old version,
alone or at the same time as someone else); each is sent over HTTP to the whole server with its
PostgreSQL. After every step:

- the answer is the one the pure lifecycle (``lifecycle.decide``) gives for that person's roles on
  the work order as it was: 200 with its next state, 403 for a role that may not, 409 for a state
  that does not allow it or a stale version, 400 for missing input; nobody is ever put in a state
  the lifecycle does not lead to;
- the version goes up by exactly one per change and never otherwise;
- the history (from PostgreSQL) is append-only and complete: what it held before is a prefix of what
  it holds now, one entry per change, versions 1, 2, 3..., each entry starting where the last ended;
- of two people acting on the same version at once, at most one wins; the other gets 409.

The server runs in its own thread and event loop for the whole module (hypothesis drives a plain
function); each example starts from a new work order.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctiserver.workorders.lifecycle import (
    Action,
    Command,
    Refused,
    Status,
    allowed_actions,
    decide,
)
from ctiserver.workorders.sheets import record_of
from tests.conftest import running, stack_config
from tests.support.panel import PanelClient
from tests.support.postgres import drop_database, fresh_database

PEOPLE = ("1001", "1002", "1003", "1900")  # the agent who wrote it, another agent (deposits), cards' handler, supervisor
FORWARD = ("submit", "accept", "start", "log", "complete", "callback", "close", "assign", "defer", "reactivate",
           "withdraw")  # the order a matter usually goes: small picks move it on
REFUSAL = {"role": 403, "state": 409, "input": 400}


class Server:
    """The whole server and one signed-in client per person, on a loop in a thread of their own."""

    def __init__(self, pg_dsn: str, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self._start(pg_dsn, tmp))

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self, pg_dsn: str, tmp: Path) -> None:
        self.dsn = await fresh_database(pg_dsn)
        self.running = running(stack_config(self.dsn, tmp))
        self.stack = await self.running.__aenter__()
        self.clients: dict[str, PanelClient] = {}
        for login in PEOPLE:
            self.clients[login] = client = PanelClient(self.stack.url)
            await client.login(login)
        self.accounts = {p: self.stack.app.accounts.get(p) for p in PEOPLE}

    async def _stop(self) -> None:
        for client in self.clients.values():
            await client.close()
        await self.running.__aexit__(None, None, None)
        await drop_database(self.dsn)

    def close(self) -> None:
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def server(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(pg_dsn, tmp_path_factory.mktemp("wo-property"))
    try:
        yield s
    finally:
        s.close()


# The first choice of each is the one that moves a matter on (hypothesis leans to it); the others bring refusals.
comments = st.sampled_from(["checked the statement", "客户来电补充", None, ""])
step = st.fixed_dictionaries({
    "who": st.sampled_from(PEOPLE),
    "action": st.sampled_from([a.value for a in Action if a is not Action.SAVE]),
    "free": st.sampled_from([False, False, False, False, True]),  # False: one of the actions the person's roles allow now
    "pick": st.sampled_from([0, 0, 0, 0, 0, 0, 1, 2, 3, 5]),  # mostly the most forward move
    "comment": comments,
    "resolved": st.booleans(),
    "department": st.sampled_from(["cards", None, "deposits", "audit"]),
    "assignee": st.sampled_from([None, "1003", "1002"]),
    "satisfaction": st.sampled_from(["satisfied", "basically_satisfied", "unsatisfied"]),
    "days": st.sampled_from([None, 3, 30]),
    "stale": st.sampled_from([False, False, False, False, False, True]),  # acting on the version before the current one
    "rival": st.sampled_from([None, None, None, None, *PEOPLE]),  # someone acting on the same version at once
})


def body_of(s: dict[str, Any], version: int) -> dict[str, Any]:
    body: dict[str, Any] = {"version": version}
    if s["comment"] is not None:
        body["comment"] = s["comment"]
    a = s["action"]
    if a == "submit":
        body["resolved"] = s["resolved"]
        if s["department"] and not s["resolved"]:
            body["department"] = s["department"]
    if a == "assign":
        for k in ("department", "assignee"):
            if s[k]:
                body[k] = s[k]
    if a == "callback":
        body["satisfaction"] = s["satisfaction"]
    if a == "defer" and s["days"]:
        body["days"] = s["days"]
    return body


def expected(server: Server, wo: dict[str, Any], s: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
    """What the lifecycle says of this step on this copy: (HTTP status, next status or None)."""
    actions = server.stack.app.workorder_actions
    roles = actions.roles_of(server.accounts[s["who"]], wo)
    if not roles:
        return 404, None
    if body["version"] != wo["version"]:
        return 409, None
    a = Action(s["action"])
    department = body.get("department")
    if a is Action.SUBMIT and department is None and not body["resolved"]:
        department = wo.get("department")  # the write-up's department, as the service does
    if a is Action.CALLBACK and body.get("satisfaction") == "unsatisfied":
        department = actions.settings.repeat_department
    cmd = Command(a, s["who"], next(iter(roles)), comment=body.get("comment"), department=department,
                  assignee=body.get("assignee"), resolved=bool(body.get("resolved")),
                  satisfaction=body.get("satisfaction"))
    outcome = decide(record_of(wo), cmd, roles)
    if isinstance(outcome, Refused):
        return REFUSAL[outcome.cause], None
    return 200, outcome.record.status.value


def forward(server: Server, wo: dict[str, Any], pick: int) -> dict[str, Any]:
    """A person and an action the lifecycle allows them now (a note only when nothing else is)."""
    options = []
    for who in PEOPLE:
        roles = server.stack.app.workorder_actions.roles_of(server.accounts[who], wo)
        options += [(who, a.value) for a in allowed_actions(record_of(wo), roles) if a not in (Action.SAVE, Action.NOTE)]
    if not options:
        return {"who": "1900", "action": "note"}
    options.sort(key=lambda o: FORWARD.index(o[1]))
    if pick < 5:  # the customer withdrawing ends a sequence: only now and then
        options = [o for o in options if o[1] != "withdraw"] or options
    who, action = options[pick % len(options)]
    return {"who": who, "action": action}


async def read(server: Server, ref: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    status, body = await server.clients["1900"].get(f"/api/workorders/{ref}")
    assert status == 200, body
    return body["workorder"], body["workorder"]["history"]


def check_history(before: list[dict], after: list[dict], wo: dict) -> None:
    assert after[:len(before)] == before, "the history changed behind us"
    assert [h["version"] for h in after] == list(range(1, len(after) + 1))
    assert all(a["to"] == b["from"] for a, b in itertools.pairwise(after))  # each change starts where the last ended
    assert after[-1]["to"] == wo["status"] and after[-1]["version"] == wo["version"]


async def play(server: Server, steps: list[dict[str, Any]]) -> None:
    agent = server.clients["1001"]
    status, body = await agent.post("/api/workorders", {
        "channel": "letter", "category": "fault_report", "subcategory": "atm", "request": "The ATM kept my card"})
    assert status == 201, body
    ref = body["workorder"]["ref"]
    wo, history = await read(server, ref)
    for s in steps:
        if not s["free"]:  # mostly a move the lifecycle allows someone now, forward ones first, so sequences go far
            s = {**s, **forward(server, wo, s["pick"])}
        version = wo["version"] - 1 if s["stale"] and wo["version"] > 1 else wo["version"]
        body = body_of(s, version)
        want, nxt = expected(server, wo, s, body)
        path = f"/api/workorders/{ref}/{s['action']}"
        if s["rival"] is None:
            results = [(s, await server.clients[s["who"]].post(path, body))]
        else:
            other = {**s, "who": s["rival"], "action": "note", "comment": "at the same time"}
            answers = await asyncio.gather(server.clients[s["who"]].post(path, body),
                                           server.clients[s["rival"]].post(f"/api/workorders/{ref}/note",
                                                                           body_of(other, version)))
            results = [(s, answers[0]), (other, answers[1])]
            assert sum(1 for _, (code, _) in results if code == 200) <= 1, results  # one winner at most
        new, after = await read(server, ref)
        wins = [(x, answer) for x, (code, answer) in results if code == 200]
        assert new["version"] == wo["version"] + len(wins), (results, wo["version"], new["version"])
        assert new["status"] in {x.value for x in Status}
        if s["rival"] is None:
            code, answer = results[0][1]
            assert code == want, (s, body, wo["status"], answer)
            if code == 200:
                assert answer["workorder"]["status"] == nxt == new["status"]
                assert answer["workorder"]["history"] == after  # the answer carries the whole history
            else:  # refused: nothing changed
                assert (new["version"], new["status"], new["department"], new["assignee"]) == (
                    wo["version"], wo["status"], wo["department"], wo["assignee"])
        elif wins and wins[0][0] is s:
            assert new["status"] == nxt, (s, wo["status"], new["status"])
        check_history(history, after, new)
        assert len(after) == new["version"]
        wo, history = new, after


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=8, max_size=30))
def test_random_actions_by_random_people_keep_the_lifecycle(server: Server, steps: list[dict[str, Any]]) -> None:
    server.run(play(server, steps), timeout=120)
