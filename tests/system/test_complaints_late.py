"""Complaint thresholds read late: a complaint written up while PostgreSQL is away, in a day that
ends before PostgreSQL is back, still raises that day's warning once it is back, marked late.

PostgreSQL is the real one, behind a TCP proxy the test takes down and brings back."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ctiserver.agents.passwords import hash_password
from tests.conftest import running, stack_config
from tests.support.calls import panels
from tests.support.tcpproxy import TcpProxy

ADMIN = "9000"


@pytest.fixture
async def pg_proxy(db_dsn: str) -> AsyncIterator[TcpProxy]:
    parts = urlsplit(db_dsn)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.stop()


async def test_a_day_that_ended_while_postgresql_was_away_is_judged_when_it_is_back(
    db_dsn: str, pg_proxy: TcpProxy, tmp_path: Path
) -> None:
    parts = urlsplit(db_dsn)
    via_proxy = parts._replace(
        netloc=f"{parts.username}@127.0.0.1:{pg_proxy.port}"
    ).geturl()
    async with running(stack_config(via_proxy, tmp_path)) as stack:
        await stack.core.link_ready.wait()
        secret = await asyncio.to_thread(hash_password, ADMIN)
        await stack.store.upsert_agents([(ADMIN, "Admin", "admin", secret, "", {})])
        watch = stack.app.complaints
        async with panels(stack, "1001", "1900", ADMIN) as p:
            agent, boss, admin = p["1001"], p["1900"], p[ADMIN]
            status, t = await admin.post(
                "/api/complaints/thresholds",
                {
                    "name": "Any complaint today",
                    "measure": "count",
                    "period": "day",
                    "limit": 1,
                },
            )
            assert status == 201, t
            await watch.idle()

            await pg_proxy.stop()  # PostgreSQL goes away
            status, body = await agent.post(
                "/api/workorders",
                {
                    "channel": "letter",
                    "category": "complaint",
                    "subcategory": "fees",
                    "request": "Charged twice",
                },
            )
            assert status == 202 and body["saved"] == "journal", body
            wo = body["workorder"]
            status, body = await agent.post(
                f"/api/workorders/{wo['ref']}/submit",
                {"version": wo["version"], "resolved": False, "department": "cards"},
            )
            assert status == 202 and body["saved"] == "journal", body
            today = watch.now()
            # The day ends while PostgreSQL is still away: the watch's clock is now tomorrow.
            watch.now = lambda: today + dt.timedelta(days=1)
            assert not [
                m
                for m in boss.of_type("notice")
                if m.get("kind") == "complaint_warning"
            ]

            await (
                pg_proxy.start()
            )  # back: the journal is written, the ended day is read
            notice = await boss.expect(
                "notice", lambda d: d.get("kind") == "complaint_warning", timeout=45
            )
            warning = notice["warning"]
            start = dt.datetime.fromisoformat(warning["period_start"])
            end = dt.datetime.fromisoformat(warning["period_end"])
            assert start <= today < end, warning  # yesterday, as the watch sees it now
            assert warning["late"] is True and warning["complaints"] == 1, warning
            assert dt.datetime.fromisoformat(warning["raised_at"]) >= end

            status, listed = await boss.get("/api/complaints/warnings")
            assert status == 200, listed
            assert [(w["id"], w["late"]) for w in listed["warnings"]] == [
                (warning["id"], True)
            ]
