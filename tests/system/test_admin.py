"""Administration through the whole server (real PostgreSQL, the simulator over AMI, the web API):
the first admin made by the CLI (a subprocess), people created and edited with their bad input,
an agent disabled while signed in, versions, the audit, busy reasons, queue settings, CSV import."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from tests.conftest import running, stack_config
from tests.support.process import ROOT


async def cli(dsn: str, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ctiserver",
        "admin",
        *args,
        cwd=ROOT,
        env={**os.environ, "CTI_DB_DSN": dsn},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


def one_time(out: str) -> str:
    return out.strip().rsplit(": ", 1)[1]


async def send(
    client: Any, method: str, path: str, payload: Any = None, **kw: Any
) -> tuple[int, dict]:
    async with client.http.request(method, client.base + path, json=payload, **kw) as r:
        return r.status, await r.json()


async def first_admin(dsn: str, client: Any, login: str = "root") -> None:
    """The CLI's admin signs in with the one-time password and changes it as the panel forces."""
    code, out, err = await cli(dsn, "create", "--login", login, "--role", "admin")
    assert code == 0, err
    await client.login(login, one_time(out))
    status, body = await client.get("/api/account/password")
    assert status == 200 and body["must_change"] is True
    status, body = await client.get(
        "/api/agents"
    )  # nothing else until the password is changed
    assert status == 403 and body["error"]["code"] == "password_change_required", body
    status, body = await client.post(
        "/api/account/password",
        {"current_password": one_time(out), "new_password": "root"},
    )
    assert status == 400 and body["error"]["field"] == "new_password", body
    status, body = await client.post(
        "/api/account/password",
        {"current_password": one_time(out), "new_password": "a-Long-pass-2026"},
    )
    assert status == 200, body
    assert (await client.get("/api/account/password"))[1]["must_change"] is False


async def test_cli_makes_the_first_admin_and_says_one_line_on_errors(
    db_dsn: str,
) -> None:
    code, out, err = await cli(db_dsn, "create", "--login", "root", "--role", "admin")
    assert code == 0, err
    assert "one-time password for root" in out and len(one_time(out)) >= 10
    code, out, err = await cli(db_dsn, "create", "--login", "root", "--role", "admin")
    assert (
        code == 5 and out == "" and err.strip().count("\n") == 0 and "login" in err
    ), err
    code, _, err = await cli(db_dsn, "create", "--login", "bad\nlogin")
    assert code == 2 and "login" in err and "Traceback" not in err, err
    code, _, err = await cli(db_dsn, "reset-password", "--login", "nobody")
    assert code == 5 and "nobody" in err, err
    code, out, err = await cli(db_dsn, "reset-password", "--login", "root")
    assert code == 0 and "one-time password for root" in out, err
    code, _, err = await cli(
        "postgresql://nobody@127.0.0.1:1/none", "create", "--login", "x"
    )
    assert code == 4 and err.startswith("ctiserver admin: PostgreSQL unreachable"), err


