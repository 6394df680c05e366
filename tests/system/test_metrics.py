"""GET /metrics: what an operator graphs, in Prometheus text format, true to what happened."""

from __future__ import annotations

from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.support.calls import answered_call, panels, ready


async def scrape(stack: Any) -> dict[tuple[str, tuple], float]:
    async with aiohttp.ClientSession() as http, http.get(stack.url + "metrics") as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_follow_a_call_an_agent_and_the_writes(stack: Any) -> None:
    before = await scrape(stack)
    assert before[("cti_ami_link_up", ())] == 1.0
    async with panels(stack, "1001", "1900") as p:
        await ready(p["1001"], "1001")
        _, linkedid = await answered_call(stack, p["1001"], hangup_after_answer=60)
        await stack.core.settled()
        await stack.store.flush()
        now = await scrape(stack)
        assert now[("cti_calls", (("state", "answered"),))] == 1.0
        assert now[("cti_agents", (("state", "on_call"),))] == 1.0
        assert now[("cti_pops_sent_total", ())] == before.get(("cti_pops_sent_total", ()), 0.0) + 1
        assert now[("cti_ami_events_total", (("event", "AgentConnect"),))] >= 1
        assert now[("cti_websocket_clients", ())] == 2.0
        assert now[("cti_db_ops_written_total", ())] > before.get(("cti_db_ops_written_total", ()), 0.0)
        assert now[("cti_db_write_seconds_count", ())] >= 1
        assert now[("cti_journal_depth", ())] == 0.0
        assert ("cti_event_loop_lag_seconds", ()) in now
