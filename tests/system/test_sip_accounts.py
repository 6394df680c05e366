"""SIP accounts through the whole server (real PostgreSQL, the simulator reading the PJSIP realtime
tables over AMI, the web API): an agent created by the admin has an endpoint Asterisk would read,
a secret shown once and stored only as its digest, is dialable in the simulator and takes a queue
call; a reset secret drops the old registration; disabling removes the endpoint (not dialable);
bad input leaves nothing half-created."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import asyncpg

from tests.conftest import running, stack_config
from tests.support.wait import eventually
from tests.system.test_admin import cli, first_admin, one_time, send

NEW = {
    "login": "2004",
    "name": "Dana Lee",
    "role": "agent",
    "interface": "PJSIP/2004",
    "queues": {"support": 0},
    "password": "Correct-Horse-77",
}


async def rows(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def realtime_of(dsn: str, username: str) -> dict[str, Any]:
    """What Asterisk would read of ``username`` from the realtime tables."""
    out: dict[str, Any] = {}
    for table in ("ps_endpoints", "ps_auths", "ps_aors"):
        found = await rows(dsn, f"SELECT * FROM {table} WHERE id = $1", username)
        out[table] = dict(found[0]) if found else None
    out["contacts"] = [
        dict(r)
        for r in await rows(
            dsn, "SELECT * FROM ps_contacts WHERE endpoint = $1", username
        )
    ]
    return out


async def register(dsn: str, username: str) -> None:
    """A registration as Asterisk stores it (sorcery contact=realtime)."""
    await rows(
        dsn,
        "INSERT INTO ps_contacts (id, uri, expiration_time, endpoint, user_agent, reg_server) "
        "VALUES ($1, $2, 4102444800, $3, 'SIPp', '')",
        f"{username};@abc",
        f"sip:{username}@192.0.2.7:5062",
        username,
    )


async def test_an_agent_made_by_the_admin_has_a_phone_that_takes_a_queue_call(
    db_dsn: str, tmp_path: Path
) -> None:
    from pbxsim.scripts import CallerScript, Phone

    async with running(stack_config(db_dsn, tmp_path)) as stack:
        await stack.core.link_ready.wait()
        sim = stack.sim
        admin, agent, boss = stack.client(), stack.client(), stack.client()
        try:
            await first_admin(db_dsn, admin)
            status, body = await admin.post("/api/admin/people", NEW)
            assert status == 201, body
            sip = body["person"]["sip"]
            assert sip["username"] == "2004" and len(sip["secret"]) >= 20, sip
            shown = sip["secret"]
            rt = await realtime_of(db_dsn, "2004")
            ep, auth, aor = rt["ps_endpoints"], rt["ps_auths"], rt["ps_aors"]
            assert ep["aors"] == "2004" and ep["auth"] == "2004", ep
            assert ep["context"] == "agents" and ep["callerid"] == '"Dana Lee" <2004>'
            assert (ep["direct_media"], ep["rtp_symmetric"], ep["force_rport"]) == (
                "no",
                "yes",
                "yes",
            )
            assert (ep["rewrite_contact"], ep["disallow"], ep["allow"]) == (
                "yes",
                "all",
                "ulaw,alaw",
            )
            assert (aor["max_contacts"], aor["remove_existing"]) == (1, "yes")
            digest = hashlib.md5(f"2004:{auth['realm']}:{shown}".encode()).hexdigest()
            assert auth["auth_type"] == "digest" and auth["md5_cred"] == digest
            assert auth["password"] is None  # the secret itself is nowhere
            audit = (await admin.get("/api/admin/audit", target="2004"))[1]["entries"]
            assert [e["action"] for e in audit][:2] == ["sip.create", "person.create"]
            assert shown not in json.dumps(audit)

            # the simulator reads the same account: the new agent takes a queue call
            await eventually(
                lambda: "2004" in sim.endpoints, what="endpoint 2004 in pbxsim"
            )
            assert sim.endpoints["2004"].cid_name == "Dana Lee"
            await agent.login("2004", NEW["password"])
            await agent.connect()
            await boss.login("1900", "1900")
            status, body = await agent.post("/api/agent/state", {"state": "ready"})
            assert status in (200, 202), body
            await agent.expect(
                "agent_state", lambda d: d["id"] == "2004" and d["state"] == "ready"
            )
            sim.set_phone("2004", Phone(answer_after=0.5))
            call = await sim.place_call(
                CallerScript(
                    number="13800138000",
                    name="Zhang Wei",
                    dtmf=((1.5, "1"),),
                    hangup_after_answer=1.0,
                )
            )
            await agent.expect(
                "agent_state",
                lambda d: d["id"] == "2004" and d["state"] == "on_call",
            )
            await call.ended()
            assert call.answered_by == "PJSIP/2004"

            status, body = await admin.get("/api/admin/sip-accounts", login="2004")
            assert status == 200 and body["accounts"][0]["registered"] is False, body
            await register(db_dsn, "2004")
            status, body = await admin.get("/api/admin/sip-accounts")
            [acct] = [a for a in body["accounts"] if a["login"] == "2004"]
            assert acct["registered"] and acct["contacts"][0]["user_agent"] == "SIPp"

            # a new secret: shown once, the old digest gone, the phone registered with it dropped
            status, body = await admin.post("/api/admin/people/2004/sip-secret", {})
            assert status == 200 and body["sip"]["secret"] != shown, body
            rt = await realtime_of(db_dsn, "2004")
            assert (
                rt["ps_auths"]["md5_cred"]
                == hashlib.md5(
                    f"2004:asterisk:{body['sip']['secret']}".encode()
                ).hexdigest()
            )
            assert rt["contacts"] == []
            audit = (await admin.get("/api/admin/audit", target="2004"))[1]["entries"]
            assert audit[0]["action"] == "sip.secret_reset"
            assert body["sip"]["secret"] not in json.dumps(audit)

            # disabled: no endpoint, auth, AOR or registration left; pbxsim cannot ring it
            await register(db_dsn, "2004")
            version = (await admin.get("/api/admin/people/2004"))[1]["person"][
                "version"
            ]
            status, body = await admin.post(
                "/api/admin/people/2004/disable", {"version": version}
            )
            assert status == 200, body
            rt = await realtime_of(db_dsn, "2004")
            assert rt == {
                "ps_endpoints": None,
                "ps_auths": None,
                "ps_aors": None,
                "contacts": [],
            }
            await eventually(
                lambda: "2004" not in sim.endpoints,
                what="endpoint 2004 gone from pbxsim",
            )
            assert sim.kernel.devices.get("PJSIP/2004") == "INVALID"
            status, body = await admin.post("/api/admin/people/2004/sip-secret", {})
            assert status == 409 and body["error"]["field"] == "login", body

            # enabled again: a new account, its secret shown in the answer
            status, body = await admin.post(
                "/api/admin/people/2004/enable", {"version": version + 1}
            )
            assert status == 200 and body["person"]["sip"]["username"] == "2004", body
            await eventually(lambda: "2004" in sim.endpoints, what="endpoint 2004 back")
        finally:
            for c in (admin, agent, boss):
                await c.close()


async def test_bad_input_leaves_no_account_and_no_person(
    db_dsn: str, tmp_path: Path
) -> None:
    async with running(stack_config(db_dsn, tmp_path)) as stack:
        await stack.core.link_ready.wait()
        admin, agent = stack.client(), stack.client()
        try:
            await first_admin(db_dsn, admin)
            # an endpoint someone else put in the table (not a person's): the same username is refused
            await rows(
                db_dsn,
                "INSERT INTO ps_endpoints (id, context) VALUES ('2050', 'agents')",
            )
            for bad, status_code, field in (
                ({"interface": "PJSIP/2050"}, 409, "interface"),
                (
                    {"interface": "PJSIP/caller"},
                    409,
                    "interface",
                ),  # the carrier's trunk
                ({"interface": "PJSIP/20\r\n50"}, 400, "interface"),
                ({"name": "Dana\r\nLee"}, 400, "name"),
                ({"login": "x\r\ny"}, 400, "login"),
                ({"interface": "PJSIP/2050@trunk"}, 400, "interface"),
            ):
                status, body = await admin.post(
                    "/api/admin/people", {**NEW, "login": "2051", **bad}
                )
                assert status == status_code and body["error"]["field"] == field, (
                    bad,
                    body,
                )
            status, _ = await admin.get("/api/admin/people/2051")
            assert status == 404  # nothing half-created
            ids = await rows(db_dsn, "SELECT id FROM ps_endpoints ORDER BY id")
            assert [r["id"] for r in ids] == ["2050"]
            assert await rows(db_dsn, "SELECT * FROM agent_sip_accounts") == []

            # two people, one extension: the second is refused, whichever way it is asked
            status, body = await admin.post(
                "/api/admin/people",
                {
                    **{k: v for k, v in NEW.items() if k != "interface"},
                    "login": "dana",
                    "password": "Correct-Horse-78",
                },
            )
            assert status == 201, body
            assert (
                body["person"]["interface"] == "PJSIP/dana"
            )  # given the login as extension
            assert body["person"]["sip"]["username"] == "dana"
            status, body = await admin.post(
                "/api/admin/people",
                {**NEW, "login": "2052", "interface": "PJSIP/dana"},
            )
            assert status == 409 and body["error"]["field"] == "interface", body

            # a back-office handler has no phone; becoming an agent gives one, edits keep it
            status, body = await admin.post(
                "/api/admin/people",
                {
                    "login": "h1",
                    "name": "Hana",
                    "role": "handler",
                    "department": "billing",
                    "password": "Correct-Horse-79",
                },
            )
            assert status == 201 and "sip" not in body["person"], body
            status, body = await send(
                admin,
                "PATCH",
                "/api/admin/people/h1",
                {"role": "agent", "interface": "PJSIP/2060", "version": 1},
            )
            assert status == 200 and body["person"]["sip"]["username"] == "2060", body
            status, body = await send(
                admin,
                "PATCH",
                "/api/admin/people/h1",
                {"name": "Hana Ito", "version": body["person"]["version"]},
            )
            assert status == 200 and "sip" not in body["person"], body
            ep = (await realtime_of(db_dsn, "2060"))["ps_endpoints"]
            assert ep["callerid"] == '"Hana Ito" <2060>'
            # a new extension: the old account gone, a new one with a new secret
            status, body = await send(
                admin,
                "PATCH",
                "/api/admin/people/h1",
                {"interface": "PJSIP/2061", "version": body["person"]["version"]},
            )
            assert status == 200 and body["person"]["sip"]["username"] == "2061", body
            assert (await realtime_of(db_dsn, "2060"))["ps_endpoints"] is None

            # only an admin; a person unknown
            await agent.login("1001")
            status, body = await agent.post("/api/admin/people/h1/sip-secret", {})
            assert status == 403, body
            status, body = await agent.get("/api/admin/sip-accounts")
            assert status == 403, body
            status, body = await admin.post("/api/admin/people/nobody/sip-secret", {})
            assert status == 404 and body["error"]["field"] == "login", body
            status, body = await admin.post("/api/admin/people/root/sip-secret", {})
            assert status == 409 and body["error"]["code"] == "no_sip_account", body

            # CSV import: a row whose phone would be a trunk is reported by line, nothing imported;
            # imported agents' SIP secrets are in the report, once
            header = "login,name,role,department,interface,queues,password\n"
            csv = header + (
                "3001,A,agent,,PJSIP/3001,support:1,Good-pass-Alpha\n"
                "3002,B,agent,,PJSIP/outside,,Good-pass-Beta\n"
            )
            headers = {"Content-Type": "text/csv"}
            status, body = await send(
                admin, "POST", "/api/admin/people/import", data=csv, headers=headers
            )
            assert status == 422 and body["imported"] == 0, body
            assert (
                body["errors"]
                == [
                    {
                        "line": 3,
                        "field": "interface",
                        "message": body["errors"][0]["message"],
                    }
                ]
                and "trunk" in body["errors"][0]["message"]
            ), body
            assert (await admin.get("/api/admin/people/3001"))[0] == 404
            status, body = await send(
                admin,
                "POST",
                "/api/admin/people/import",
                data=header + "3001,A,agent,,PJSIP/3001,support:1,Good-pass-Alpha\n",
                headers=headers,
            )
            assert status == 201 and body["people"][0]["sip"]["username"] == "3001", (
                body
            )
            secret = body["people"][0]["sip"]["secret"]
            assert (await realtime_of(db_dsn, "3001"))["ps_auths"]["md5_cred"] == (
                hashlib.md5(f"3001:asterisk:{secret}".encode()).hexdigest()
            )

            # a person from before SIP accounts (the demo seed's 1001): the first "reset" makes one
            assert (await realtime_of(db_dsn, "1001"))["ps_endpoints"] is None
            status, body = await admin.post("/api/admin/people/1001/sip-secret", {})
            assert status == 200 and body["sip"]["username"] == "1001", body
            first = body["sip"]["secret"]
            ep = (await realtime_of(db_dsn, "1001"))["ps_endpoints"]
            assert ep["context"] == "agents" and ep["auth"] == "1001", ep
            status, body = await admin.post("/api/admin/people/1001/sip-secret", {})
            assert status == 200 and body["sip"]["secret"] != first, body
            actions = [
                e["action"]
                for e in (await admin.get("/api/admin/audit", target="1001"))[1][
                    "entries"
                ]
            ]
            assert actions[:2] == ["sip.secret_reset", "sip.create"], actions
        finally:
            await admin.close()
            await agent.close()


async def test_an_agent_made_by_the_cli_gets_a_sip_account_too(db_dsn: str) -> None:
    code, out, err = await cli(db_dsn, "create", "--login", "2010", "--role", "agent")
    assert code == 0, err
    sip_line, password_line = out.strip().splitlines()
    assert sip_line.startswith("SIP account 2010 (realm asterisk)"), out
    secret = sip_line.rsplit(": ", 1)[1]
    assert one_time(out) != secret and "one-time password for 2010" in password_line
    auth = (await realtime_of(db_dsn, "2010"))["ps_auths"]
    assert (
        auth["md5_cred"] == hashlib.md5(f"2010:asterisk:{secret}".encode()).hexdigest()
    )
    code, out, err = await cli(db_dsn, "create", "--login", "root", "--role", "admin")
    assert code == 0 and "SIP" not in out, out  # an admin has no phone
