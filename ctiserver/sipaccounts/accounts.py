"""SIP accounts of people: made, renamed and removed with the person's change (a hook of the
administration, run inside its transaction), a secret reset by an admin, and who is registered.

The account is named after the extension of the person's interface (``PJSIP/1004`` -> endpoint,
auth and AOR ``1004``); an agent or supervisor without an interface is given ``PJSIP/<login>``.
The secret is generated, shown once to the admin, and stored only as Asterisk's ``md5_cred``
(md5 of ``username:realm:secret``). The endpoint settings are those of the file-based agent
endpoints of ``asterisk_conf/pjsip.conf`` (template ``agent-endpoint``), plus
``rewrite_contact`` for softphones behind NAT; the AOR takes one contact, a new registration
replacing the old one, and qualifies it (the lab's static SIPp phones are not qualified).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from ctiserver.admin.service import audit
from ctiserver.apischema import BOOL, INT, STR, TIME, array, nullable, obj
from ctiserver.errors import Conflict, InvalidInput, NotFound

log = structlog.get_logger(__name__)

# Roles that take calls on a phone of their own.
PHONE_ROLES = frozenset({"agent", "supervisor"})
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
CONTEXT = {"agent": "agents", "supervisor": "supervisor"}
# Endpoint settings of the file-based agents (pjsip.conf's lab-endpoint / agent-endpoint).
ENDPOINT = {
    "disallow": "all",
    "allow": "ulaw,alaw",
    "direct_media": "no",
    "rtp_symmetric": "yes",
    "force_rport": "yes",
    "rewrite_contact": "yes",  # a softphone behind NAT is reached where its REGISTER came from
    "send_connected_line": "no",
    "trust_connected_line": "no",
    "dtmf_mode": "info",
    "language": "en",
    "allow_subscribe": "yes",
}
# One phone per person, a new registration replacing the old. Qualified every 30 s: a softphone
# that lost its network is unreachable within that and the queue does not ring it; and for an
# AOR Asterisk did not know at start (a row added later), a qualified contact is what makes
# Asterisk follow the endpoint's state at all (res_pjsip/pjsip_options.c), unqualified it stays
# Unavailable and the queue never rings it.
AOR = {"max_contacts": 1, "remove_existing": "yes", "qualify_frequency": 30}
PJSIP_CONF = Path(__file__).resolve().parents[2] / "asterisk_conf" / "pjsip.conf"
# Endpoints that are never a person's: the carrier's trunks and Asterisk's anonymous one.
ALWAYS_RESERVED = frozenset({"caller", "outside", "anonymous"})


def reserved_names(pjsip_conf: Path = PJSIP_CONF) -> frozenset[str]:
    """Sections of pjsip.conf that are not an agent's (trunks, transports, global): a person's
    account of that name would take them over. Agents' lab endpoints (template agent-endpoint)
    are not reserved: an account in the database comes first (sorcery.conf) and replaces them."""
    try:
        text = pjsip_conf.read_text(encoding="utf-8")
    except OSError:
        return ALWAYS_RESERVED
    names: set[str] = set()
    people: set[str] = set()
    for m in re.finditer(r"^\[([^\]]+)\](?:\(([^)]*)\))?", text, re.MULTILINE):
        name, templates = m.group(1), (m.group(2) or "")
        if "!" not in templates:
            names.add(name)
            if "agent-endpoint" in templates:
                people.add(name)
    return frozenset(names - people) | ALWAYS_RESERVED


def md5_cred(username: str, realm: str, secret: str) -> str:
    return hashlib.md5(
        f"{username}:{realm}:{secret}".encode()
    ).hexdigest()  # SIP digest (RFC 2617)


def new_secret() -> str:
    """A secret a person types into a softphone: 22 URL-safe characters (128 bits)."""
    return secrets.token_urlsafe(16)


def username_of(row: Any) -> str | None:
    """The account a person should have now (None: none)."""
    if row["disabled"] or row["role"] not in PHONE_ROLES:
        return None
    iface = row["interface"] or ""
    if not iface.startswith("PJSIP/"):
        return None  # another technology's phone: not an account of ours
    ext = iface[len("PJSIP/") :]
    if not USERNAME.fullmatch(ext):
        raise InvalidInput(
            "a phone's extension is letters, digits, '_', '.', '-' (PJSIP/1004)",
            field="interface",
        )
    return ext


def _callerid(row: Any, username: str) -> str:
    name = re.sub(r'["<>\\]', "", row["name"] or "").strip()
    return f'"{name}" <{username}>' if name else f"<{username}>"


class SipAccounts:
    """The accounts in PostgreSQL; ``realm`` is the digest realm Asterisk challenges with."""

    def __init__(
        self,
        store: Any,
        *,
        realm: str = "asterisk",
        reserved: frozenset[str] | None = None,
    ) -> None:
        self.store = store
        self.realm = realm
        self.reserved = reserved_names() if reserved is None else reserved

    # -- the administration's hook ---------------------------------------------------------------

    async def person_written(
        self, conn: asyncpg.Connection, actor: str, action: str, row: Any
    ) -> tuple[Any, dict[str, Any]]:
        """After a person is created, edited, disabled or enabled (same transaction): the account
        they should have exists, with the endpoint's caller id and context up to date."""
        if not row["disabled"] and row["role"] in PHONE_ROLES and not row["interface"]:
            row = await conn.fetchrow(
                "UPDATE agents SET interface = $2 WHERE id = $1 RETURNING *",
                row["id"],
                f"PJSIP/{row['login']}",
            )
        wanted = username_of(row)
        current = await conn.fetchval(
            "SELECT endpoint FROM agent_sip_accounts WHERE agent_id = $1", row["id"]
        )
        if wanted is not None and wanted == current:
            await conn.execute(
                "UPDATE ps_endpoints SET callerid = $2, context = $3 WHERE id = $1",
                wanted,
                _callerid(row, wanted),
                CONTEXT[row["role"]],
            )
            return row, {}
        if current is not None:
            await self._remove(conn, current)
            await audit(
                conn, actor, "sip.remove", row["login"], {"username": current}, None
            )
        if wanted is None:
            if current is not None:
                log.info(
                    "sip_account_removed", agent=row["id"], username=current, by=actor
                )
            return row, {}
        if wanted in self.reserved:
            raise Conflict(
                f"interface: PJSIP/{wanted} is a trunk of pjsip.conf, not a phone",
                code="duplicate",
                field="interface",
            )
        secret = new_secret()
        await self._create(conn, row, wanted, secret)
        await audit(
            conn,
            actor,
            "sip.create",
            row["login"],
            None,
            {"username": wanted, "interface": row["interface"]},
        )
        log.info("sip_account_created", agent=row["id"], username=wanted, by=actor)
        return row, {"sip": self._shown(wanted, secret)}

    # The schemas of _shown() (the secret, shown once) and of list()'s items.
    SHOWN = obj({"username": STR, "secret": STR, "realm": STR}, closed=True)
    ACCOUNT = obj(
        {"login": STR, "username": STR, "interface": STR, "secret_set_at": nullable(TIME),
         "contacts": array(obj({"uri": STR, "user_agent": nullable(STR), "expires": nullable(INT)})),
         "registered": BOOL},
        closed=True,
    )

    def _shown(self, username: str, secret: str) -> dict[str, str]:
        """What the admin is shown once (and gives the person for their softphone)."""
        return {"username": username, "secret": secret, "realm": self.realm}

    async def _create(
        self, conn: asyncpg.Connection, row: Any, username: str, secret: str
    ) -> None:
        cols = {
            **ENDPOINT,
            "id": username,
            "aors": username,
            "auth": username,
            "context": CONTEXT[row["role"]],
            "callerid": _callerid(row, username),
        }
        names = ", ".join(cols)
        marks = ", ".join(f"${i + 1}" for i in range(len(cols)))
        await conn.execute(
            f"INSERT INTO ps_endpoints ({names}) VALUES ({marks})", *cols.values()
        )
        await conn.execute(
            "INSERT INTO ps_auths (id, auth_type, username, realm, md5_cred) "
            "VALUES ($1, 'digest', $1, $2, $3)",
            username,
            self.realm,
            md5_cred(username, self.realm, secret),
        )
        await conn.execute(
            "INSERT INTO ps_aors (id, max_contacts, remove_existing, qualify_frequency) "
            "VALUES ($1, $2, $3, $4)",
            username,
            AOR["max_contacts"],
            AOR["remove_existing"],
            AOR["qualify_frequency"],
        )
        await conn.execute(
            "INSERT INTO agent_sip_accounts (agent_id, endpoint) VALUES ($1, $2)",
            row["id"],
            username,
        )

    @staticmethod
    async def _remove(conn: asyncpg.Connection, username: str) -> None:
        """Endpoint, auth, AOR and registrations gone: it can neither register nor be called."""
        await conn.execute("DELETE FROM ps_contacts WHERE endpoint = $1", username)
        await conn.execute("DELETE FROM ps_aors WHERE id = $1", username)
        await conn.execute("DELETE FROM ps_auths WHERE id = $1", username)
        await conn.execute(
            "DELETE FROM ps_endpoints WHERE id = $1", username
        )  # cascades to the link

    # -- an admin's operations -------------------------------------------------------------------

    async def reset_secret(self, actor: str, login: str) -> dict[str, str]:
        """A new secret, shown once; the phone registered with the old one is dropped. An active
        agent or supervisor with a PJSIP extension but no account yet (made before accounts
        existed, or by the demo seed) gets one."""
        secret = new_secret()

        async def write(conn: asyncpg.Connection) -> dict[str, str] | None:
            async with conn.transaction():
                row = await conn.fetchrow(
                    "SELECT * FROM agents WHERE login = $1 FOR UPDATE", login
                )
                if row is None:
                    raise NotFound(f"no person with login {login!r}", field="login")
                username = await conn.fetchval(
                    "SELECT endpoint FROM agent_sip_accounts WHERE agent_id = $1",
                    row["id"],
                )
                if username is None:
                    if row["interface"] and username_of(row) is not None:
                        _, made = await self.person_written(
                            conn, actor, "sip.create", row
                        )
                        return made.get("sip")
                    return None
                await conn.execute(
                    "UPDATE ps_auths SET md5_cred = $2, realm = $3 WHERE id = $1",
                    username,
                    md5_cred(username, self.realm, secret),
                    self.realm,
                )
                await conn.execute(
                    "DELETE FROM ps_contacts WHERE endpoint = $1", username
                )
                await conn.execute(
                    "UPDATE agent_sip_accounts SET secret_set_at = now() WHERE endpoint = $1",
                    username,
                )
                await audit(
                    conn, actor, "sip.secret_reset", login, None, {"username": username}
                )
                return self._shown(username, secret)

        try:
            shown = await self.store.run(write)
        except asyncpg.UniqueViolationError:
            raise Conflict(
                "interface: this extension's SIP account exists already (not this person's)",
                code="duplicate",
                field="interface",
            ) from None
        if shown is None:
            raise Conflict(
                f"{login} has no SIP account: disabled, a role without a phone, or no PJSIP "
                "extension (give them one first)",
                code="no_sip_account",
                field="login",
            )
        log.info("sip_secret_reset", agent=login, username=shown["username"], by=actor)
        return shown

    async def list(self, login: str | None = None) -> list[dict[str, Any]]:
        """Each account: whose, its username, when its secret was set, and its registrations."""
        rows = await self.store.run(
            lambda c: c.fetch(
                "SELECT a.login, s.endpoint, s.secret_set_at, "
                "coalesce(json_agg(json_build_object('uri', k.uri, 'user_agent', k.user_agent, "
                "'expires', k.expiration_time)) FILTER (WHERE k.id IS NOT NULL), '[]')::jsonb AS contacts "
                "FROM agent_sip_accounts s JOIN agents a ON a.id = s.agent_id "
                "LEFT JOIN ps_contacts k ON k.endpoint = s.endpoint "
                "WHERE $1::text IS NULL OR a.login = $1 "
                "GROUP BY a.login, s.endpoint, s.secret_set_at ORDER BY a.login",
                login,
            )
        )
        return [
            {
                "login": r["login"],
                "username": r["endpoint"],
                "interface": f"PJSIP/{r['endpoint']}",
                "secret_set_at": r["secret_set_at"],
                "contacts": (c := list(r["contacts"])),
                "registered": bool(c),
            }
            for r in rows
        ]
