"""The whole server against a real Asterisk with SIPp parties (traces 23 and 24's scenarios):
the post-call survey after the agent hangs up first (Queue option c) and on the agent's button
(Redirect to cti-ivr,survey,1), each rating on the call's work order; a voicemail left in the
IVR listed, played from Asterisk's spool, claimed. What is checked is what a user would see:
the work order's steps, the voicemail list, the sound file, and no channel left up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import running, stack_config
from tests.integration.conftest import HOST, PORT, SECRET, USER
from tests.integration.test_asterisk import IVR_PORT, SIPP, _listening
from tests.integration.test_call_control_asterisk import (
    _hang_up_everything,
    _ready,
    _until,
)
from tests.integration.test_supervision_asterisk import Parties, _signed_in, _workorder
from tests.support.traces import OWN_TRACES

TRACES = Path(OWN_TRACES)
SPOOL = "/opt/asterisk-run/spool/voicemail"  # the lab Asterisk's (asterisk.conf astspooldir)
MENU = """name = "hotline"
start = "main"

[nodes.main]
type = "menu"
prompt = "beep"
keys = { "1" = "support", "2" = "voicemail" }

[nodes.support]
type = "queue"
queue = "support"
options = "tc"
after_agent = "survey"
fallback = ["voicemail"]

[nodes.voicemail]
type = "voicemail"
mailbox = "2000@default"
options = "su"

[nodes.survey]
type = "survey"
prompt = "beep"
timeout = 6.0
"""

needs_local_asterisk = pytest.mark.skipif(
    not SIPP or HOST not in ("127.0.0.1", "localhost"),
    reason="needs sipp and an Asterisk on this machine (its SIP is bound to 127.0.0.1)",
)


class Scenarios(Parties):
    async def play(self, name: str, port: str, caller: bool = False) -> None:
        where = ["127.0.0.1:5060"] if caller else []
        await self.start(
            *where, "-sf", str(TRACES / f"{name}.xml"), "-i", "127.0.0.1", "-p", port
        )


def _config(db_dsn: str, tmp_path: Path):
    if _listening(IVR_PORT):
        pytest.skip(
            f"something already listens on the IVR port {IVR_PORT}; this test runs its own server's IVR"
        )
    menu = tmp_path / "hotline.toml"
    menu.write_text(MENU)
    return stack_config(
        db_dsn,
        tmp_path,
        **{
            "ami.host": HOST,
            "ami.port": PORT,
            "ami.username": USER,
            "ami.secret": SECRET,
            "ivr.port": IVR_PORT,
            "ivr.menu_file": str(menu),
            "voicemail.spool_dir": SPOOL,
        },
    )


def survey_steps(wo: dict) -> list[dict]:
    return [e["data"] for e in wo["events"] if e["kind"] == "survey"]


@needs_local_asterisk
@pytest.mark.timeout(150)
async def test_survey_after_the_agent_hangs_up_and_on_the_agents_button(
    db_dsn: str, tmp_path: Path
) -> None:
    parties = Scenarios()
    async with running(_config(db_dsn, tmp_path), seed=True) as stack:
        await stack.core.link_ready.wait()
        await _hang_up_everything(stack)
        (agent,) = await _signed_in(stack, "1001")
        try:
            # A: 1001 hangs up 3 s after answering; Queue(support,tc) lets the caller go on to the survey
            await _ready(agent, "1001")
            await parties.play("23_survey_uas_1001_hangs_up", "5011")
            await parties.play("23_survey_uac_caller_A", "5061", caller=True)
            pop = await agent.expect("call_ringing", timeout=30)
            ended = await agent.expect(
                "call_ended", lambda d: d["linkedid"] == pop["linkedid"], timeout=40
            )
            await _until(
                stack,
                lambda cs: cs == [],
                "no channel left after the survey",
                timeout=30,
            )
            wo = await _workorder(stack, agent, ended["workorder_ref"])
            assert survey_steps(wo) == [
                {
                    "outcome": "rated",
                    "rating": 4,
                    "scale": 5,
                    "agent": "1001",
                    "queue": "support",
                }
            ]
            assert wo["agent_id"] == "1001" and wo["disposition"] == "answered"
            await parties.stop()
            parties.procs.clear()

            # B: the agent's survey button while talking: the caller is Redirected, 1001's leg released
            await agent.expect(
                "agent_state",
                lambda d: d["id"] == "1001" and d["state"] == "wrap_up",
                timeout=10,
            )
            await _ready(agent, "1001")
            mark = len(
                agent.received
            )  # what call B brings (call A's pushes are in the list too)
            await parties.play("23_survey_uas_1001", "5011")
            await parties.play("23_survey_uac_caller_B", "5061", caller=True)
            pop = await agent.expect("call_ringing", timeout=30, after=mark)
            await agent.expect(
                "agent_state",
                lambda d: d["id"] == "1001" and d["state"] == "on_call",
                timeout=30,
                after=mark,
            )
            status, body = await agent.post(
                f"/api/calls/{pop['linkedid']}/ivr", {"node": "survey"}
            )
            assert status == 202, body
            await _until(
                stack,
                lambda cs: (
                    not [c for c in cs if c["Channel"].startswith("PJSIP/1001-")]
                ),
                "1001's leg released",
                timeout=10,
            )
            await _until(
                stack,
                lambda cs: cs == [],
                "no channel left after the survey",
                timeout=30,
            )
            wo = await _workorder(stack, agent, pop["workorder_ref"])
            assert survey_steps(wo) == [
                {
                    "outcome": "rated",
                    "rating": 5,
                    "scale": 5,
                    "agent": "1001",
                    "queue": "support",
                }
            ]
            assert [e["data"]["node"] for e in wo["events"] if e["kind"] == "ivr"] == [
                "survey"
            ]
            await agent.post("/api/agent/state", {"state": "logged_out"})
        finally:
            await _hang_up_everything(stack)
            await agent.close()
            await parties.stop()


@needs_local_asterisk
@pytest.mark.timeout(120)
async def test_a_voicemail_left_on_asterisk_is_listed_playable_and_claimed(
    db_dsn: str, tmp_path: Path
) -> None:
    parties = Scenarios()
    async with running(_config(db_dsn, tmp_path), seed=True) as stack:
        await stack.core.link_ready.wait()
        await _hang_up_everything(stack)
        agent, other = await _signed_in(stack, "1001", "1002")
        try:
            await parties.play("24_voicemail_uac_caller_A", "5061", caller=True)
            vm = await agent.expect("voicemail", timeout=40)
            await _until(stack, lambda cs: cs == [], "the caller gone", timeout=20)
            assert vm["caller_number"] == "caller" and vm["mailbox"] == "2000@default"
            assert vm["seconds"] and vm["seconds"] >= 1 and vm["msg"].startswith("msg")
            async with agent.http.get(
                f"{agent.base}/api/voicemails/{vm['id']}/audio"
            ) as r:
                assert (
                    r.status == 200 and (await r.read())[:4] == b"RIFF"
                )  # Asterisk's own WAV
            status, body = await agent.post(f"/api/voicemails/{vm['id']}/claim", {})
            assert status == 200 and body["claimed_by"] == "1001"
            status, body = await other.post(f"/api/voicemails/{vm['id']}/claim", {})
            assert status == 409 and body["error"]["code"] == "claimed"
            status, body = await agent.post(
                f"/api/voicemails/{vm['id']}/outcome", {"outcome": "reached"}
            )
            assert status == 200 and not body["open"]
        finally:
            await _hang_up_everything(stack)
            await agent.close()
            await other.close()
            await parties.stop()
