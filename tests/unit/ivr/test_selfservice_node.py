"""The self-service node against a real local HTTP back-end (aiohttp's TestServer) and a caller
spoken to as Asterisk speaks (agi_peer.py): what the caller hears, where they go next, and the
step the work order gets, for a fast answer, a slow one, a 500, garbage and a refused connection.
"""

from __future__ import annotations

import asyncio
import re
import socket

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ivr.agi import IvrServer
from ivr.menu import MenuError, load_menu, parse_menu
from ivr.nodes.selfservice import plan, resolve
from tests.unit.ivr.agi_peer import ANSWERED, FakeAsteriskCall


class Caller(FakeAsteriskCall):
    """A caller whose Asterisk also answers SAY DIGITS / SAY NUMBER, as res_agi.c does (result=0)."""

    hang_up_at_say: int = 0  # the caller hangs up during the n-th SAY (0: never)

    def _reply(self, cmd: list[str]) -> str:
        if not self.dead and cmd[0].upper() == "SAY":
            self.commands.append(cmd)
            if (
                len([c for c in self.commands if c[0].upper() == "SAY"])
                == self.hang_up_at_say
            ):
                return self._hangup()
            return "200 result=0\n"
        return super()._reply(cmd)

    def heard(self) -> list[str]:
        """What was played or said, in order (sound names, 'digits:123', 'number:42')."""
        out = []
        for c in self.commands:
            verb = " ".join(w.upper() for w in c[:2])
            if verb == "STREAM FILE":
                out.append(c[2])
            elif verb in ("SAY DIGITS", "SAY NUMBER"):
                out.append(f"{c[1].lower()}:{c[2]}")
        return out


@pytest.fixture
async def backend():
    seen: list[web.Request] = []
    release = asyncio.Event()

    async def balance(request: web.Request) -> web.Response:
        seen.append(request)
        return web.json_response(
            {"account": {"balance": 1234.5, "currency": "CNY", "no": "6222001"}}
        )

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"account": {"balance": 1}})

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="database down")

    async def garbage(request: web.Request) -> web.Response:
        return web.Response(
            text="<html>maintenance</html>", content_type="application/json"
        )

    async def wrong_shape(request: web.Request) -> web.Response:
        return web.json_response(
            {"account": {"balance": "n/a", "currency": "CNY", "no": "6222001"}}
        )

    app = web.Application()
    app.router.add_route("*", "/balance/{customer}", balance)
    app.router.add_get("/slow/{customer}", slow)
    app.router.add_get("/broken/{customer}", broken)
    app.router.add_get("/garbage/{customer}", garbage)
    app.router.add_get("/shape/{customer}", wrong_shape)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    server.seen = seen
    yield server
    release.set()
    await server.close()


