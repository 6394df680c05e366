"""Password hashing with the standard library's scrypt (no extra dependency)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """Return ``scrypt$N$r$p$salt$hash`` (base64) for storing."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against a stored hash; False for any malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt),
                             n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


MIN_LENGTH = 10
# The most common passwords and keyboard runs (lower-cased); a longer list belongs in a library
# if the policy grows, but these are the ones people type first.
COMMON = frozenset({
    "password", "password1", "password12", "password123", "password1234", "passw0rd", "passw0rd1",
    "p@ssw0rd", "p@ssword", "123456789", "1234567890", "12345678910", "0123456789", "9876543210",
    "1111111111", "0000000000", "1q2w3e4r5t", "qwertyuiop", "qwerty1234", "qwerty12345",
    "asdfghjkl;", "asdfghjkl1", "1qaz2wsx3edc", "zaq12wsxcde", "iloveyou12", "administrator",
    "admin12345", "admin123456", "letmein123", "welcome123", "welcome1234", "changeme123",
    "abc1234567", "abcdefghij", "trustno1234", "football12", "baseball12", "sunshine12",
    "princess12", "dragon1234", "monkey1234",
})


def password_problem(password: str, login: str) -> str | None:
    """Why ``password`` is refused for ``login`` by the minimum policy, or None when it passes."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return f"the password must be at least {MIN_LENGTH} characters"
    if len(password) > 256:
        return "the password must be at most 256 characters"
    lowered = password.lower()
    if login and login.lower() in lowered:
        return "the password must not contain the login"
    if lowered in COMMON or len(set(lowered)) < 4:
        return "the password is too common"
    return None


def one_time_password() -> str:
    """A random password that passes the policy, shown once to whoever set it."""
    import secrets

    return secrets.token_urlsafe(12)
