"""The realtime overlay for Asterisk (asterisk_realtime/render.sh) and the names a person's SIP
account may not take: what a site's Asterisk is given, checked without Asterisk."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ctiserver.sipaccounts.accounts import reserved_names
from tests.support.process import ROOT

RENDER = ROOT / "asterisk_realtime" / "render.sh"


def render(dest: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run(
        ["sh", str(RENDER), str(dest)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_render_fills_the_database_and_writes_no_password(tmp_path: Path) -> None:
    done = render(
        tmp_path, PGHOST="db.example", PGDATABASE="cti_site", PGPASSWORD="s3cret"
    )
    assert done.returncode == 0, done.stderr
    pgsql = (tmp_path / "res_pgsql.conf").read_text()
    assert "dbhost = db.example" in pgsql and "dbport = 5432" in pgsql
    assert "dbname = cti_site" in pgsql and "dbuser = asterisk" in pgsql
    assert "\ndbpass =\n" in pgsql and "s3cret" not in pgsql
    ext = (tmp_path / "extconfig.conf").read_text()
    assert (
        "ps_endpoints => pgsql,cti_site" in ext
        and "ps_contacts => pgsql,cti_site" in ext
    )
    sorcery = (tmp_path / "sorcery.conf").read_text()
    lines = [
        ln.replace(" ", "") for ln in sorcery.splitlines() if ln.startswith("endpoint")
    ]
    assert lines == [  # a database row comes before pjsip.conf
        "endpoint=realtime,ps_endpoints",
        "endpoint=config,pjsip.conf,criteria=type=endpoint",
    ]
    for name in ("res_pgsql.conf", "extconfig.conf", "sorcery.conf"):
        assert "@PG" not in (tmp_path / name).read_text()


def test_render_refuses_a_value_that_would_add_to_the_connection_string(
    tmp_path: Path,
) -> None:
    for env in (
        {"PGHOST": "db host=evil"},
        {"PGHOST": "db", "PGUSER": "a\nb"},
        {"PGHOST": "db", "PGPORT": "54x"},
        {},
    ):
        done = render(tmp_path, **env)
        assert done.returncode != 0, env
        assert "render.sh:" in done.stderr
    assert not (tmp_path / "res_pgsql.conf").exists()


def test_trunks_of_pjsip_conf_are_reserved_and_agents_lab_phones_are_not(
    tmp_path: Path,
) -> None:
    names = reserved_names()
    assert {"caller", "outside", "anonymous"} <= names
    assert not {"1001", "1002", "1003", "1900"} & names
    assert reserved_names(tmp_path / "missing.conf") == {
        "caller",
        "outside",
        "anonymous",
    }
