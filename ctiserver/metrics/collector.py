"""The server's metrics, on a registry of its own (prometheus-client).

Counted as things happen: AMI events by name, screen-pops sent, PostgreSQL write batches
and their latency. Read at scrape time: the AMI link, calls and agents by state, the
journal's depth, websocket clients. The event loop's lag is sampled by a small task: it is
how late a timer fires, the delay every AMI event and HTTP request waits on top of its work.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter as Tally
from typing import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ctiserver.agents.book import AgentBook
from ctiserver.calls import model as cm
from ctiserver.calls.tracker import CallTracker
from ctiserver.calls.views import call_view

LAG_SAMPLE_SECONDS = 0.5


class _Live(Collector):
    """Gauges computed when Prometheus scrapes, from the live state (nothing kept twice)."""

    def __init__(self, tracker: CallTracker, book: AgentBook, ami_up: Callable[[], bool],
                 journal_depth: Callable[[], int], websockets: Callable[[], int], events: Tally) -> None:
        self.tracker, self.book = tracker, book
        self.ami_up, self.journal_depth, self.websockets = ami_up, journal_depth, websockets
        self.events = events

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        counted = CounterMetricFamily("cti_ami_events", "AMI events received, by name", labels=["event"])
        for name, n in sorted(self.events.items()):
            counted.add_metric([name], n)
        yield counted
        yield GaugeMetricFamily("cti_ami_link_up", "1 while the AMI link to Asterisk is up and resynced",
                                value=1.0 if self.ami_up() else 0.0)
        calls = GaugeMetricFamily("cti_calls", "live calls by state", labels=["state"])
        now = time.time()
        by_state = Tally(call_view(c, {}, now)["state"] for c in self.tracker.calls.values())
        for state in ("ivr", "queued", "ringing", "answered", "held"):
            calls.add_metric([state], by_state.get(state, 0))
        yield calls
        agents = GaugeMetricFamily("cti_agents", "agents by state", labels=["state"])
        for state, n in sorted(Tally(state.value for _, _, state, _ in self.book.states()).items()):
            agents.add_metric([state], n)
        yield agents
        yield GaugeMetricFamily("cti_journal_depth", "writes waiting for PostgreSQL (kept in the journal)",
                                value=self.journal_depth())
        yield GaugeMetricFamily("cti_websocket_clients", "panels connected to the push hub", value=self.websockets())


class Metrics:
    def __init__(self, tracker: CallTracker, book: AgentBook, *, ami_up: Callable[[], bool],
                 journal_depth: Callable[[], int], websockets: Callable[[], int]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # AMI events by name, counted in a plain tally read at scrape time: an event costs one
        # dict increment instead of a labelled child's lookup and lock (thousands a second).
        self.events: Tally = Tally()
        self.pops = Counter("cti_pops_sent", "screen-pops sent to a rung agent's panel", registry=self.registry)
        self.db_writes = Histogram("cti_db_write_seconds", "time to commit one batch of writes to PostgreSQL",
                                   registry=self.registry,
                                   buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.db_ops = Counter("cti_db_ops_written", "work-order and agent-log writes committed", registry=self.registry)
        self.lag = Gauge("cti_event_loop_lag_seconds", "how late a timer fired on the server's event loop "
                         f"(sampled every {LAG_SAMPLE_SECONDS}s)", registry=self.registry)
        self.registry.register(_Live(tracker, book, ami_up, journal_depth, websockets, self.events))
        self._is_agent = book.is_agent_endpoint

    def on_raw_event(self, name: str) -> None:
        self.events[name] += 1

    def on_call_event(self, ce: object) -> None:
        if isinstance(ce, cm.CallRinging) and self._is_agent(ce.interface):
            self.pops.inc()

    def on_db_batch(self, ops: int, seconds: float) -> None:
        self.db_ops.inc(ops)
        self.db_writes.observe(seconds)

    async def sample_lag(self) -> None:
        """Runs for the server's life: the lag of a timer asked for every half second."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(LAG_SAMPLE_SECONDS)
            self.lag.set(max(0.0, loop.time() - asked - LAG_SAMPLE_SECONDS))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
