"""Errors raised by the AMI adapter; callers translate them at their boundary (``raise ... from exc``)."""

from __future__ import annotations

from ctiserver.ami.message import AmiMessage


class AmiError(Exception):
    """Base of every AMI adapter error."""


class AmiAuthError(AmiError):
    """Asterisk refused our Login (wrong user or secret, or an ACL)."""


class AmiNotConnected(AmiError):
    """The link is down: the action was not sent (it is never queued for later)."""


class AmiLinkLost(AmiError):
    """The link dropped while we waited for the reply: Asterisk may or may not have run the action."""


class AmiTimeout(AmiError):
    """No reply within the action timeout: Asterisk may or may not have run the action."""


class AmiActionFailed(AmiError):
    """Asterisk answered ``Response: Error``; ``message`` is its text, ``response`` the whole reply."""

    def __init__(self, action: str, response: AmiMessage) -> None:
        self.action = action
        self.response = response
        self.message = response.get("Message") or ""
        super().__init__(f"AMI action {action} failed: {self.message or '(no message)'}")


class AmiInjectionError(AmiError, ValueError):
    """A header name or value would break the AMI framing (CR, LF, NUL, bad name); nothing was sent."""

    def __init__(self, header: str, reason: str) -> None:
        self.header = header
        super().__init__(f"AMI header {header!r} refused: {reason}")
