"""docker-compose.yml for a site, as `docker compose config` resolves it (no engine needed).

What it must hold: every secret from the environment (none written in the file, a missing
one refused by name), Asterisk's spool shared read-only with the server at the paths its
settings read recordings and voicemail from, the realtime overlay mounted, the server in
production mode with settings its own start check accepts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

from ctiserver import config as config_mod
from ctiserver import security

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SITE = {
    "CTI_PG_PASSWORD": "pg-Site-7x2",
    "CTI_AMI_SECRET": "ami-Site-9k4",
    "CTI_HTTP_SESSION_SECRET": "s" * 16 + "Q" * 16,
    "CTI_HOST": "10.20.0.5",
}


def compose_command() -> list[str]:
    """`docker compose` (the plugin) or the older `docker-compose`; skipped when neither is installed."""
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip(
        "neither `docker compose` nor `docker-compose` is installed: the compose file is not validated"
    )


def resolve(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    empty = tmp_path / "empty.env"  # never a developer's own .env beside the file
    empty.write_text("")
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CTI_", "SIP_", "AMI_"))
    }
    return subprocess.run(
        [*compose_command(), "--env-file", str(empty), "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        env={**clean, **env},
        check=False,
        cwd=ROOT,
    )


@pytest.fixture
def site(tmp_path: Path) -> dict:
    done = resolve(tmp_path, SITE)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)["services"]


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def mounts(service: dict) -> list[dict]:
    """Volumes in long form: {type, source, target, read_only}."""
    out = []
    for v in service.get("volumes") or []:
        if isinstance(v, str):
            source, target, *mode = v.split(":")
            out.append(
                {"source": source, "target": target, "read_only": mode == ["ro"]}
            )
        else:
            out.append(
                {
                    "source": v.get("source"),
                    "target": v["target"],
                    "read_only": bool(v.get("read_only")),
                }
            )
    return out


def test_recordings_and_voicemail_are_read_from_asterisks_own_spool(site: dict) -> None:
    (ast_spool,) = [
        m for m in mounts(site["asterisk"]) if m["source"] == "asterisk-spool"
    ]
    (cti_spool,) = [
        m for m in mounts(site["ctiserver"]) if m["source"] == "asterisk-spool"
    ]
    assert cti_spool["read_only"] and not ast_spool["read_only"]
    env = env_of(site["ctiserver"])
    for setting, asterisk_dir in (
        ("CTI_CALLCENTER_RECORDINGS_DIR", "/var/spool/asterisk/monitor"),
        ("CTI_VOICEMAIL_SPOOL_DIR", "/var/spool/asterisk/voicemail"),
    ):
        # the same file inside the shared volume, seen from each container
        inside = PurePosixPath(asterisk_dir).relative_to(ast_spool["target"])
        assert (
            PurePosixPath(env[setting]) == PurePosixPath(cti_spool["target"]) / inside
        ), setting


def test_secrets_come_from_the_environment_and_agree_between_services(
    site: dict,
) -> None:
    cti, ast, pg = (
        env_of(site["ctiserver"]),
        env_of(site["asterisk"]),
        env_of(site["postgres"]),
    )
    assert cti["CTI_AMI_SECRET"] == ast["CTI_AMI_SECRET"] == SITE["CTI_AMI_SECRET"]
    assert pg["POSTGRES_PASSWORD"] == ast["PGPASSWORD"] == SITE["CTI_PG_PASSWORD"]
    for name in ("ctiserver", "ivr"):
        assert f":{SITE['CTI_PG_PASSWORD']}@" in env_of(site[name])["CTI_DB_DSN"]
    assert cti["CTI_HTTP_SESSION_SECRET"] == SITE["CTI_HTTP_SESSION_SECRET"]
    assert (
        ast["CTI_HOST"] == SITE["CTI_HOST"]
    )  # the one address AMI admits (docker/asterisk-entrypoint.sh)
    raw = COMPOSE.read_text()
    for word in ("cti-secret", "POSTGRES_PASSWORD: cti", "CTI_PG_PASSWORD:-"):
        assert word not in raw  # no demo default left to fall back on


@pytest.mark.parametrize(
    "missing", ["CTI_PG_PASSWORD", "CTI_AMI_SECRET", "CTI_HTTP_SESSION_SECRET"]
)
def test_a_missing_secret_is_refused_by_name(tmp_path: Path, missing: str) -> None:
    done = resolve(tmp_path, {k: v for k, v in SITE.items() if k != missing})
    assert done.returncode != 0
    assert missing in done.stderr


def test_the_server_runs_in_production_over_https_and_its_start_check_passes(
    site: dict,
) -> None:
    env = env_of(site["ctiserver"])
    cfg = config_mod.load(env=env)
    assert security.production(cfg) and env["CTI_SERVER_MODE"] == "production"
    assert security.demo_values(cfg) == []
    tls_dir = PurePosixPath(cfg.http.tls_cert).parent
    assert PurePosixPath(cfg.http.tls_key).parent == tls_dir
    assert any(
        m["target"] == str(tls_dir) and m["read_only"]
        for m in mounts(site["ctiserver"])
    )
    assert cfg.ivr.enabled is False and env_of(site["ivr"])["CTI_IVR_PORT"] == "4573"


def test_asterisk_gets_the_repositorys_conf_and_its_realtime_files(site: dict) -> None:
    found = {m["target"]: m for m in mounts(site["asterisk"])}
    for target, folder in (
        ("/srv/asterisk_conf", "asterisk_conf"),
        ("/srv/asterisk_realtime", "asterisk_realtime"),
    ):
        assert (
            Path(found[target]["source"]) == ROOT / folder
            and found[target]["read_only"]
        )
    assert (
        ROOT / "asterisk_realtime" / "render.sh"
    ).exists()  # what the entrypoint runs from that mount
    ast = env_of(site["asterisk"])
    assert (
        ast["PGHOST"] == "127.0.0.1"
        and ast["PGDATABASE"] == "cti"
        and ast["PGUSER"] == "cti"
    )
