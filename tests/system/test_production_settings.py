"""`python -m ctiserver` in production refuses secrets left at their demo value, with one line naming them.

Production is the default as soon as a real Asterisk is configured (``ami.host``); the
demo with its simulator starts with the demo values and no extra step. Every case points
at a PostgreSQL port nobody listens on: a start that passes the check ends with exit 4
(PostgreSQL unreachable), one refused by it with exit 2 before reaching anything.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.support.postgres import free_port
from tests.support.process import start_server

SITE_SESSION = "x7Jq2v9LmR4tW8yB3nK6pZ1cF5hD0sGa"  # 32 characters nobody ships
SITE_AMI = "the-site-ami-secret"


def dsn(password: str) -> str:
    return f"postgresql://cti:{password}@127.0.0.1:{free_port()}/cti"


async def run(env: dict[str, str]) -> tuple[int, list[str]]:
    base = {
        "CTI_SERVER_MODE": "auto",
        "CTI_HTTP_PORT": str(free_port()),
        "CTI_IVR_PORT": str(free_port()),
    }
    proc = await start_server({**base, **env})
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, [
        line for line in err.decode().splitlines() if line.strip()
    ]


async def test_a_real_asterisk_with_every_demo_secret_is_refused_naming_each() -> None:
    code, lines = await run(
        {
            "CTI_AMI_HOST": "127.0.0.1",
            "CTI_HTTP_SESSION_SECRET": "",
            "CTI_DB_DSN": dsn("cti"),
        }
    )  # ami.secret left at its default
    assert code == 2
    assert len(lines) == 1, lines  # one clear line, no log, no traceback
    line = lines[0]
    assert line.startswith("ctiserver: production settings left at a demo value:")
    for setting in (
        "http.session_secret (CTI_HTTP_SESSION_SECRET)",
        "ami.secret (CTI_AMI_SECRET)",
        "db.dsn (CTI_DB_DSN)",
    ):
        assert setting in line
    assert ":cti@" not in line  # the password itself is never printed


@pytest.mark.parametrize(
    "env,named,not_named",
    [
        (
            {"CTI_AMI_SECRET": "cti-secret"},
            "ami.secret",
            ("http.session_secret", "db.dsn"),
        ),
        (
            {"CTI_HTTP_SESSION_SECRET": "short"},
            "http.session_secret (CTI_HTTP_SESSION_SECRET) is shorter than 32",
            ("ami.secret", "db.dsn"),
        ),
        (
            {"CTI_DB_DSN": "postgresql://cti:postgres@db.example:5432/cti"},
            "db.dsn",
            ("ami.secret", "session"),
        ),
        (
            {"CTI_DB_DSN": ""},
            "db.dsn (CTI_DB_DSN) is not set",
            ("ami.secret", "session"),
        ),
    ],
)
async def test_one_demo_value_left_is_the_one_named(
    env: dict[str, str], named: str, not_named: tuple[str, ...]
) -> None:
    site = {
        "CTI_AMI_HOST": "127.0.0.1",
        "CTI_AMI_SECRET": SITE_AMI,
        "CTI_HTTP_SESSION_SECRET": SITE_SESSION,
        "CTI_DB_DSN": dsn("S1te-Db-Pass"),
    }
    code, lines = await run({**site, **env})
    assert code == 2 and len(lines) == 1, lines
    assert named in lines[0]
    assert not any(other in lines[0] for other in not_named), lines[0]


async def test_site_secrets_pass_the_check_and_the_start_goes_on() -> None:
    code, lines = await run(
        {
            "CTI_AMI_HOST": "127.0.0.1",
            "CTI_AMI_SECRET": SITE_AMI,
            "CTI_HTTP_SESSION_SECRET": SITE_SESSION,
            "CTI_DB_DSN": dsn("S1te-Db-Pass"),
        }
    )
    assert code == 4, (
        lines
    )  # past the check: the (absent) database is the next thing it meets
    assert "demo value" not in "\n".join(lines)


@pytest.mark.parametrize(
    "env",
    [
        {},  # the demo: no Asterisk configured, the simulator with the demo values, no extra step
        {
            "CTI_AMI_HOST": "127.0.0.1",
            "CTI_SERVER_MODE": "lab",
        },  # a test lab's real Asterisk, said so
    ],
    ids=["demo", "lab"],
)
async def test_demo_and_lab_start_with_the_demo_values(env: dict[str, str]) -> None:
    code, lines = await run(
        {"CTI_HTTP_SESSION_SECRET": "", "CTI_DB_DSN": dsn("cti"), **env}
    )
    assert code == 4, lines
    assert "demo value" not in "\n".join(lines)


async def test_production_forced_without_asterisk_is_checked_too() -> None:
    code, lines = await run(
        {
            "CTI_SERVER_MODE": "production",
            "CTI_HTTP_SESSION_SECRET": "",
            "CTI_DB_DSN": dsn("cti"),
        }
    )
    assert code == 2 and "production settings left at a demo value" in lines[0]


async def test_a_sip_account_with_a_demo_secret_is_refused_naming_it(
    db_dsn: str, tmp_path
) -> None:
    import hashlib

    from ctiserver.store import Store

    store = await Store.open(db_dsn)
    try:
        await store.migrate()

        async def plant(conn) -> None:
            if await conn.fetchval(
                "SELECT to_regclass('ps_auths') IS NULL"
            ):  # before the realtime tables exist
                await conn.execute(
                    "CREATE TABLE ps_auths (id varchar(255) PRIMARY KEY, auth_type varchar(12), "
                    "md5_cred varchar(40), password varchar(80), realm varchar(255), "
                    "username varchar(255))"
                )
            cred = hashlib.md5(b"7001:asterisk:7001").hexdigest()
            await conn.execute(
                "INSERT INTO ps_auths (id, auth_type, username, realm, md5_cred) "
                "VALUES ('7001', 'digest', '7001', 'asterisk', $1)",
                cred,
            )
            strong = hashlib.md5(b"7002:asterisk:Wq8-zT4-pL1").hexdigest()
            await conn.execute(
                "INSERT INTO ps_auths (id, auth_type, username, realm, md5_cred) "
                "VALUES ('7002', 'digest', '7002', 'asterisk', $1)",
                strong,
            )

        await store.run(plant)
    finally:
        await store.close()
    code, lines = await run(
        {
            "CTI_AMI_HOST": "127.0.0.1",
            "CTI_AMI_PORT": str(free_port()),
            "CTI_AMI_SECRET": SITE_AMI,
            "CTI_HTTP_SESSION_SECRET": SITE_SESSION,
            "CTI_DB_DSN": db_dsn,
            "CTI_DB_JOURNAL_PATH": str(tmp_path / "j.jsonl"),
        }
    )
    assert code == 2, lines
    last = lines[-1]
    assert last.startswith(
        "ctiserver: production settings left at a demo value: SIP accounts 7001 (ps_auths)"
    )
    assert "7002" not in last
