"""Wires the callbacks into the server: the service, its subscriptions, its routes, the manual work order.

``ctiserver/app.py`` calls :func:`build` while it composes the server and :func:`add_web` on the
web application; nothing else of the server knows this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from ctiserver.callbacks.journal import CallbackJournal, JournalLocked, journal_path_for
from ctiserver.callbacks.model import Callback
from ctiserver.callbacks.repo import CallbackRepo
from ctiserver.callbacks.routes import CALLBACKS, routes
from ctiserver.callbacks.service import Callbacks
from ctiserver.errors import CtiError

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SystemAccount:
    """Who the manual-callback work order's history names."""

    id: str = "callback"
    role: str = "supervisor"
    name: str = "callback"


class ManualCallback:
    """A callback whose every attempt failed becomes a work order for a person to call back."""

    def __init__(self, actions: Any, *, category: str, department: str | None) -> None:
        self.actions = actions
        self.category = category
        self.department = department
        self.account = SystemAccount()

    async def __call__(self, cb: Callback) -> None:
        body: dict[str, Any] = {
            "channel": "phone",
            "category": self.category,
            "caller_number": cb.number,
            "summary": f"Callback failed: call {cb.number} back",
            "request": (
                f"The caller asked to be called back at {cb.number} from queue {cb.queue} and was not "
                f"reached in {cb.attempts} attempts (last: {cb.outcome}). Call them back by hand. "
                f"Original call: {cb.linkedid or '-'}."
            ),
        }
        try:
            created = await self.actions.create_submitted(
                self.account, body, self.department
            )
        except (
            CtiError
        ) as exc:  # a setting that does not fit the work-order form: said in the log
            log.warning(
                "callback_manual_refused",
                callback=cb.id,
                error=str(exc),
                field=getattr(exc, "field", None),
            )
            return
        log.info(
            "callback_manual_workorder",
            callback=cb.id,
            workorder=created.get("ref"),
            linkedid=cb.linkedid,
            queue=cb.queue,
        )


def build(
    cfg: Any,
    tracker: Any,
    book: Any,
    gateway: Any,
    store: Any,
    record: Any,
    hub: Any,
    subs: Any,
    actions: Any,
) -> Callbacks:
    """The callbacks service, subscribed to AMI events, call events, agent changes and the resync."""
    cb = cfg.callbacks
    manual = ManualCallback(
        actions, category=cb.manual_category, department=cb.manual_department or None
    )
    service = Callbacks(
        tracker,
        book,
        gateway,
        open_repo(store, journal_path_for(cfg.db.journal_path)),
        record,
        hub,
        retries=cb.retries,
        retry_seconds=cb.retry_seconds,
        ring_seconds=cb.agent_ring_seconds,
        dial_seconds=cb.dial_seconds,
        queues=cfg.callcenter.queues,
        manual=manual,
    )
    subs.ami.append(service)
    subs.calls.append(service)
    subs.agents.append(service)
    subs.after_resync.append(service.after_resync)
    return service


def open_repo(store: Any, path: str) -> CallbackRepo:
    """The repo with its journal at ``path`` (the changes a killed server left there are written at load)."""
    if not path:
        log.warning(
            "callbacks_without_journal",
            note="changes wait in memory only while PostgreSQL is away",
        )
        return CallbackRepo(store)
    try:
        journal, replay = CallbackJournal.open(path)
    except (
        JournalLocked,
        OSError,
    ) as exc:  # the store's own journal lock normally refuses a second server first
        log.error("callback_journal_unavailable", path=path, error=str(exc))
        return CallbackRepo(store)
    return CallbackRepo(store, journal, replay)


def add_web(webapp: web.Application, service: Callbacks) -> web.Application:
    webapp[CALLBACKS] = service
    webapp.add_routes(routes)
    return webapp
