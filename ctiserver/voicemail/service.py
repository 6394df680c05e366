"""Voicemails: from Asterisk's ``VarSet VM_MESSAGEFILE`` to a message agents claim, call back and close.

Asterisk sets ``VM_MESSAGEFILE`` on the caller's channel once a message is kept (then
``VMSTATUS=SUCCESS``; both come even when the caller hung up to end the message). The server
reads the ``.txt`` beside it for the caller, time and length (when the spool is readable here:
``voicemail.spool_dir``), and writes every step on the call's work order through the store's
journaled writer, so nothing is lost while PostgreSQL is away and the list is rebuilt from the
history at start. Pushes: ``voicemail`` (a message's view, to every panel) and
``voicemail_overdue`` (to supervisors, once, when nobody claimed a message within
``voicemail.claim_minutes``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import structlog

from ctiserver.ami import events as ev
from ctiserver.calls import model as cm
from ctiserver.errors import Forbidden, NotFound
from ctiserver.push.hub import ALL, SUPERVISORS
from ctiserver.store.ops import WorkOrderOp
from ctiserver.voicemail import model as m
from ctiserver.voicemail import spool
from ctiserver.workorders.projection import ref_for

log = structlog.get_logger(__name__)

KINDS = (
    "voicemail",
    "voicemail_claimed",
    "voicemail_released",
    "voicemail_outcome",
    "voicemail_overdue",
)
KEEP_DAYS = 90  # messages older than this (closed or not) are not loaded at start


def _role(account: Any) -> str:
    return str(getattr(account.role, "value", account.role))


class Voicemails:
    """The messages left in the IVR, their claims and outcomes."""

    def __init__(
        self,
        store: Any,
        hub: Any,
        directory: Path,
        claim_minutes: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.hub = hub
        self.directory = directory
        self.claim_seconds = claim_minutes * 60
        self.clock = clock
        self.items: dict[str, m.Voicemail] = {}
        self.calls: dict[str, cm.Call] = {}

    # -- what Asterisk says -------------------------------------------------------------

    def on_call_event(self, ce: object) -> None:
        call = getattr(ce, "call", None)
        if not isinstance(call, cm.Call):
            return
        if isinstance(ce, cm.CallEnded):
            self.calls.pop(call.linkedid, None)
        else:
            self.calls[call.linkedid] = call

    def on_ami_event(self, e: object) -> None:
        match e:
            case ev.VariableSet(variable="VM_MESSAGEFILE", value=value):
                self._left(e, value)
            case ev.VariableSet(variable="VMSTATUS", value=value):
                log.info("voicemail_status", call_id=e.linkedid, status=value[:16])

    def _left(self, e: ev.VariableSet, value: str) -> None:
        where = spool.parse_message_file(value)
        if where is None or not e.linkedid or not m.ID.match(e.linkedid):
            log.warning(
                "voicemail_not_understood", call_id=e.linkedid or None, file=value[:200]
            )
            return
        meta = spool.metadata(self.directory, where)
        call = self.calls.get(e.linkedid)
        at = float(meta.get("left_at") or e.at or self.clock())
        vm = m.Voicemail(
            e.linkedid,
            where.mailbox,
            where.folder,
            where.msg,
            at,
            caller_number=(call.caller_num if call else "")
            or meta.get("caller_number", ""),
            caller_name=(call.caller_name if call else "")
            or meta.get("caller_name", ""),
            seconds=meta.get("seconds"),
            ref=ref_for(e.linkedid, call.started_at) if call else "",
        )
        self.items[vm.id] = vm
        self._step(
            vm,
            "voicemail",
            {
                "mailbox": vm.mailbox,
                "folder": vm.folder,
                "msg": vm.msg,
                "seconds": vm.seconds,
                "caller_number": vm.caller_number,
                "caller_name": vm.caller_name,
                "left_at": vm.left_at,
            },
            at,
        )
        log.info(
            "voicemail_left",
            call_id=vm.id,
            mailbox=vm.mailbox,
            msg=vm.msg,
            seconds=vm.seconds,
            caller=vm.caller_number,
        )

    # -- agents' commands ---------------------------------------------------------------

    def list(self, account: Any, open_only: bool = True) -> list[dict]:
        """The messages, newest first (only the open ones unless asked)."""
        items = [vm for vm in self.items.values() if vm.open or not open_only]
        return [
            vm.view() for vm in sorted(items, key=lambda v: v.left_at, reverse=True)
        ]

    def get(self, vm_id: Any) -> m.Voicemail:
        vm = self.items.get(m.check_id(vm_id))
        if vm is None:
            raise NotFound(f"no voicemail {vm_id}", field="id")
        return vm

    def claim(self, account: Any, vm_id: Any) -> dict:
        vm = self.get(vm_id)
        now = self.clock()
        new = m.claim(vm, str(account.id), now)
        if new is not vm:
            self._change(new, "voicemail_claimed", {"agent": str(account.id)}, now)
        return new.view()

    def release(self, account: Any, vm_id: Any) -> dict:
        vm = self.get(vm_id)
        new = m.release(vm, str(account.id), _role(account))
        self._change(
            new,
            "voicemail_released",
            {"agent": vm.claimed_by, "by": str(account.id)},
            self.clock(),
        )
        return new.view()

    def record_outcome(self, account: Any, vm_id: Any, outcome: str, note: str) -> dict:
        vm = self.get(vm_id)
        now = self.clock()
        new = m.outcome(vm, str(account.id), _role(account), outcome, note, now)
        self._change(
            new,
            "voicemail_outcome",
            {
                "outcome": outcome,
                "by": str(account.id),
                "note": note,
                "closed": not new.open,
            },
            now,
        )
        return new.view()

    def audio(self, account: Any, vm_id: Any) -> Path:
        """The message's sound file ``account`` may play (Forbidden: someone else's claim)."""
        vm = self.get(vm_id)
        if not m.may_play(vm, str(account.id), _role(account)):
            raise Forbidden(f"agent {vm.claimed_by} has claimed this message")
        box, _, context = vm.mailbox.partition("@")
        where = spool.MessageFile(context, box, vm.folder, vm.msg)
        for ext in ("wav", "WAV", "gsm"):
            path = spool.path_of(self.directory, where, ext)
            if path is not None and path.is_file():
                return path
        raise NotFound(
            "the message's sound file is not in the voicemail spool here", field="id"
        )

    def snapshot(self, account: Any) -> dict:
        return {"voicemails": self.list(account)}

    # -- the deadline -------------------------------------------------------------------

    def flag_overdue(self) -> list[str]:
        """Tell the supervisors about each message nobody claimed in time (once each)."""
        now = self.clock()
        flagged = []
        for vm in list(self.items.values()):
            if m.due(vm, now, self.claim_seconds):
                new = replace(vm, overdue=True)
                self._change(
                    new,
                    "voicemail_overdue",
                    {"minutes": round((now - vm.left_at) / 60, 1)},
                    now,
                )
                self.hub.publish("voicemail_overdue", new.view(), SUPERVISORS)
                log.warning(
                    "voicemail_overdue",
                    call_id=vm.id,
                    caller=vm.caller_number,
                    minutes=round((now - vm.left_at) / 60, 1),
                )
                flagged.append(vm.id)
        return flagged

    async def watch(self, every: float | None = None) -> None:
        """Look for overdue messages every ``every`` seconds (default: a tenth of the deadline, 5-60 s)."""
        interval = (
            every if every is not None else min(60.0, max(5.0, self.claim_seconds / 10))
        )
        while True:
            await asyncio.sleep(interval)
            try:
                self.flag_overdue()
            except Exception:
                log.exception("voicemail_watch_failed")

    # -- the store --------------------------------------------------------------------

    async def load(self) -> None:
        """Rebuild the messages of the last KEEP_DAYS days from the work orders' history."""
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=KEEP_DAYS)
        rows = await self.store._fetch(
            "SELECT e.linkedid, e.kind, e.at, e.data, w.ref FROM work_order_events e "
            "LEFT JOIN work_orders w ON w.linkedid = e.linkedid "
            "WHERE e.kind = ANY($1::text[]) AND e.at >= $2 ORDER BY e.id",
            list(KINDS),
            since,
        )
        for r in rows:
            self.apply(
                r["linkedid"],
                r["kind"],
                r["at"].timestamp(),
                r["data"] or {},
                r["ref"] or "",
            )
        log.info(
            "voicemails_loaded",
            open=sum(1 for v in self.items.values() if v.open),
            total=len(self.items),
        )

    def apply(
        self, linkedid: str, kind: str, at: float, data: dict, ref: str = ""
    ) -> None:
        """One history step into the in-memory list (load)."""
        vm = self.items.get(linkedid)
        if kind == "voicemail":
            self.items[linkedid] = m.Voicemail(
                linkedid,
                str(data.get("mailbox", "")),
                str(data.get("folder", "INBOX")),
                str(data.get("msg", "")),
                float(data.get("left_at") or at),
                caller_number=str(data.get("caller_number") or ""),
                caller_name=str(data.get("caller_name") or ""),
                seconds=data.get("seconds"),
                ref=ref,
            )
        elif vm is None:
            return
        elif kind == "voicemail_claimed":
            self.items[linkedid] = replace(
                vm, claimed_by=str(data.get("agent")), claimed_at=at
            )
        elif kind == "voicemail_released":
            self.items[linkedid] = replace(vm, claimed_by=None, claimed_at=None)
        elif kind == "voicemail_outcome":
            attempt = {
                "outcome": data.get("outcome"),
                "by": data.get("by"),
                "at": at,
                "note": data.get("note", ""),
            }
            self.items[linkedid] = replace(
                vm,
                attempts=[*vm.attempts, attempt],
                outcome=data.get("outcome") if data.get("closed") else None,
            )
        elif kind == "voicemail_overdue":
            self.items[linkedid] = replace(vm, overdue=True)

    def _change(self, new: m.Voicemail, kind: str, data: dict, at: float) -> None:
        self.items[new.id] = new
        self._step(new, kind, data, at)

    def _step(self, vm: m.Voicemail, kind: str, data: dict, at: float) -> None:
        self.store.submit(WorkOrderOp.new(vm.id, kind, data=data, at=at))
        self.hub.publish("voicemail", vm.view(), ALL)
