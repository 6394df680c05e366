"""A stalled FastAGI IVR does not keep its callers: it exits, and the dialplan queues them.

The real ``python -m ivr`` process blocks its loop in the first caller's session
(tests/support/stalling_ivr.py); its watchdog ends it after ``ivr.stall_exit_seconds``; the
simulator, like Asterisk (tests/integration/test_ivr_fallbacks_asterisk.py), sees the AGI
socket close, returns from AGI() without CTI_IVR_DONE, and asterisk_conf's ``[ivr]`` sends
the caller to ``failsafe``: the queue, where agent 1001 answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from tests.conformance.test_agi_ivr import free_port, run_call
from tests.support.process import ROOT, wait_for_line


async def test_a_stalled_ivr_exits_and_its_caller_is_queued_and_answered() -> None:
    port = free_port()
    env = {**os.environ, "CTI_LOG_FORMAT": "json", "CTI_IVR_STALL_EXIT_SECONDS": "1", "CTI_DB_DSN": ""}
    ivr = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.stalling_ivr", "--port", str(port), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        seen = await wait_for_line(ivr, "ivr_ready")
        got, _, call = await run_call(port, keys="")
        code = await asyncio.wait_for(ivr.wait(), 30)
        seen += [line.decode() for line in (await ivr.stderr.read()).splitlines()]
    finally:
        if ivr.returncode is None:
            ivr.kill()
            await ivr.wait()
    assert code == 70
    stalled = [json.loads(line) for line in seen if '"ivr_stalled"' in line]
    assert stalled and stalled[0]["level"] == "critical"
    assert call.answered_by == "PJSIP/1001"
    caller = call.channel.name
    sets = [(h.get("Variable"), h.get("Value")) for h in got
            if h.get("Event") == "VarSet" and h.get("Channel") == caller]
    # FAILURE: the IVR had not read what the simulator sent, so the kernel reset the socket as the process ended
    assert [v for k, v in sets if k == "AGISTATUS"] in (["SUCCESS"], ["FAILURE"])
    assert ("CTI_IVR_PATH", "failsafe") in sets
    joined = [h for h in got if h.get("Event") == "QueueCallerJoin" and h.get("Channel") == caller]
    assert [h.get("Queue") for h in joined] == ["support"]
