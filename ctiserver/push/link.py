"""The health of the back-end links (Asterisk, PostgreSQL) as every panel's status bar shows it."""

from __future__ import annotations

from typing import Callable

from ctiserver.push.hub import ALL, Publisher


class LinkStatus:
    def __init__(self, hub: Publisher, ami_up: Callable[[], bool], db_up: Callable[[], bool]) -> None:
        self.hub = hub
        self.ami_up = ami_up
        self.db_up = db_up

    def status(self) -> dict:
        return {"ami": self.ami_up(), "db": self.db_up()}

    def changed(self, _: bool = True) -> None:
        """Either link went up or down: every panel hears it."""
        self.hub.publish("link", self.status(), ALL)