async def test_admin_api_people_bad_input_disable_while_signed_in_and_audit(
    db_dsn: str, tmp_path: Path
) -> None:
    async with running(
        stack_config(db_dsn, tmp_path)
    ) as stack:  # demo seed: 1001..1003, supervisor 1900
        await stack.core.link_ready.wait()
        admin, agent, sup = stack.client(), stack.client(), stack.client()
        try:
            await first_admin(db_dsn, admin)
            await agent.login("1001")
            await sup.login("1900")
            await sup.connect()
            status, body = await agent.post(
                "/api/admin/people", {"login": "x1", "name": "X", "role": "agent"}
            )
            assert status == 403, body
            status, body = await sup.get("/api/admin/people")
            assert status == 403, body

            new = {
                "login": "2001",
                "name": "赵六 Zhao Liu",
                "role": "agent",
                "interface": "PJSIP/2001",
                "queues": {"support": 2},
            }
            for bad, field in (
                ({"password": "short"}, "password"),
                ({"password": "my-2001-password"}, "password"),
                ({"password": "password123"}, "password"),
                ({"role": "boss"}, "role"),
                ({"queues": {"nowhere": 0}}, "queues"),
                ({"interface": "PJSIP/1\r\n"}, "interface"),
                ({"login": "1001"}, "login"),
                ({"interface": "PJSIP/1001"}, "interface"),
                ({"role": "handler"}, "department"),
            ):
                status, body = await admin.post("/api/admin/people", {**new, **bad})
                assert status in (400, 409) and body["error"]["field"] == field, (
                    bad,
                    body,
                )
            assert (await admin.get("/api/admin/people", q="2001"))[1][
                "people"
            ] == []  # nothing half-created

            status, body = await admin.post("/api/admin/people", new)
            assert status == 201 and body["one_time_password"], body
            person = body["person"]
            assert (
                person["queues"] == {"support": 2}
                and person["must_change_password"] is True
            )
            status, body = await admin.post("/api/admin/people", new)
            assert status == 409 and body["error"]["field"] == "login", body

            # optimistic versions: the loser gets 409, nothing changed
            status, body = await send(
                admin, "PATCH", "/api/admin/people/2001", {"name": "Zhao", "version": 1}
            )
            assert status == 200 and body["person"]["version"] == 2, body
            status, body = await send(
                admin,
                "PATCH",
                "/api/admin/people/2001",
                {"name": "Other", "version": 1},
            )
            assert status == 409 and body["error"]["field"] == "version", body
            assert (await admin.get("/api/admin/people/2001"))[1]["person"][
                "name"
            ] == "Zhao"

            # 1001 signed in to the queue with a panel open; disabled: out of the queue, panel closed
            await agent.connect()
            status, body = await agent.post("/api/agent/state", {"state": "ready"})
            assert status in (200, 202), body
            await sup.expect(
                "agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready"
            )
            version = (await admin.get("/api/admin/people/1001"))[1]["person"][
                "version"
            ]
            status, body = await admin.post(
                "/api/admin/people/1001/disable", {"version": version + 5}
            )
            assert status == 409, body
            status, body = await admin.post(
                "/api/admin/people/1001/disable", {"version": version}
            )
            assert status == 200 and body["person"]["disabled"] is True, body
            await sup.expect(
                "agent_state",
                lambda d: d["id"] == "1001" and d["state"] == "logged_out",
            )
            assert (
                stack.sim.queues.memberships("PJSIP/1001") == []
            )  # QueueRemove reached the PBX
            await asyncio.wait_for(
                agent._reader, 15
            )  # the server closed the panel's websocket
            status, body = await agent.get("/api/me")
            assert status == 401, body
            relog = stack.client()
            async with relog.http.post(
                relog.base + "/api/login", json={"login": "1001", "password": "1001"}
            ) as r:
                assert r.status == 401
            await relog.close()
            # the freed extension cannot be taken back by re-enabling while another person holds it
            status, body = await admin.post(
                "/api/admin/people",
                {
                    "login": "2002",
                    "name": "Y",
                    "role": "agent",
                    "interface": "PJSIP/1001",
                    "password": "Another-pass-77",
                },
            )
            assert status == 201, body
            status, body = await admin.post(
                "/api/admin/people/1001/enable", {"version": version + 1}
            )
            assert status == 409 and body["error"]["field"] == "interface", body

            status, body = await admin.get("/api/admin/audit")
            actions = [(e["action"], e["target"], e["actor"]) for e in body["entries"]]
            assert ("person.create", "root", "cli") in actions and (
                "person.disable",
                "1001",
                "root",
            ) in actions
            upd = next(e for e in body["entries"] if e["action"] == "person.update")
            assert (
                upd["before"]["name"] == "赵六 Zhao Liu"
                and upd["after"]["name"] == "Zhao"
            )
            assert "Another-pass-77" not in str(body) and "password_hash" not in str(
                body
            )
        finally:
            for c in (admin, agent, sup):
                await c.close()


