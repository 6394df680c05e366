"""The one way the server's commands reach Asterisk: readiness, error mapping, follow-ups.

A command (the panel's hold, an agent's sign-in) calls :meth:`AmiGateway.send` and gets
Asterisk's reply, or a domain error: a refusal is a ``Conflict`` (``asterisk_refused``),
a value that would inject AMI headers an ``InvalidInput``, a link that is down or an
unanswered action an ``Unavailable`` (``ami_down``). An action the server takes on its own
(a wrap-up pause, a follow-up hang-up) goes through :meth:`AmiGateway.spawn`: it runs as a
tracked task, its failure is logged, and the next resync repairs whatever it left.
"""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine, Mapping, Protocol

import structlog

from ctiserver.ami.errors import AmiActionFailed, AmiError, AmiInjectionError
from ctiserver.errors import Conflict, InvalidInput, Unavailable

log = structlog.get_logger(__name__)


class AmiLink(Protocol):
    """What the gateway needs of the AMI client."""

    connected: bool

    async def send(self, action: Mapping[str, object], timeout: float | None = None) -> Any: ...


class AmiGateway:
    """Sends actions for commands (errors mapped) and for the server itself (failures logged)."""

    def __init__(self, link: AmiLink | None = None) -> None:
        self.link = link
        self.tasks: set[asyncio.Task] = set()

    @property
    def connected(self) -> bool:
        return self.link is not None and self.link.connected

    def ready(self) -> AmiLink:
        """The link, or ``Unavailable`` (nothing is sent while Asterisk is away)."""
        if self.link is None or not self.link.connected:
            raise Unavailable("Asterisk is not reachable; nothing was changed", code="ami_down")
        return self.link

    async def send(self, action: Mapping[str, object], *, tolerate: str = "") -> Any:
        """Send one action for a command; ``tolerate``: a refusal message that means 'already done'."""
        name = action.get("Action")
        try:
            return await self.ready().send(action)
        except AmiActionFailed as exc:
            if tolerate and tolerate in (exc.message or ""):
                return None
            raise Conflict(f"Asterisk refused {name}: {exc.message}", code="asterisk_refused") from exc
        except AmiInjectionError as exc:
            raise InvalidInput(str(exc)) from exc
        except AmiError as exc:
            raise Unavailable(f"Asterisk did not confirm {name}: {exc}", code="ami_down") from exc

    async def send_quietly(self, action: Mapping[str, object], **context: Any) -> bool:
        """An action the server decides on its own: True when Asterisk accepted it, else logged."""
        try:
            await self.send(action)
            return True
        except (Conflict, InvalidInput, Unavailable) as exc:
            log.warning("ami_followup_failed", action=action.get("Action"), error=exc.message, **context)
            return False

    def spawn(self, action: Mapping[str, object], **context: Any) -> None:
        """``send_quietly`` as a tracked task (never blocks the ordered event stream)."""
        self.run(self.send_quietly(action, **context))

    def run(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a follow-up coroutine as a tracked task (``settled`` and ``close`` wait for it)."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
