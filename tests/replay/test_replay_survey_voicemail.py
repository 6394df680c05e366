"""Traces 23 (post-call survey) and 24 (voicemail left), recorded on Asterisk 22.10.1 with
asterisk_conf/, replayed into the whole server: what users see from them.

23: the agent hangs up first and the caller (Queue option c) rates 4; then the agent's survey
button (a Redirect of the caller to cti-ivr,survey,1) and the caller rates 5: each rating on its
call's work order with the agent and the queue, the agent free at once. 24: two messages left
(one ended by hanging up, one by #): both listed for the panels with the caller's number, on the
callers' work orders.
"""

from __future__ import annotations

from pathlib import Path

from tests.replay.test_replay import replayed, settle
from tests.replay.test_replay_call_control import kinds, work_orders


async def test_23_survey_ratings_land_on_the_work_orders(
    db_dsn: str, tmp_path: Path
) -> None:
    async with replayed("23", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        a, b = await work_orders(panels["1900"])
        for wo, rating in ((a, 4), (b, 5)):
            surveys = [e["data"] for e in wo["events"] if e["kind"] == "survey"]
            assert surveys == [
                {
                    "outcome": "rated",
                    "rating": rating,
                    "scale": 5,
                    "agent": "1001",
                    "queue": "support",
                }
            ], wo["events"]
            assert (
                kinds(wo).index("answered")
                < kinds(wo).index("survey_started")
                < kinds(wo).index("ended")
            )
            assert (wo["agent_id"], wo["disposition"]) == ("1001", "answered")
        assert stack.core.tracker.calls == {}
        status, body = await panels["1900"].get("/api/stats/queues")
        assert status == 200, body
        support = next(q for q in body["queues"] if q["queue"] == "support")
        assert (
            support["survey"]["rated"] == 2 and support["survey"]["avg_rating"] == 4.5
        )


async def test_24_voicemails_are_listed_for_the_panels(
    db_dsn: str, tmp_path: Path
) -> None:
    async with replayed("24", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        status, body = await panels["1001"].get("/api/voicemails")
        assert status == 200
        got = sorted(
            (v["caller_number"], v["mailbox"], v["open"]) for v in body["voicemails"]
        )
        assert got == [
            ("caller", "2000@default", True),
            ("caller", "2000@default", True),
        ]
        for vm in body["voicemails"]:
            assert vm["msg"].startswith("msg") and vm["ref"].startswith("WO-")
            wo = await stack.store.get_work_order(vm["id"])
            assert [e.kind for e in wo.events].count("voicemail") == 1
