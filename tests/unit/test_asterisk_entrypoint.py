"""docker/asterisk-entrypoint.sh: the site's Asterisk configuration laid out from asterisk_conf/ and the environment."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docker" / "asterisk-entrypoint.sh"
SITE = {"CTI_AMI_SECRET": "x", "PGHOST": "127.0.0.1", "PGPASSWORD": "pw"}


@pytest.fixture
def dst(tmp_path: Path) -> Path:
    out = tmp_path / "etc"
    out.mkdir()
    return out


def lay_out(dst: Path, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CTI_", "PG", "AMI_", "SIP_", "LAB_"))
    }
    paths = {
        "ASTERISK_CONF_SRC": str(ROOT / "asterisk_conf"),
        "ASTERISK_REALTIME_SRC": str(ROOT / "asterisk_realtime"),
        "ASTERISK_CONF_DST": str(dst),
    }
    return subprocess.run(
        ["sh", str(SCRIPT), "true"],
        capture_output=True,
        text=True,
        check=False,
        env={**base, **paths, **env},
    )


def sections(text: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("["):
            current = line.split("]")[0] + "]"
            out.setdefault(current, {})
        elif current and "=" in line and not line.startswith(";"):
            key, _, value = line.partition("=")
            out[current].setdefault(key.strip(), value.strip())
    return out


def test_ami_takes_the_sites_secret_and_admits_the_cti_host_only(dst: Path) -> None:
    done = lay_out(
        dst,
        **{
            **SITE,
            "CTI_AMI_SECRET": "s&|\\te",
            "CTI_HOST": "10.0.0.7",
            "AMI_BINDADDR": "10.0.0.2",
        },
    )
    assert done.returncode == 0, done.stderr
    manager = sections((dst / "manager.conf").read_text())
    assert manager["[general]"]["bindaddr"] == "10.0.0.2"
    assert manager["[cti]"]["secret"] == "s&|\\te"
    assert manager["[cti]"]["deny"] == "0.0.0.0/0.0.0.0"
    assert manager["[cti]"]["permit"] == "10.0.0.7/255.255.255.255"
    assert "cti-secret" not in (dst / "manager.conf").read_text()
    assert (dst / "extensions.conf").read_text() == (
        ROOT / "asterisk_conf" / "extensions.conf"
    ).read_text()


def test_sip_binds_the_site_address_without_the_labs_unauthenticated_phones(
    dst: Path,
) -> None:
    done = lay_out(dst, **SITE, SIP_BINDADDR="192.0.2.10")
    assert done.returncode == 0, done.stderr
    pjsip = (dst / "pjsip.conf").read_text()
    found = sections(pjsip)
    assert found["[transport-udp]"]["bind"] == "192.0.2.10:5060"
    for phone in ("[1001]", "[1002]", "[1003]", "[1900]"):
        assert (
            phone not in found
        )  # their rows in PostgreSQL, with a secret, are the site's phones
    assert (
        "[caller]" in found and "[agent-endpoint]" in found
    )  # the trunk and the templates stay
    kept = lay_out(dst, **SITE, LAB_PHONES="")
    assert kept.returncode == 0 and "[1001]" in sections(
        (dst / "pjsip.conf").read_text()
    )


def test_the_realtime_files_point_at_the_sites_database(dst: Path) -> None:
    done = lay_out(dst, **{**SITE, "PGHOST": "db.site", "PGUSER": "cti"})
    assert done.returncode == 0, done.stderr
    pg = sections((dst / "res_pgsql.conf").read_text())["[general]"]
    assert pg["dbhost"] == "db.site" and pg["dbuser"] == "cti"
    assert (
        "pw" not in (dst / "res_pgsql.conf").read_text()
    )  # the password stays in the environment
    assert "realtime,ps_endpoints" in (dst / "sorcery.conf").read_text()


@pytest.mark.parametrize(
    "env,named",
    [
        ({"PGHOST": "db"}, "CTI_AMI_SECRET"),
        ({"CTI_AMI_SECRET": "x"}, "PGHOST"),
        ({**SITE, "CTI_AMI_SECRET": "x y"}, "CTI_AMI_SECRET"),
    ],
)
def test_a_missing_or_unusable_setting_stops_the_start_naming_it(
    dst: Path, env: dict, named: str
) -> None:
    done = lay_out(dst, **env)
    assert done.returncode != 0
    assert named in done.stderr


def test_the_browser_phones_websocket_gets_tls_with_the_sites_certificate(
    tmp_path: Path, dst: Path
) -> None:
    conf, tls = tmp_path / "conf", tmp_path / "tls"
    shutil.copytree(ROOT / "asterisk_conf", conf)
    if not (
        conf / "http.conf"
    ).exists():  # the lab's file, when the browser phone has not brought one
        (conf / "http.conf").write_text(
            "[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = 8088\n"
        )
    tls.mkdir()
    (tls / "fullchain.pem").write_text("CERT")
    (tls / "privkey.pem").write_text("KEY")
    done = lay_out(
        dst,
        **SITE,
        ASTERISK_CONF_SRC=str(conf),
        ASTERISK_TLS_SRC=str(tls),
        WSS_BINDADDR="192.0.2.10",
    )
    assert done.returncode == 0, done.stderr
    general = sections((dst / "http.conf").read_text())["[general]"]
    assert general["tlsenable"] == "yes" and general["tlsbindaddr"] == "192.0.2.10:8089"
    assert Path(general["tlsprivatekey"]).read_text() == "KEY"
    assert Path(general["tlscertfile"]).read_text() == "CERT"
