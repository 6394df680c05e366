"""The simulator's view of the PJSIP realtime table (features/realtime.py), as Asterisk's sorcery
sees it with the realtime wizard first: a row adds an endpoint or replaces pjsip.conf's of the
same name, a row gone takes it away (pjsip.conf's is back), and the device says so."""

from __future__ import annotations

from pbxsim.confparse import Endpoint
from pbxsim.features.realtime import RealtimeEndpoints, endpoint_of
from pbxsim.kernel.kernel import Kernel
from pbxsim.sim import SimConfig
from tests.support.process import ROOT


def kernel() -> Kernel:
    return Kernel(SimConfig(conf_dir=str(ROOT / "asterisk_conf")))


def test_rows_add_replace_and_remove_endpoints() -> None:
    k = kernel()
    seen: list[tuple[str, str]] = []
    k.devices.listeners.append(lambda dev, state: seen.append((dev, state)))
    lab_1001 = k.endpoints["1001"]
    rt = RealtimeEndpoints(k, "postgresql://unused")
    rows = {
        "2004": endpoint_of(
            {"id": "2004", "context": "agents", "callerid": '"Dana Lee" <2004>'}
        ),
        "1001": endpoint_of({"id": "1001", "context": "supervisor", "callerid": None}),
    }
    rt.apply(rows)
    assert k.endpoints["2004"] == Endpoint("2004", "agents", "Dana Lee", "2004")
    assert k.endpoints["1001"].context == "supervisor"  # the row comes first
    assert ("PJSIP/2004", "NOT_INUSE") in seen

    rt.apply({"1001": rows["1001"]})
    assert "2004" not in k.endpoints
    assert k.devices.get("PJSIP/2004") == "INVALID"
    rt.apply({})
    assert k.endpoints["1001"] == lab_1001  # pjsip.conf's again
    assert rt.loads == 3
