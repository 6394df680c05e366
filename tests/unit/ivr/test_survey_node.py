"""The post-call survey node, and the queue node going on to it when the agent hangs up first
(Queue option c: QUEUESTATUS=CONTINUE), with a caller spoken to as Asterisk speaks (agi_peer.py).
What the CTI server is told (UserEvent CtiSurvey) for a rating, a wrong key, no key, a hang-up."""

from __future__ import annotations

import re

import pytest

import tests.unit.ivr.agi_peer as peer
from ivr.agi import IvrServer
from ivr.menu import MenuError, load_menu, parse_menu
from tests.unit.ivr.agi_peer import ANSWERED, HANGUP, FakeAsteriskCall


def menu(**queue) -> dict:
    return {
        "name": "t",
        "start": "main",
        "nodes": {
            "main": {"type": "menu", "prompt": "beep", "keys": {"1": "support"}},
            "support": {
                "type": "queue",
                "queue": "support",
                "fallback": "main",
                **queue,
            },
            "survey": {
                "type": "survey",
                "prompt": "rate-us",
                "tries": 2,
                "thanks_prompt": "auth-thankyou",
            },
        },
    }


async def run(data: dict, keys: list, queue: list | None = None) -> FakeAsteriskCall:
    ivr = IvrServer(menu=parse_menu(data), host="127.0.0.1", port=0)
    await ivr.start()
    try:
        c = FakeAsteriskCall(ivr.port, keys=keys, queue=queue or [])
        await c.run()
        return c
    finally:
        await ivr.stop()


@pytest.fixture
def survey_call(monkeypatch):
    """A caller as the agent's survey button sends them: Redirect to cti-ivr,survey,1, whose
    AGI(agi://.../hotline?node=survey) starts the IVR at the survey node."""
    original = peer.agi_environment
    monkeypatch.setattr(
        peer,
        "agi_environment",
        lambda *a, **k: original(*a, **{**k, "script": "hotline?node=survey"}),
    )

    async def call(keys: list) -> FakeAsteriskCall:
        return await run(menu(), keys)

    return call


async def test_a_rating_is_sent_then_thanks_and_the_call_ends(survey_call):
    c = await survey_call(["4"])
    assert c.named("GET DATA")[0][2:] == ["rate-us", "6000", "1"]
    assert c.user_events == [
        "CtiSurvey,Node: survey,Outcome: started,Scale: 5",
        "CtiSurvey,Node: survey,Outcome: rated,Rating: 4,Plays: 1",
    ]
    assert c.named("STREAM FILE")[-1][2] == "auth-thankyou"
    assert (
        c.variables["CTI_IVR_DONE"] == "yes" and c.variables["CTI_IVR_PATH"] == "survey"
    )


async def test_a_wrong_key_asks_again_and_a_key_out_of_the_scale_is_wrong(survey_call):
    c = await survey_call(["7", "2"])
    assert (
        c.user_events[-1] == "CtiSurvey,Node: survey,Outcome: rated,Rating: 2,Plays: 2"
    )
    assert [s[2] for s in c.named("STREAM FILE")] == ["invalid", "auth-thankyou"]


@pytest.mark.parametrize(
    ("keys", "outcome"),
    [([None, None], "no_key"), (["0", "9"], "invalid"), (["*", None], "invalid")],
)
async def test_no_key_or_only_wrong_keys_are_recorded_as_such(
    survey_call, keys, outcome
):
    c = await survey_call(keys)
    assert c.user_events[-1] == f"CtiSurvey,Node: survey,Outcome: {outcome},Plays: 2"
    assert "auth-thankyou" not in [s[2] for s in c.named("STREAM FILE")]
    assert c.variables["CTI_IVR_DONE"] == "yes"


async def test_a_caller_hanging_up_during_the_question_leaves_only_started(survey_call):
    c = await survey_call([HANGUP])
    assert c.user_events == [
        "CtiSurvey,Node: survey,Outcome: started,Scale: 5"
    ]  # the server records hung_up
    assert c.commands[-1][:2] == ["GET", "DATA"] and "CTI_IVR_DONE" not in c.variables


async def test_the_agent_hanging_up_first_sends_the_caller_to_the_survey_with_option_c():
    # Queue(support,tc): app_queue sets QUEUESTATUS=CONTINUE when the agent hangs up and the caller goes on
    c = await run(
        menu(options="tc", after_agent="survey"), ["1", "5"], queue=["CONTINUE"]
    )
    assert c.named("EXEC", "Queue") == [["EXEC", "Queue", "support,tc,,,45"]]
    assert (
        c.user_events[-1] == "CtiSurvey,Node: survey,Outcome: rated,Rating: 5,Plays: 1"
    )
    assert c.variables["CTI_IVR_PATH"] == "main,support,survey"

    # without after_agent the caller is simply hung up by the dialplan after the IVR
    c = await run(menu(options="tc"), ["1"], queue=["CONTINUE"])
    assert c.user_events == [] and c.variables["CTI_IVR_DONE"] == "yes"

    # the caller hanging up while talking never reaches the survey
    c = await run(menu(options="tc", after_agent="survey"), ["1"], queue=[ANSWERED])
    assert c.user_events == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"after_agent": "survey"}, "nodes.support.after_agent: needs Queue option c"),
        (
            {"options": "tc", "after_agent": "nowhere"},
            "nodes.support.after_agent: no node named 'nowhere'",
        ),
    ],
)
def test_after_agent_is_checked_at_load(change, message):
    with pytest.raises(MenuError, match=re.escape(message)):
        parse_menu(menu(**change))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"prompt": None}, "nodes.survey.prompt"),
        ({"scale": 12}, "nodes.survey.scale"),
        ({"next": "nowhere"}, "nodes.survey.next: no node named 'nowhere'"),
        ({"keys": "12"}, "unknown setting(s) keys"),
    ],
)
def test_a_bad_survey_node_is_refused_naming_it(change, message):
    data = menu()
    data["nodes"]["survey"].update(change)
    data["nodes"]["survey"] = {
        k: v for k, v in data["nodes"]["survey"].items() if v is not None
    }
    with pytest.raises(MenuError, match=re.escape(message)):
        parse_menu(data)


def test_the_shipped_menu_has_a_survey_node_for_the_agents_button():
    assert [n.name for n in load_menu().nodes.values() if n.type == "survey"] == [
        "survey"
    ]
