"""The day's figures PostgreSQL counts are exactly the pure functions', on random days.

The pure functions are the specification: ``queue_days`` over ``with_callbacks`` (the queues'
day), ``intervals`` (the wall's chart), ``callback_figures`` and ``survey_figures``. Hypothesis
draws a day of work orders, callbacks and survey steps, writes them into a real PostgreSQL, and
compares what ``StatsService`` serves (one row per queue or interval, counted by SQL) with what
the pure functions give over every row read back, field for field and float for float: calls on
the service-level threshold and one microsecond either side of it, on an interval's edge and
the day's, still waiting, without a queue, called back and connected, still open or failed.

The store runs on a loop in a thread of its own (hypothesis drives a plain function); each
example empties the tables first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctiserver.callbacks import model as m
from ctiserver.callbacks.figures import callback_figures, with_callbacks
from ctiserver.callbacks.figures import empty as no_callbacks
from ctiserver.callbacks.repo import CallbackRepo
from ctiserver.stats import (
    StatsService,
    agent_queries,
    day_bounds,
    day_queries,
    queue_days,
)
from ctiserver.stats.agents import MISSED_WHY
from ctiserver.stats.surveys import empty as no_surveys
from ctiserver.stats.surveys import survey_figures
from ctiserver.store import Store
from ctiserver.wallboard.figures import intervals
from tests.adapters.store.conftest import FAST
from tests.support.postgres import drop_database, fresh_database

DAY = dt.date(2026, 11, 20)
START, END = day_bounds(DAY)
QUEUES = ("support", "vip")  # configured: listed even without calls
US = dt.timedelta(microseconds=1)
MINUTES = 15
CHART_START = START + dt.timedelta(
    hours=6
)  # the wall's chart: some hours of the day, to a moment not on an edge
CHART_END = START + dt.timedelta(hours=10, minutes=7, seconds=3, microseconds=250)


class Db:
    """A migrated Store on a fresh database, on a loop in its own thread."""

    def __init__(self, pg_dsn: str, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self._open(pg_dsn, tmp))

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _open(self, pg_dsn: str, tmp: Path) -> None:
        self.dsn = await fresh_database(pg_dsn)
        self.store = await Store.open(
            self.dsn, journal_path=str(tmp / "journal.jsonl"), **FAST
        )
        await self.store.migrate()

    async def _close(self) -> None:
        await self.store.close()
        await drop_database(self.dsn)

    def close(self) -> None:
        self.run(self._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def db(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    d = Db(pg_dsn, tmp_path_factory.mktemp("day-queries"))
    try:
        yield d
    finally:
        d.close()


def moments(
    base: dt.datetime, edges: list[dt.datetime]
) -> st.SearchStrategy[dt.datetime]:
    """Instants of the day (to the microsecond), often exactly on an edge or one microsecond off it."""
    edge = st.sampled_from(edges)
    return st.one_of(
        st.integers(-3_600_000_000, 25 * 3_600_000_000).map(lambda us: base + us * US),
        st.tuples(edge, st.sampled_from([-1, 0, 0, 1])).map(lambda e: e[0] + e[1] * US),
    )


EDGES = [START, END, CHART_START, CHART_END] + [
    CHART_START + k * dt.timedelta(minutes=MINUTES) for k in range(1, 17)
]
instants = moments(START, EDGES)
SL = 20.0
waits = st.one_of(
    st.none(),
    st.sampled_from([SL, 20, SL - 0.001, 0.0, 0.05, 0.15, 0.25, 19.9995]),
    st.just(SL).map(lambda w: w + 1e-9),
    st.floats(0, 900, allow_nan=False, allow_infinity=False),
    st.integers(0, 900_000).map(lambda ms: ms / 1000),
)
order = st.fixed_dictionaries(
    {
        "queue": st.sampled_from(["support", "support", "vip", "sales", "", None]),
        "disposition": st.sampled_from(
            [None, "answered", "abandoned", "no_agent", "voicemail", "transferred"]
        ),
        "created_at": instants,
        "answered": st.booleans(),
        "ended": st.booleans(),
        "wait_seconds": waits,
        "talk_seconds": st.one_of(
            st.none(),
            st.floats(0, 3600, allow_nan=False),
            st.integers(0, 3_600_000).map(lambda ms: ms / 1000),
        ),
    }
)
callback = st.fixed_dictionaries(
    {
        "call": st.integers(
            0, 15
        ),  # the index of the work order it was asked from (past the list: none)
        "queue": st.sampled_from(["support", "vip", "sales"]),
        "state": st.sampled_from(m.STATES),
        "requested_at": moments(
            START - dt.timedelta(days=1), [START - dt.timedelta(days=1), START, END]
        ),
        "joined_before": st.integers(0, 600_000_000),  # microseconds before the request
        "answered_after": st.one_of(
            st.integers(0, 900_000_000),
            st.sampled_from([500, 1500, 19_999_500, 20_000_500]),
        ),
    }
)
survey = st.fixed_dictionaries(
    {
        "queue": st.sampled_from(["support", "vip", "", None]),
        "agent": st.sampled_from(["1001", "1002", "", None]),
        "outcome": st.sampled_from(["rated", "rated", "no_key", "hangup"]),
        "rating": st.one_of(st.none(), st.integers(1, 5), st.integers(6, 12)),
        "at": moments(START, [START, END]),
    }
)

ring = st.fixed_dictionaries(
    {
        "agent": st.sampled_from(["1001", "1002", "", None]),
        "interface": st.sampled_from(
            ["PJSIP/1001", "PJSIP/1003", "PJSIP/9999", "", None]
        ),
        "why": st.sampled_from(
            ["no_answer", "declined", "answered_elsewhere", "caller_left_queue", None]
        ),
        "at": moments(START, [START, END]),
    }
)
BY_INTERFACE = {"PJSIP/1001": "1001", "PJSIP/1003": "1003"}


async def write_day(
    store: Store,
    orders: list[dict],
    callbacks: list[dict],
    surveys: list[dict],
    rings: list[dict] = (),
) -> None:
    await store.execute("TRUNCATE work_orders, callbacks CASCADE")
    rows = []
    for i, o in enumerate(orders):
        c = o["created_at"]
        rows.append(
            (
                f"call-{i}",
                o["queue"],
                o["disposition"],
                c,
                c + dt.timedelta(seconds=5) if o["answered"] else None,
                c + dt.timedelta(seconds=60) if o["ended"] else None,
                o["wait_seconds"],
                o["talk_seconds"],
                c,
            )
        )
    await store.run(
        lambda conn: conn.executemany(
            "INSERT INTO work_orders (linkedid, queue, disposition, created_at, answered_at, ended_at, wait_seconds, "
            "talk_seconds, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            rows,
        )
    )
    cbs = []
    for i, cb in enumerate(callbacks):
        requested = (
            cb["requested_at"] + i * US
        )  # distinct: of two for one call, the later one counts
        joined = requested - cb["joined_before"] * US
        cbs.append(
            (
                f"cb-{i}",
                cb["queue"],
                "13500000000",
                joined,
                requested,
                f"call-{cb['call']}" if cb["call"] % 7 else "",
                cb["state"],
                joined + cb["answered_after"] * US,
            )
        )
    await store.run(
        lambda conn: conn.executemany(
            "INSERT INTO callbacks (id, queue, number, joined_at, requested_at, linkedid, state, updated_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            cbs,
        )
    )
    steps = []
    for s in surveys:
        data = {
            k: s[k] for k in ("queue", "agent", "outcome", "rating") if s[k] is not None
        }
        steps.append((uuid.uuid4(), "call-0", "survey", s["at"], data))
    for r in rings:
        data = {k: r[k] for k in ("agent", "interface", "why") if r[k] is not None}
        steps.append((uuid.uuid4(), "call-0", "ring_ended", r["at"], data))
    if steps and orders:
        await store.run(
            lambda conn: conn.executemany(
                "INSERT INTO work_order_events (op_id, linkedid, kind, at, data) VALUES ($1, $2, $3, $4, $5)",
                steps,
            )
        )


def missed_spec(ring_ends: list[Any]) -> dict[str, int]:
    """Missed rings per agent as the all-agents figures counted them from every ring of the day."""
    missed: dict[str, int] = {}
    for r in ring_ends:
        who = r.agent_id or BY_INTERFACE.get(r.interface or "")
        if who and r.why in MISSED_WHY:
            missed[who] = missed.get(who, 0) + 1
    return missed


async def both(store: Store, sl: float) -> tuple[dict, dict]:
    """(the pure functions over every row, what the service serves): queues, chart, agents' surveys."""
    stats = StatsService(
        store, service_level_seconds=sl, queues=QUEUES, clock=lambda: END
    )
    orders = await store.work_orders_between(START, END)
    cbs = await CallbackRepo(store).between(START - dt.timedelta(days=1), END)
    steps = await store.events_of_kinds(("survey",), START, END, limit=1_000_000)
    by_queue = survey_figures(steps, "queue")
    asked = callback_figures(
        cb for cb in cbs if START.timestamp() <= cb.requested_at < END.timestamp()
    )
    spec = {
        "queues": [
            {
                **q.to_json(),
                "survey": by_queue.get(q.queue, no_surveys()),
                "callbacks": asked.get(q.queue, no_callbacks()),
            }
            for q in queue_days(with_callbacks(orders, cbs), QUEUES, sl)
        ],
        "chart": intervals(
            await store.work_orders_between(CHART_START, CHART_END),
            CHART_START,
            CHART_END,
            MINUTES,
            sl,
        ),
        "agents": survey_figures(steps, "agent"),
        "missed": missed_spec(await store.ring_ends(START, END)),
    }
    served = {
        "queues": (await stats.queues_day(DAY))["queues"],
        "chart": await stats.intervals(CHART_START, CHART_END, MINUTES),
        "agents": await day_queries.survey_counts(store, START, END, "agent"),
        "missed": await agent_queries.missed_by_agent(store, START, END, BY_INTERFACE),
    }
    return spec, served


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    orders=st.lists(order, max_size=60),
    callbacks=st.lists(callback, max_size=12),
    surveys=st.lists(survey, max_size=10),
    rings=st.lists(ring, max_size=10),
    sl=st.sampled_from([SL, 20, 0, 19.9995]),
)
def test_postgresql_counts_the_day_as_the_pure_functions_do(
    db: Db,
    orders: list[dict],
    callbacks: list[dict],
    surveys: list[dict],
    rings: list[dict],
    sl: float,
) -> None:
    db.run(write_day(db.store, orders, callbacks, surveys, rings))
    spec, served = db.run(both(db.store, sl))
    assert served["queues"] == spec["queues"]
    assert [repr(q) for q in served["queues"]] == [
        repr(q) for q in spec["queues"]
    ]  # 20 vs 20.0, -0.0 vs 0.0
    assert served["chart"] == spec["chart"]
    assert served["agents"] == spec["agents"]
    assert served["missed"] == spec["missed"]


