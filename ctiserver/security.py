"""Demo or production, and the production settings refused when left at a demo value.

The mode (``server.mode``): ``auto`` is production as soon as a real Asterisk is
configured (``ami.host`` set) and demo with the built-in simulator; ``production`` and
``lab`` force it either way (``lab``: a real Asterisk in a test lab, with the demo
secrets of ``asterisk_conf/``). In production the server refuses to start while a secret
is one anyone can read in this repository, naming every such setting on one line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from ctiserver.config import Config

MODES = ("auto", "demo", "lab", "production")

#: The AMI secrets shipped in config.py's default and asterisk_conf/manager.conf.
DEMO_AMI_SECRETS = frozenset({"", "cti-secret"})
#: Database passwords of docker-compose.yml's old default and the usual first tries.
DEMO_DB_PASSWORDS = frozenset({"cti", "postgres", "password", "changeme", "secret"})
#: SIP secrets a demo or lab account may carry; a secret equal to its username is refused too.
DEMO_SIP_SECRETS = frozenset(
    {"", "cti", "secret", "password", "changeme", "1234", "12345678"}
)
#: A session secret shorter than this could be found offline from one signed cookie.
SESSION_SECRET_MIN = 32


def production(config: Config) -> bool:
    """Whether the production checks apply to this configuration."""
    mode = config.server.mode
    if mode == "auto":
        return bool(config.ami.host)
    return mode == "production"


def demo_values(config: Config) -> list[str]:
    """Each production setting left at a demo value, as ``setting (ENV): why``; empty when none."""
    found = []
    secret = config.http.session_secret
    if not secret:
        found.append("http.session_secret (CTI_HTTP_SESSION_SECRET) is not set")
    elif len(secret) < SESSION_SECRET_MIN:
        found.append(
            f"http.session_secret (CTI_HTTP_SESSION_SECRET) is shorter than {SESSION_SECRET_MIN} characters"
        )
    if config.ami.secret in DEMO_AMI_SECRETS:
        found.append("ami.secret (CTI_AMI_SECRET) is the demo's")
    dsn = config.db.dsn
    if not dsn:
        found.append(
            "db.dsn (CTI_DB_DSN) is not set (the demo's private cluster has no password)"
        )
    else:
        password = _dsn_password(dsn)
        if password is not None and password.lower() in DEMO_DB_PASSWORDS:
            found.append("db.dsn (CTI_DB_DSN) has the demo's database password")
    return found


def refusal(found: list[str]) -> str:
    """The one line printed when production settings are left at demo values."""
    return (
        "production settings left at a demo value: "
        + "; ".join(found)
        + " (set them, or CTI_SERVER_MODE=lab for a test lab)"
    )


def _dsn_password(dsn: str) -> str | None:
    """The password in a ``postgresql://`` URL or a ``key=value`` DSN, None when it has none."""
    if "://" in dsn:
        try:
            parts = urlsplit(dsn)
        except ValueError:
            return None
        return unquote(parts.password) if parts.password is not None else None
    for item in dsn.split():
        key, sep, value = item.partition("=")
        if sep and key.strip() == "password":
            return value.strip().strip("'")
    return None


class DemoSecrets(Exception):
    """Production found a secret left at a demo value after the start began; the message is the line."""


def demo_sip_accounts(rows: Iterable[tuple[str, str, str, str, str]]) -> list[str]:
    """The SIP auth ids whose secret is a demo value, from rows of (id, username, password, md5_cred, realm).

    ``md5_cred`` is Asterisk's digest hash ``md5(username:realm:secret)``; an empty realm is
    Asterisk's default, ``asterisk``. A secret equal to the username (or the id) counts as a demo one.
    """
    found = []
    for ident, username, password, md5_cred, realm in rows:
        candidates = DEMO_SIP_SECRETS | {username or "", ident or ""}
        if password or not md5_cred:
            demo = (password or "") in candidates
        else:
            demo = any(
                hashlib.md5(
                    f"{username}:{realm or 'asterisk'}:{c}".encode()
                ).hexdigest()  # the SIP digest (RFC 2617), not a choice
                == md5_cred.lower()
                for c in candidates
            )
        if demo:
            found.append(ident)
    return found


async def refuse_demo_sip_accounts(store: Any) -> None:
    """Raise DemoSecrets naming the realtime SIP accounts (``ps_auths``) whose secret is a demo one."""
    if not await store.fetchval("SELECT to_regclass('ps_auths') IS NOT NULL"):
        return  # no realtime accounts in this database
    rows = await store.fetch(
        "SELECT id, username, password, md5_cred, realm FROM ps_auths ORDER BY id"
    )
    found = demo_sip_accounts(
        (r["id"], r["username"], r["password"], r["md5_cred"], r["realm"]) for r in rows
    )
    if found:
        shown = ", ".join(found[:10]) + (
            f" and {len(found) - 10} more" if len(found) > 10 else ""
        )
        why = f"SIP accounts {shown} (ps_auths) have a demo secret or their username as secret"
        raise DemoSecrets(refusal([why + ": reset their SIP secret on the admin page"]))
