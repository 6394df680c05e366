"""Session tokens: signed, expiring, revocable, and useless to anyone without the key."""

from __future__ import annotations

from ctiserver.web.sessions import SessionSigner


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_names_the_agent_it_was_issued_for() -> None:
    signer = SessionSigner("secret", 12)
    assert signer.verify(signer.issue("1001")) == "1001"
    assert signer.issue("1001") != signer.issue("1001")  # each login its own token


def test_a_tampered_or_foreign_token_is_refused() -> None:
    signer = SessionSigner("secret", 12)
    token = signer.issue("1001")
    body, mac = token.split(".")
    forged_body = SessionSigner("secret", 12).issue("1900").split(".")[0]
    assert signer.verify(f"{forged_body}.{mac}") is None  # another body with this mac
    assert SessionSigner("other secret", 12).verify(token) is None
    for junk in (None, "", "abc", "a.b.c", "!!!.???", token + "x", "x" * 600):
        assert signer.verify(junk) is None


def test_a_token_expires() -> None:
    clock = Clock()
    signer = SessionSigner("secret", 1, clock=clock)
    token = signer.issue("1001")
    clock.now += 3599
    assert signer.verify(token) == "1001"
    clock.now += 2
    assert signer.verify(token) is None


def test_logout_revokes_only_that_token() -> None:
    signer = SessionSigner("secret", 12)
    first, second = signer.issue("1001"), signer.issue("1001")
    signer.revoke(first)
    assert signer.verify(first) is None
    assert signer.verify(second) == "1001"
    signer.revoke("garbage")  # never raises


def test_an_empty_secret_makes_sessions_end_with_the_process() -> None:
    token = SessionSigner("", 12).issue("1001")
    assert SessionSigner("", 12).verify(token) is None