def test_a_busy_queue_s_figures_and_its_callbacks(db: Db) -> None:
    """One day written out by hand, the figures a supervisor reads: checks the property test's ground."""
    at = START + dt.timedelta(hours=9)
    orders = [
        {
            "queue": "support",
            "disposition": "answered",
            "created_at": at,
            "answered": True,
            "ended": True,
            "wait_seconds": 20.0,
            "talk_seconds": 100.0,
        },  # on the threshold: within
        {
            "queue": "support",
            "disposition": "answered",
            "created_at": at + US,
            "answered": True,
            "ended": True,
            "wait_seconds": 20.001,
            "talk_seconds": 200.0,
        },  # past it
        {
            "queue": "support",
            "disposition": "abandoned",
            "created_at": at + 2 * US,
            "answered": False,
            "ended": True,
            "wait_seconds": 95.0,
            "talk_seconds": None,
        },  # called back, connected 30.0005 s after joining
        {
            "queue": "support",
            "disposition": None,
            "created_at": at + 3 * US,
            "answered": False,
            "ended": False,
            "wait_seconds": None,
            "talk_seconds": None,
        },  # still waiting
        {
            "queue": None,
            "disposition": "answered",
            "created_at": at,
            "answered": True,
            "ended": True,
            "wait_seconds": 1.0,
            "talk_seconds": 10.0,
        },  # no queue: counted nowhere
    ]
    cbs = [
        {
            "call": 2,
            "queue": "support",
            "state": m.CONNECTED,
            "requested_at": at + dt.timedelta(seconds=95),
            "joined_before": 95_000_000,
            "answered_after": 30_000_500,
        }
    ]
    db.run(write_day(db.store, orders, cbs, []))
    spec, served = db.run(both(db.store, SL))
    support = next(q for q in served["queues"] if q["queue"] == "support")
    assert {
        k: support[k]
        for k in (
            "offered",
            "answered",
            "abandoned",
            "waiting",
            "answered_within_sl",
            "service_level_pct",
            "avg_wait_seconds",
            "max_wait_seconds",
            "avg_handle_seconds",
        )
    } == {
        "offered": 4,
        "answered": 3,
        "abandoned": 0,
        "waiting": 1,
        "answered_within_sl": 1,
        "service_level_pct": 33.3,
        "avg_wait_seconds": 23.3,
        "max_wait_seconds": 30.0,  # (20 + 20.001 + 30.001) / 3
        "avg_handle_seconds": 150.0,
    }
    assert support["callbacks"] == {
        "requested": 1,
        "connected": 1,
        "waiting": 0,
        "failed": 0,
    }
    assert [q["queue"] for q in served["queues"]] == ["support", "vip"]
    assert served == spec


