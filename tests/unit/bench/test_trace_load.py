"""The scale benchmark's load source sends each session what Asterisk would: its filter's
decision, taken once per replayed event when the event's template alone decides, is the one
the filter gives every call's own text."""

from __future__ import annotations

from pathlib import Path

from bench.trace_load import Session, call_templates, counted_pct, pct
from pbxsim.ami.filters import SessionFilter, for_user, parse_filter

REPO = Path(__file__).resolve().parents[3]
SHIPPED = (REPO / "asterisk_conf" / "manager.conf").read_text(encoding="utf-8")


def _call(n: int, agent: str) -> dict[str, str]:
    return {"cch": f"{2 * n:08x}", "ach": f"{2 * n + 1:08x}", "cu": f"1796000000.{2 * n}",
            "au": f"1796000000.{2 * n + 1}", "br": f"bridge-{n}", "agent": agent, "aname": f"Agent {agent}",
            "cnum": f"1390000{n:04d}", "cname": f"Caller {n}", "interface": f"PJSIP/{agent}",
            "paused": "0", "preason": "", "login": "1796000000"}


def _session(text_filter) -> Session:
    s = Session(writer=None, totals={})  # type: ignore[arg-type] - offers only queue text
    s.filter, s.logged_in = text_filter, True
    return s


def _replay(s: Session, calls: list[dict[str, str]]) -> list[list[str]]:
    """What the session is given of each call, through the source's per-template path."""
    tpl = call_templates()
    out = []
    for call in calls:
        for i, t in enumerate(tpl):
            s.offer_template(i, t, f"{t.head}Timestamp: 1.0\r\n{t.body.format_map(call)}")
        out.append(list(s.pending))
        s.pending.clear()
    return out


def test_the_cti_user_gets_what_its_eventfilters_allow_for_every_call() -> None:
    calls = [_call(n, agent) for n, agent in enumerate(("2000", "2001", "2002"))]
    fast = _replay(_session(for_user(SHIPPED, "cti")), calls)
    tpl = call_templates()
    careful = for_user(SHIPPED, "cti")
    for call, sent in zip(calls, fast, strict=True):
        texts = [f"{t.head}Timestamp: 1.0\r\n{t.body.format_map(call)}" for t in tpl]
        assert sent == [x for t, x in zip(tpl, texts, strict=True) if careful.allows(t.name, t.privilege, x)]
    assert 0 < len(fast[0]) < len(tpl)  # the filter drops some events and keeps others


def test_a_filter_on_a_per_call_value_is_decided_for_each_call() -> None:
    """Only the agent 2001's ring passes: the decision depends on the call, never cached."""
    f = SessionFilter(read=for_user(SHIPPED, "cti").read)
    f.add(parse_filter("eventfilter(action(include),name(AgentCalled),header(Interface),method(exact))", "PJSIP/2001"))
    sent = _replay(_session(f), [_call(0, "2000"), _call(1, "2001"), _call(2, "2002")])
    assert [len(x) for x in sent] == [0, 1, 0]
    assert "Interface: PJSIP/2001" in sent[1][0]


def test_lateness_percentiles_from_counts_equal_those_of_the_values() -> None:
    values = [0.1, 0.1, 0.3, 2.5, 2.5, 2.5, 7.0, 40.2, 0.0, 1.1]
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    for p in (0, 50, 90, 99, 100):
        assert counted_pct(counts, p) == pct(values, p)