def url_of(server: TestServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def menu(url: str, **extra) -> dict:
    node = {
        "type": "selfservice",
        "url": url,
        "timeout": 0.5,
        "next": "bye",
        "fallback": "agent",
        "intro_prompt": "vm-youhave",
        "say": [
            {"pointer": "/account/balance", "as": "number"},
            {
                "pointer": "/account/currency",
                "as": "prompt",
                "prompts": {"CNY": "digits/dollars"},
            },
            {"pointer": "/account/no", "as": "digits", "prompt": "vm-extension"},
        ],
        **extra,
    }
    return {
        "name": "t",
        "start": "main",
        "nodes": {
            "main": {"type": "menu", "prompt": "beep", "keys": {"3": "balance"}},
            "balance": node,
            "agent": {"type": "queue", "queue": "support", "fallback": "bye"},
            "bye": {"type": "hangup", "prompt": "goodbye"},
        },
    }


async def run_call(data: dict, keys: list, **script) -> Caller:
    ivr = IvrServer(menu=parse_menu(data), host="127.0.0.1", port=0)
    await ivr.start()
    try:
        caller = Caller(ivr.port, keys=keys, **script)
        await caller.run()
        return caller
    finally:
        await ivr.stop()


async def test_a_fast_answer_is_read_to_the_caller_then_the_next_node(backend):
    url = url_of(backend, "/balance/{caller}")
    c = await run_call(menu(url), ["3"], callerid="13812345678")

    assert c.heard() == [
        "vm-youhave",
        "number:1234",
        "letters/dot",
        "digits:50",
        "digits/dollars",
        "vm-extension",
        "digits:6222001",
        "goodbye",
    ]
    assert backend.seen[0].path == "/balance/13812345678"
    assert c.named("EXEC", "Queue") == []  # nobody needed an agent
    assert c.user_events[-1].startswith(
        "CtiStep,Step: selfservice,Node: balance,Outcome: ok,Seconds: "
    )
    assert c.variables["CTI_IVR_PATH"] == "main,balance,bye"
    # told before asking: a caller hanging up while the back-end thinks is still on the work order
    assert c.user_events[0] == "CtiStep,Step: selfservice,Node: balance,Outcome: asking"


@pytest.mark.parametrize(
    ("path", "outcome"),
    [
        ("/slow/{caller}", "timeout"),
        ("/broken/{caller}", "http_500"),
        ("/garbage/{caller}", "malformed"),
        ("/shape/{caller}", "unexpected"),
        ("/nothing/{caller}", "http_404"),
    ],
)
async def test_a_slow_failing_or_garbled_back_end_sends_the_caller_to_an_agent(
    backend, path, outcome
):
    c = await run_call(menu(url_of(backend, path)), ["3"], queue=[ANSWERED])

    assert [
        h for h in c.heard() if h.startswith(("number", "digits"))
    ] == []  # not half an answer
    assert c.named("EXEC", "Queue") == [["EXEC", "Queue", "support,t,,,45"]]
    assert c.user_events[-1].startswith(
        f"CtiStep,Step: selfservice,Node: balance,Outcome: {outcome},"
    )
    # the pop shows the caller tried self-service first
    assert c.snapshots[0]["CTI_IVR_PATH"] == "main,balance,agent"


async def test_a_back_end_refusing_connections_is_a_fallback_too():
    c = await run_call(
        menu(f"http://127.0.0.1:{free_port()}/balance/{{caller}}"),
        ["3"],
        queue=[ANSWERED],
    )

    assert c.user_events[-1].startswith(
        "CtiStep,Step: selfservice,Node: balance,Outcome: unreachable,"
    )
    assert c.named("EXEC", "Queue")


async def test_the_authenticated_customer_number_is_sent_and_an_unauthenticated_caller_goes_to_an_agent(
    backend,
):
    url = url_of(backend, "/balance/{customer_no}")
    data = menu(url, authenticated=True)
    c = await run_call(data, ["3"], queue=[ANSWERED])
    assert c.user_events[-1].startswith(
        "CtiStep,Step: selfservice,Node: balance,Outcome: not_authenticated,"
    )
    assert backend.seen == [] and c.named("EXEC", "Queue")

    class Store:
        async def find_customer_by_phone(self, phone):
            return None

        async def verify_customer_pin(self, number, pin):
            return (number, pin) == ("C0001", "123456")

    data["nodes"]["main"]["keys"]["9"] = "verify"
    data["nodes"]["verify"] = {
        "type": "authenticate",
        "customer_prefix": "C",
        "next": "balance",
        "on_failure": "agent",
    }
    ivr = IvrServer(store=Store(), menu=parse_menu(data), host="127.0.0.1", port=0)
    await ivr.start()
    try:
        c = Caller(ivr.port, keys=["9", "0001", "123456"])
        await c.run()
    finally:
        await ivr.stop()
    assert backend.seen[0].path == "/balance/C0001"
    assert "number:1234" in c.heard()


async def test_post_sends_the_values_as_json(backend):
    c = await run_call(
        menu(url_of(backend, "/balance/x"), method="POST"), ["3"], callerid="555"
    )
    assert backend.seen[0].method == "POST"
    assert "number:1234" in c.heard()


async def test_a_caller_hanging_up_while_the_answer_is_read_ends_quietly(backend):
    ivr = IvrServer(
        menu=parse_menu(menu(url_of(backend, "/balance/{caller}"))),
        host="127.0.0.1",
        port=0,
    )
    await ivr.start()
    try:
        c = Caller(ivr.port, keys=["3"])
        c.hang_up_at_say = 1
        await c.run()
    finally:
        await ivr.stop()
    assert c.heard() == [
        "vm-youhave",
        "number:1234",
    ]  # nothing more is sent on the dead channel
    assert c.commands[-1][:2] == ["SAY", "NUMBER"] and "CTI_IVR_DONE" not in c.variables
    # the step was sent before the answer was read: the work order says the back-end answered
    assert "Outcome: ok" in c.user_events[-1]


def test_pointers_and_say_plans():
    doc = {"a": [{"b~c": 7}], "x/y": "12"}
    assert resolve(doc, "/a/0/b~0c") == 7
    assert resolve(doc, "/x~1y") == "12"
    node = load_menu_node({"pointer": "/a/0/b~0c", "as": "number"})
    assert plan(node, doc) == [("number", "7")]
    for bad in (
        {"a": [{"b~c": True}]},
        {"a": [{"b~c": None}]},
        {"a": []},
        {"a": [{"b~c": "7 OR 1"}]},
    ):
        with pytest.raises(ValueError):
            plan(node, bad)


def load_menu_node(item: dict):
    return parse_menu(menu("http://127.0.0.1:1/", say=[item])).node("balance")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"url": "ftp://x/"}, "nodes.balance.url"),
        ({"url": "http://x/{password}"}, "unknown placeholder(s) password"),
        ({"method": "DELETE"}, "nodes.balance.method"),
        ({"fallback": "nowhere"}, "nodes.balance.fallback: no node named 'nowhere'"),
        ({"next": "nowhere"}, "nodes.balance.next: no node named 'nowhere'"),
        (
            {"say": [{"pointer": "balance", "as": "number"}]},
            "nodes.balance.say[0].pointer",
        ),
        ({"say": [{"pointer": "/b", "as": "words"}]}, "nodes.balance.say[0].as"),
        ({"say": [{"pointer": "/b", "as": "prompt"}]}, "nodes.balance.say[0].prompts"),
        (
            {"say": [{"pointer": "/b", "as": "prompt", "prompts": {"x": "../etc"}}]},
            "nodes.balance.say[0].prompts.x",
        ),
        ({"timeout": 0}, "nodes.balance.timeout"),
        ({"colour": "red"}, "nodes.balance: unknown setting(s) colour"),
    ],
)
def test_a_menu_with_a_bad_self_service_node_is_refused_naming_the_node(
    change, message
):
    data = menu("http://127.0.0.1:1/{caller}")
    data["nodes"]["balance"].update(change)
    with pytest.raises(MenuError, match=re.escape(message)):
        parse_menu(data)


def test_the_shipped_menu_still_loads():
    assert load_menu().nodes