def test_sums_in_the_calls_order_the_last_callback_asked_and_waits_to_the_millisecond(
    db: Db,
) -> None:
    """The cases random days seldom meet: waits added in another order round differently (0.9 s, not
    1.0), two callbacks asked for one call (the later one counts), a connected callback's wait rounded
    half up to the millisecond on each side of the threshold."""
    at = START + dt.timedelta(hours=11)

    def answered(offset: int, wait: float | None, queue: str = "vip") -> dict:
        return {
            "queue": queue,
            "disposition": "answered",
            "created_at": at + offset * US,
            "answered": True,
            "ended": True,
            "wait_seconds": wait,
            "talk_seconds": 1.0,
        }

    def abandoned(offset: int) -> dict:
        return {
            "queue": "support",
            "disposition": "abandoned",
            "created_at": at + offset * US,
            "answered": False,
            "ended": True,
            "wait_seconds": 50.0,
            "talk_seconds": None,
        }

    # written (and so scanned) in the reverse of the calls' order
    orders = [
        answered(3, 1.133),
        answered(2, 1.505),
        answered(1, 0.212),
        abandoned(4),
        abandoned(5),
        abandoned(6),
        abandoned(7),
    ]

    def cb(call: int, state: str, asked: int, after_us: int) -> dict:
        return {
            "call": call,
            "queue": "support",
            "state": state,
            "requested_at": at + dt.timedelta(seconds=asked),
            "joined_before": 0,
            "answered_after": after_us,
        }

    cbs = [
        cb(3, m.FAILED, 60, 0),
        cb(3, m.CONNECTED, 120, 20_000_500),  # 20.0005 s: 20.001, past 20
        cb(4, m.CONNECTED, 60, 19_999_500),
        cb(4, m.FAILED, 120, 0),  # the later one failed: abandoned
        cb(5, m.CONNECTED, 60, 19_999_500),  # 19.9995 s: 20.000, within
        cb(6, m.PENDING, 60, 0),
    ]  # still to be called back: waiting
    db.run(write_day(db.store, orders, cbs, []))
    spec, served = db.run(both(db.store, SL))
    assert served == spec
    vip, support = (
        next(q for q in served["queues"] if q["queue"] == name)
        for name in ("vip", "support")
    )
    assert (
        vip["avg_wait_seconds"] == 0.9
    )  # (0.212 + 1.505 + 1.133) / 3 added in that order; the other way: 1.0
    assert {
        k: support[k]
        for k in ("offered", "answered", "abandoned", "waiting", "answered_within_sl")
    } == {
        "offered": 4,
        "answered": 2,
        "abandoned": 1,
        "waiting": 1,
        "answered_within_sl": 1,
    }
    assert support["max_wait_seconds"] == 50.0 and support["avg_wait_seconds"] == 20.0
