"""Where each person takes calls, and the browser phone's registration details.

``phone = 'browser'`` turns the person's realtime PJSIP endpoint (``ctiserver/sipaccounts``) into
a WebRTC one: ``webrtc = yes`` makes Asterisk use ICE, AVPF, rtcp-mux and DTLS-SRTP, with a
certificate it generates itself. ``desk`` clears those columns again, so a hardware or desktop
softphone registers over UDP as before.

The SIP secret is never stored in clear (only Asterisk's ``md5_cred``), so the browser cannot be
given the current one: each time the signed-in panel asks for its phone, a fresh secret is set
(the SIP accounts' own reset, audited as done by the person) and handed to that panel only. A
desk phone of the same account stops registering then, which is what choosing the browser means.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog

from ctiserver.errors import Conflict

log = structlog.get_logger(__name__)

# Columns of ps_endpoints a WebRTC phone sets (NULL: Asterisk's defaults, a plain SIP phone).
WEBRTC = {
    "webrtc": "yes",
    "dtls_auto_generate_cert": "yes",
    "media_encryption": "dtls",
    "ice_support": "yes",
    "use_avpf": "yes",
    "rtcp_mux": "yes",
    "media_use_received_transport": "yes",
    "dtls_verify": "fingerprint",
    "dtls_setup": "actpass",
}


async def set_endpoint_mode(
    conn: asyncpg.Connection, username: str, phone: str
) -> None:
    """The endpoint's WebRTC columns as ``phone`` wants them."""
    values = [WEBRTC[k] if phone == "browser" else None for k in WEBRTC]
    sets = ", ".join(f"{k} = ${i + 2}" for i, k in enumerate(WEBRTC))
    await conn.execute(
        f"UPDATE ps_endpoints SET {sets} WHERE id = $1", username, *values
    )


class WebPhones:
    """The ``phone`` setting's effect on the SIP account, and the browser's credentials."""

    def __init__(
        self,
        store: Any,
        sip_accounts: Any,
        *,
        ws_url: str = "",
        ice_servers: tuple[str, ...] = (),
    ) -> None:
        self.store = store
        self.sip_accounts = sip_accounts
        self.ws_url = ws_url
        self.ice_servers = ice_servers

    async def person_written(
        self, conn: asyncpg.Connection, actor: str, action: str, row: Any
    ) -> tuple[Any, dict[str, Any]]:
        """After a person's change (and after their SIP account was made or renamed): the
        endpoint follows their ``phone`` setting."""
        username = await conn.fetchval(
            "SELECT endpoint FROM agent_sip_accounts WHERE agent_id = $1", row["id"]
        )
        if username is not None:
            await set_endpoint_mode(conn, username, row["phone"])
        return row, {}

    async def setting(self, agent_id: str) -> tuple[str, str]:
        """(login, phone) of a person."""
        row = await self.store._run(
            lambda c: c.fetchrow(
                "SELECT login, phone FROM agents WHERE id = $1", agent_id
            )
        )
        if row is None:
            raise Conflict("your account is gone", code="no_person", field="login")
        return row["login"], row["phone"]

    async def registration(self, agent_id: str) -> dict[str, Any]:
        """What the signed-in person's panel registers with: nothing for a desk phone; for the
        browser phone a fresh secret, the endpoint made a WebRTC one."""
        login, phone = await self.setting(agent_id)
        if phone != "browser":
            return {"phone": phone}
        sip = await self.sip_accounts.reset_secret(agent_id, login)
        username = sip["username"]
        await self.store._run(lambda c: set_endpoint_mode(c, username, "browser"))
        log.info("browser_phone_credentials", agent=login, username=username)
        return {
            "phone": "browser",
            "username": username,
            "secret": sip["secret"],
            "realm": sip["realm"],
            "ice_servers": list(self.ice_servers),
        }
