"""Recorded traces replayed through asterisk_conf/manager.conf's filter reach the same state.

The traces were recorded with ``read = all`` and no filter. Asterisk with the shipped
manager.conf sends the CTI user only the events it reads (about a fifth of a queue call's);
each trace here is replayed twice into the whole server, once as recorded and once through
the same filter logic the simulator applies (pbxsim/ami/filters.py, the cti user of the
shipped manager.conf): what agents and the supervisor were shown (states, pops, call ends)
and the work orders filed must be the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pbxsim.ami.filters import SessionFilter, load
from tests.replay.test_replay import (
    final_state,
    only_work_order,
    replayed,
    settle,
    states,
)
from tests.support.postgres import drop_database, fresh_database
from tests.support.traces import Msg, trace_path, unsolicited

SHIPPED = Path(__file__).resolve().parents[2] / "asterisk_conf" / "manager.conf"
# what differs between two replays of one trace: clocks (the replay stamps its own start) and ids
VOLATILE = {"ref", "id", "seq", "since", "at", "started_at", "ended_at", "created_at", "updated_at", "answered_at",
            "queued_at", "ringing_at", "time", "ts", "deadline", "due_at",
            # whether the customer lookup returned before a short call ended depends on the database's
            # speed, not on the stream; the work orders, compared too, carry what it found
            "lookup"}


def cti_filter() -> SessionFilter:
    f = load(SHIPPED, "cti")
    assert f is not None and f.filtering and not f.refused
    return f


def filtered(trace: str) -> list[Msg]:
    f = cti_filter()
    return [m for m in unsolicited(trace_path(trace)) if f.allows_fields(m.headers)]


def _stable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in sorted(value.items())
                if k not in VOLATILE and not k.endswith(("_at", "_time", "_since"))}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, float):
        return round(value, 1)
    return value


def final_pops(panel) -> list[dict]:
    """Each call's pop as the agent last saw it: the ring, then its updates (answered, customer found).

    How many updates come between depends on when the customer lookup returns, not on the
    stream; where each pop ends does not.
    """
    last: dict[str, dict] = {}
    for message in panel.received:
        if message.get("type") in ("call_ringing", "pop_update"):
            last[message["data"].get("linkedid") or ""] = message["data"]
    return [last[k] for k in sorted(last)]


def lookup_steps_last(wo: dict) -> dict:
    """The work order with its customer-lookup steps after the call's own events.

    A call's events are in the stream's order; the lookup's step lands wherever the
    database answered (before or after the ring, the answer), which the stream does not
    decide. What it found is still compared.
    """
    events = wo.get("events") or []
    return {**wo, "events": [e for e in events if e.get("kind") != "customer"]
            + [e for e in events if e.get("kind") == "customer"]}


async def outcome(trace: str, db_dsn: str, tmp_path: Path, events: list[Msg] | None) -> dict:
    """What panels 1001, 1002 and 1900 were shown, and the work orders, after one replay."""
    async with replayed(trace, db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play(events)
        await settle(stack)
        for agent in ("1001", "1002"):
            if states(panels[agent], agent):
                last = states(panels[agent], agent)[-1].split("(")[0]
                for panel in (agent, "1900"):  # the supervisor's socket may gather its last burst a moment longer
                    await final_state(panels[panel], agent, last)
        status, listed = await panels["1900"].get("/api/workorders")
        assert status == 200, listed
        orders = []
        for wo in sorted(listed["workorders"], key=lambda w: (w.get("linkedid") or "", w.get("ref") or "")):
            status, full = await panels["1900"].get(f"/api/workorders/{wo['ref']}")
            assert status == 200, full
            orders.append(lookup_steps_last(full["workorder"]))
        return _stable({
            "states": {a: states(panels[p], a) for p in ("1001", "1002", "1900") for a in ("1001", "1002")
                       if p in (a, "1900")},
            "pops": {a: final_pops(panels[a]) for a in ("1001", "1002")},
            "ended": {a: panels[a].of_type("call_ended") for a in ("1001", "1002")},
            "workorders": orders,
        })


@pytest.mark.parametrize("trace", ["01", "02", "03", "04", "05", "11", "16", "17"])
async def test_a_filtered_replay_ends_where_the_whole_stream_does(trace: str, db_dsn: str, pg_dsn: str,
                                                                  tmp_path: Path) -> None:
    whole = await outcome(trace, db_dsn, tmp_path / "whole", None)
    only_read = filtered(trace)
    assert len(only_read) < len(unsolicited(trace_path(trace))) * 0.6
    other = await fresh_database(pg_dsn)  # the same work orders again, not beside the first ones
    try:
        seen = await outcome(trace, other, tmp_path / "filtered", only_read)
    finally:
        await drop_database(other)
    for part in whole:
        assert seen[part] == whole[part], part
    if trace != "01":
        assert whole["workorders"], "the trace files at least one work order"


async def test_02_filtered_pops_and_files_the_answered_call(db_dsn: str, tmp_path: Path) -> None:
    """test_replay's trace-02 checks, on the filtered stream (38 of its 189 events)."""
    events = filtered("02")
    assert len(events) == 38
    async with replayed("02", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play(events)
        await settle(stack)
        pop = await panels["1001"].expect("call_ringing")
        assert (pop["caller_number"], pop["caller_name"], pop["ivr_keys"], pop["queue"]) == (
            "caller", "Customer caller", "1", "support")
        ended = await panels["1001"].expect("call_ended", lambda d: d["linkedid"] == pop["linkedid"])
        assert ended["disposition"] == "answered"
        await final_state(panels["1001"], "1001", "logged_out")
        assert states(panels["1001"], "1001") == ["ready", "ringing", "on_call", "wrap_up", "logged_out"]
        wo = await only_work_order(panels["1900"])
        assert (wo["disposition"], wo["agent_id"], wo["queue"]) == ("answered", "1001", "support")
        assert wo["wait_seconds"] == pytest.approx(1.51, abs=0.05)
        assert wo["talk_seconds"] == pytest.approx(4.50, abs=0.05)
