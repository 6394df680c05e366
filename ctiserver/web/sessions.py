"""Login sessions as HMAC-signed tokens (stdlib only): no server-side session table.

A token is ``base64url(agent_id "|" expiry "|" nonce) "." base64url(hmac_sha256)``.
The account itself is looked up on every request (the core caches it), so a
removed or demoted account takes effect at once. Logout revokes the token in
memory until it would have expired anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from typing import Callable


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and checks session tokens for agent ids."""

    def __init__(self, secret: str, hours: float, clock: Callable[[], float] = time.time) -> None:
        # An empty secret means a random key per start: sessions end with the process.
        self._key = secret.encode("utf-8") if secret else secrets.token_bytes(32)
        self.lifetime = max(60, int(hours * 3600))
        self._clock = clock
        self._revoked: dict[str, float] = {}  # token -> its expiry

    def issue(self, agent_id: str) -> str:
        """A new signed token for this agent id."""
        expiry = int(self._clock()) + self.lifetime
        body = f"{agent_id}|{expiry}|{secrets.token_hex(8)}".encode("utf-8")
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def verify(self, token: str | None) -> str | None:
        """The agent id the token was issued for, or None if forged, expired or revoked."""
        if not token or len(token) > 512 or token.count(".") != 1:
            return None
        body_b64, mac_b64 = token.split(".")
        try:
            body, mac = _unb64(body_b64), _unb64(mac_b64)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            agent_id, expiry, _nonce = body.decode("utf-8").split("|")
            expires_at = int(expiry)
        except ValueError:
            return None
        if expires_at <= self._clock() or token in self._revoked:
            return None
        return agent_id

    def revoke(self, token: str | None) -> None:
        """Make a token unusable (logout) until its natural expiry."""
        now = self._clock()
        self._revoked = {t: exp for t, exp in self._revoked.items() if exp > now}
        if token and self.verify(token) is not None:
            self._revoked[token] = now + self.lifetime

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()