async def test_busy_reasons_queue_settings_and_csv_import(
    db_dsn: str, tmp_path: Path
) -> None:
    async with running(stack_config(db_dsn, tmp_path)) as stack:
        await stack.core.link_ready.wait()
        admin, agent = stack.client(), stack.client()
        try:
            await first_admin(db_dsn, admin)
            status, body = await send(
                admin,
                "PUT",
                "/api/admin/busy-reasons",
                {"reasons": ["lunch", "training"]},
            )
            assert status == 200, body
            status, body = await send(
                admin, "PUT", "/api/admin/busy-reasons", {"reasons": ["bad|one"]}
            )
            assert status == 400 and body["error"]["field"] == "reasons[0]", body
            await agent.login("1001")
            await agent.connect()
            status, body = await agent.post("/api/agent/state", {"state": "ready"})
            assert status in (200, 202), body
            await agent.expect(
                "agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready"
            )
            status, body = await agent.post(
                "/api/agent/state", {"state": "not_ready", "reason": "toilet"}
            )
            assert status == 400 and body["error"]["field"] == "reason", (
                body
            )  # not among the admin's reasons
            status, body = await agent.post(
                "/api/agent/state", {"state": "not_ready", "reason": "training"}
            )
            assert status in (200, 202), body
            await agent.expect(
                "agent_state", lambda d: d["id"] == "1001" and d["state"] == "not_ready"
            )

            status, body = await send(
                admin,
                "PUT",
                "/api/admin/queues/sales",
                {"wrapup_seconds": 30, "service_level_seconds": 20, "recording": True},
            )
            assert status == 200 and body["queue"]["version"] == 1, body
            assert stack.app.book.wrapup_for("sales") == 30.0
            status, body = await send(
                admin,
                "PUT",
                "/api/admin/queues/sales",
                {"wrapup_seconds": 0, "service_level_seconds": 20},
            )
            assert status == 409, body
            status, body = await send(
                admin,
                "PUT",
                "/api/admin/queues/sales",
                {"wrapup_seconds": 5, "service_level_seconds": 20, "version": 1},
            )
            assert status == 200 and stack.app.book.wrapup_for("sales") == 5.0, body

            bad = (
                "login,name,role,department,interface,queues,password\n"
                "3001,A,agent,,PJSIP/3001,support:1,Good-pass-Alpha\n"
                "3002,B,boss,,PJSIP/3002,,Good-pass-Beta\n"
                "3001,C,agent,,PJSIP/3003,,Good-pass-Gamma\n"
                "1002,D,agent,,PJSIP/3004,,Good-pass-Delta\n"
                "3005,E,agent,,PJSIP/3005,,3005\n"
                "3006,F,agent,,PJSIP/3001,,Good-pass-Omega\n"
                "3007,G,handler,audit,,,\n"
            )
            async with admin.http.post(
                admin.base + "/api/admin/people/import",
                data=bad.encode(),
                headers={"Content-Type": "text/csv"},
            ) as r:
                status, body = r.status, await r.json()
            assert status == 422 and body["imported"] == 0, body
            assert [(e["line"], e["field"]) for e in body["errors"]] == [
                (3, "role"),
                (4, "login"),
                (5, "login"),
                (6, "password"),
                (7, "interface"),
            ], body
            assert (await admin.get("/api/admin/people", q="300"))[1][
                "people"
            ] == []  # none imported
            good = "\n".join(bad.splitlines()[i] for i in (0, 1, 7)) + "\n"
            async with admin.http.post(
                admin.base + "/api/admin/people/import",
                data=good.encode(),
                headers={"Content-Type": "text/csv"},
            ) as r:
                status, body = r.status, await r.json()
            assert status == 201 and body["imported"] == 2, body
            handler = next(p for p in body["people"] if p["login"] == "3007")
            assert handler["department"] == "audit" and handler["one_time_password"]
            other = stack.client()
            await other.login("3001", "Good-pass-Alpha")
            await other.close()
            async with admin.http.post(
                admin.base + "/api/admin/people/import", json={"x": 1}
            ) as r:
                assert r.status == 415  # text/csv only
        finally:
            for c in (admin, agent):
                await c.close()


async def test_a_person_disabled_while_asterisk_is_away_is_signed_out_when_it_is_back(
    db_dsn: str, tmp_path: Path
) -> None:
    async with running(stack_config(db_dsn, tmp_path)) as stack:
        sim, core = stack.sim, stack.core
        await core.link_ready.wait()
        admin, agent, sup = stack.client(), stack.client(), stack.client()
        try:
            await first_admin(db_dsn, admin)
            await agent.login("1002")
            await sup.login("1900")
            await sup.connect()
            status, body = await agent.post("/api/agent/state", {"state": "ready"})
            assert status in (200, 202), body
            await sup.expect(
                "agent_state", lambda d: d["id"] == "1002" and d["state"] == "ready"
            )
            version = (await admin.get("/api/admin/people/1002"))[1]["person"][
                "version"
            ]

            mark = len(sup.received)
            await sim.ami_down()
            await sup.expect("link", lambda d: d["ami"] is False, after=mark)
            status, body = await admin.post(
                "/api/admin/people/1002/disable", {"version": version}
            )
            assert status == 200 and body["person"]["disabled"] is True, (
                body
            )  # stored; the PBX told later
            assert sim.queues.memberships(
                "PJSIP/1002"
            )  # Asterisk could not be told yet
            await sim.ami_up()
            await sup.expect(
                "agent_state",
                lambda d: d["id"] == "1002" and d["state"] == "logged_out",
                after=mark,
            )
            assert sim.queues.memberships("PJSIP/1002") == []

            mark = len(sup.received)
            await (
                sim.restart()
            )  # Asterisk restarts: the stored sign-ins are restored, not this one
            await sup.expect("link", lambda d: d["ami"] is True, after=mark, timeout=20)
            await asyncio.wait_for(core.settled(), 20)
            assert sim.queues.memberships("PJSIP/1002") == []
            assert "1002" not in {s.agent_id for s in await stack.store.list_signins()}
        finally:
            for c in (admin, agent, sup):
                await c.close()
