"""Customer PINs: salted scrypt at a small cost, in the agents' self-describing format.

A PIN has 4-6 digits: at most 10^6 values, so no hash cost protects a stolen PIN hash from
an offline search (at the agents' N=2^14, ~45 ms a guess, a single core tries them all in
half a day). What protects a PIN is online: the lockout after a few wrong PINs per customer
number (``ctiserver/store/guards.py``) and the database's access control. The hash only keeps
PINs out of plain sight (a dump, a log of the table) and makes each one cost a search of its
own (salted), so it is cheap: ~1 ms of CPU, where the agents' ~45 ms per check made the PIN
step the IVR's bottleneck (``bench/ivr_load.py``).

The stored form is ``scrypt$N$r$p$salt$hash`` (base64) like ``ctiserver.agents.passwords``,
so PINs hashed at the old, dearer cost still verify; ``needs_rehash`` tells the caller to
store a fresh hash at today's cost once such a PIN was typed right.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

# N=2^9, r=8: 512 KiB of memory and ~1.1 ms of CPU per hash on the development machine.
N, R, P = 2**9, 8, 1
# The dearest cost accepted when verifying (the agents' password cost, which PINs used before):
# a hash asking for more is refused rather than left to take seconds of CPU and memory.
MAX_N = 2**14
_MAXMEM = 64 * 1024 * 1024


def hash_pin(pin: str) -> str:
    """Return ``scrypt$N$r$p$salt$hash`` (base64) of ``pin`` at the PIN cost."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${N}${R}${P}${b64(salt).decode()}${b64(digest).decode()}"


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return None
        n_, r_, p_ = int(n), int(r), int(p)
        if not (1 < n_ <= MAX_N and 0 < r_ <= 16 and 0 < p_ <= 4):
            return None
        return n_, r_, p_, base64.b64decode(salt), base64.b64decode(digest)
    except (ValueError, TypeError, AttributeError):
        return None


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time check of ``pin`` against a stored hash of any accepted cost; False for a malformed one."""
    parsed = _parse(stored)
    if parsed is None or not isinstance(pin, str):
        return False
    n, r, p, salt, expected = parsed
    if not expected:
        return False
    try:
        got = hashlib.scrypt(
            pin.encode("utf-8"),
            salt=salt,
            n=n,
            r=r,
            p=p,
            dklen=len(expected),
            maxmem=_MAXMEM,
        )
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got, expected)


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` is a well-formed hash at another cost than today's (store a new one)."""
    parsed = _parse(stored)
    return parsed is not None and parsed[:3] != (N, R, P)


# A hash of an older cost, just proven right, stored at today's cost ($2) unless the PIN was
# changed meanwhile (the stored hash is still $3).
UPGRADE_SQL = "UPDATE customers SET pin_hash = $2 WHERE customer_no = $1 AND pin_hash = $3"


def check_and_upgrade(pin: str, stored: str) -> tuple[bool, str | None]:
    """``(right, new_hash)``: ``new_hash`` is a hash at today's cost when ``pin`` is right and
    ``stored`` had another cost (else None). Blocking (scrypt): run it in a thread."""
    if not verify_pin(pin, stored):
        return False, None
    return True, hash_pin(pin) if needs_rehash(stored) else None
