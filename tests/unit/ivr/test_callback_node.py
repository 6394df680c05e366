"""The callback node: a caller let out of the queue by its exit key (cti-queue-exit,5 runs the IVR at
this node) keeps their own number or keys one in, and the CTI server is told (UserEvent CtiCallback);
bad numbers are asked again, a caller who gives none goes back to the queue, a hang-up sends nothing."""

from __future__ import annotations

import pytest

import tests.unit.ivr.agi_peer as peer
from ivr.agi import IvrServer
from ivr.menu import MenuError, load_menu, parse_menu
from tests.unit.ivr.agi_peer import HANGUP, FakeAsteriskCall

BEFORE = {
    "CTI_IVR_PATH": "main,support",
    "CTI_IVR_KEYS": "1",
    "EXTEN": "5",
    "QUEUEPOSITION": "2",
}


def menu(**node) -> dict:
    return {
        "name": "t",
        "start": "main",
        "nodes": {
            "main": {"type": "menu", "prompt": "beep", "keys": {"1": "support"}},
            "support": {"type": "queue", "queue": "support", "fallback": "main"},
            "callback": {
                "type": "callback",
                "queue": "support",
                "on_failure": "support",
                **node,
            },
        },
    }


@pytest.fixture
def exit_call(monkeypatch):
    """A caller as cti-queue-exit,5 sends them: AGI(agi://.../hotline?node=callback) on the same channel."""
    original = peer.agi_environment
    monkeypatch.setattr(
        peer,
        "agi_environment",
        lambda *a, **k: original(*a, **{**k, "script": "hotline?node=callback"}),
    )

    async def call(
        keys: list, callerid: str = "13800138000", **node
    ) -> FakeAsteriskCall:
        ivr = IvrServer(menu=parse_menu(menu(**node)), host="127.0.0.1", port=0)
        await ivr.start()
        try:
            c = FakeAsteriskCall(
                ivr.port, keys=keys, callerid=callerid, variables=dict(BEFORE)
            )
            await c.run()
            return c
        finally:
            await ivr.stop()

    return call


def request(c: FakeAsteriskCall) -> dict[str, str]:
    (event,) = [e for e in c.user_events if e.startswith("CtiCallback,")]
    return dict(part.split(": ", 1) for part in event.split(",")[1:])


async def test_the_caller_keeps_their_own_number_and_is_let_go(exit_call):
    c = await exit_call(["1"])
    assert c.said == [
        "13800138000"
    ]  # the number is said back before the caller confirms it
    got = request(c)
    assert (got["Queue"], got["Number"], got["Caller"], got["Position"]) == (
        "support",
        "13800138000",
        "13800138000",
        "2",
    )
    assert len(got["Id"]) == 32
    # the path and keys before the queue are kept, with the exit key and the confirmation
    assert (c.variables["CTI_IVR_PATH"], c.variables["CTI_IVR_KEYS"]) == (
        "main,support,callback",
        "151",
    )
    assert [s[2] for s in c.named("STREAM FILE")] == ["auth-thankyou", "vm-goodbye"]
    assert c.variables["CTI_IVR_DONE"] == "yes" and not c.named("EXEC", "Queue")


async def test_another_number_is_keyed_in_and_a_bad_one_asked_again(exit_call):
    c = await exit_call(["2", "12", "0215551234", "1"])
    assert c.said == ["13800138000", "0215551234"]
    assert request(c)["Number"] == "0215551234"
    assert "check-number-dial-again" in [s[2] for s in c.named("STREAM FILE")]
    assert [g[2:] for g in c.named("GET DATA")][1] == [
        "vm-enter-num-to-call",
        "8000",
        "20",
    ]


async def test_an_anonymous_caller_must_key_a_number_in(exit_call):
    c = await exit_call(["0215551234", "1"], callerid="anonymous")
    assert c.said == ["0215551234"] and request(c)["Number"] == "0215551234"


async def test_no_usable_number_sends_the_caller_back_to_the_queue(exit_call):
    c = await exit_call([None, "1*2", None], callerid="anonymous", tries=3)
    assert not [e for e in c.user_events if e.startswith("CtiCallback,")]
    assert c.named("EXEC", "Queue") == [
        ["EXEC", "Queue", "support,t,,,45"]
    ]  # a new place, never dropped


async def test_a_caller_hanging_up_in_the_node_asks_for_nothing(exit_call):
    c = await exit_call([HANGUP])
    assert not c.user_events and "CTI_IVR_DONE" not in c.variables
    assert (
        c.variables["CTI_IVR_PATH"] == "main,support,callback"
    )  # the work order says where they hung up


def test_the_node_is_checked_when_the_menu_is_loaded():
    with pytest.raises(
        MenuError, match=r"nodes\.callback\.on_failure: no node named 'nowhere'"
    ):
        parse_menu(menu(on_failure="nowhere"))
    with pytest.raises(MenuError, match=r"nodes\.callback\.queue"):
        parse_menu(menu(queue="sup port"))
    with pytest.raises(MenuError, match=r"nodes\.callback\.min_digits"):
        parse_menu(menu(min_digits=12, max_digits=5))
    with pytest.raises(MenuError, match=r"nodes\.callback: unknown setting"):
        parse_menu(menu(colour="red"))
    assert (
        load_menu().nodes["callback"].queue == "support"
    )  # the shipped hotline has one
