"""docker/asterisk-entrypoint.sh: the site's Asterisk configuration laid out from asterisk_conf/ and the environment."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docker" / "asterisk-entrypoint.sh"


@pytest.fixture
def conf(tmp_path: Path) -> tuple[Path, Path]:
    src, dst = tmp_path / "src", tmp_path / "dst"
    shutil.copytree(
        ROOT / "asterisk_conf", src, ignore=shutil.ignore_patterns("realtime")
    )
    (src / "realtime").mkdir()
    (src / "realtime" / "res_pgsql.conf").write_text(
        "[general]\ndbhost = ${CTI_PG_HOST}\ndbpass = ${CTI_PG_PASSWORD}\n; Asterisk's own: ${EXTEN}\n"
    )
    dst.mkdir()
    return src, dst


def lay_out(src: Path, dst: Path, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CTI_", "PG", "AMI_", "SIP_"))
    }
    return subprocess.run(
        ["sh", str(SCRIPT), "true"],
        capture_output=True,
        text=True,
        check=False,
        env={
            **base,
            "ASTERISK_CONF_SRC": str(src),
            "ASTERISK_CONF_DST": str(dst),
            **env,
        },
    )


def section(text: str, name: str) -> dict[str, str]:
    out, current = {}, None
    for line in text.splitlines():
        if line.startswith("["):
            current = line.split("]")[0] + "]"
        elif current == name and "=" in line and not line.startswith(";"):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), value.strip())
    return out


def test_ami_takes_the_sites_secret_and_admits_the_cti_host_only(
    conf: tuple[Path, Path],
) -> None:
    src, dst = conf
    done = lay_out(
        src,
        dst,
        CTI_AMI_SECRET="s&|\\te",
        CTI_HOST="10.0.0.7",
        AMI_BINDADDR="10.0.0.2",
        CTI_PG_HOST="127.0.0.1",
        CTI_PG_PASSWORD="p&|\\w",
    )
    assert done.returncode == 0, done.stderr
    manager = (dst / "manager.conf").read_text()
    assert section(manager, "[general]")["bindaddr"] == "10.0.0.2"
    cti = section(manager, "[cti]")
    assert cti["secret"] == "s&|\\te"
    assert (
        cti["deny"] == "0.0.0.0/0.0.0.0" and cti["permit"] == "10.0.0.7/255.255.255.255"
    )
    assert "cti-secret" not in manager
    assert (
        "bind = 0.0.0.0:5060" in (dst / "pjsip.conf").read_text()
    )  # SIP_BINDADDR's default
    assert (dst / "extensions.conf").read_text() == (
        src / "extensions.conf"
    ).read_text()


def test_the_realtime_overlay_gets_the_database_settings(
    conf: tuple[Path, Path],
) -> None:
    src, dst = conf
    done = lay_out(
        src, dst, CTI_AMI_SECRET="x", CTI_PG_HOST="db.site", CTI_PG_PASSWORD="p&|\\w"
    )
    assert done.returncode == 0, done.stderr
    text = (dst / "res_pgsql.conf").read_text()
    assert "dbhost = db.site" in text and "dbpass = p&|\\w" in text
    assert "${EXTEN}" in text  # Asterisk's own variables are left alone


@pytest.mark.parametrize(
    "env,named",
    [
        ({"CTI_PG_HOST": "db", "CTI_PG_PASSWORD": "p"}, "CTI_AMI_SECRET"),
        ({"CTI_AMI_SECRET": "x", "CTI_PG_HOST": "db"}, "CTI_PG_PASSWORD"),
        (
            {"CTI_AMI_SECRET": "x y", "CTI_PG_HOST": "db", "CTI_PG_PASSWORD": "p"},
            "CTI_AMI_SECRET",
        ),
    ],
)
def test_a_missing_or_unusable_setting_stops_the_start_naming_it(
    conf: tuple[Path, Path], env: dict, named: str
) -> None:
    src, dst = conf
    done = lay_out(src, dst, **env)
    assert done.returncode != 0
    assert named in done.stderr
