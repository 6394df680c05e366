"""Work-order actions: people write up, submit and move work orders through their lifecycle.

Every change is decided by the pure lifecycle (ctiserver/workorders/lifecycle.py), timed by
the deadlines, and written as one WorkOrderChangeOp through the store's journaled ordered
writer, so nothing is lost while PostgreSQL is away. The service holds the work orders it
touches (sheets.py) and checks each change's version against them: of two people acting on
the same version one wins, the other gets a Conflict. Answers say where the change is:
``database`` (committed) or ``journal`` (PostgreSQL away; written when it is back).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import structlog

from ctiserver.apischema import (
    ANY_OBJ,
    BOOL,
    INT,
    NUM,
    STR,
    TIME,
    array,
    enum,
    nullable,
    obj,
)
from ctiserver.calendar import Duration
from ctiserver.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from ctiserver.push.hub import SUPERVISORS, Audience
from ctiserver.store.ops import WorkOrderChangeOp, WorkOrderOp
from ctiserver.workorders import forms
from ctiserver.workorders.lifecycle import (
    SATISFACTION,
    Action,
    Command,
    Moved,
    Role,
    Status,
    allowed_actions,
    decide,
)
from ctiserver.workorders.projection import ops_for, ref_for
from ctiserver.workorders.settings import WorkOrderSettings
from ctiserver.workorders.sheets import Sheets, as_time, record_of, row_of, to_json

log = structlog.get_logger(__name__)

ACTIONS = tuple(a.value for a in Action if a not in (Action.SAVE,))
_REFUSAL = {"role": Forbidden, "state": Conflict, "input": InvalidInput}


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _role_name(account: Any) -> str:
    return str(getattr(account.role, "value", account.role))


# The API's work order (WorkOrder.to_json, sheets.to_json) as WorkOrderActions.view() completes it; get() adds
# the history and where it is saved, the task bar why it waits.
WORK_ORDER_FIELDS = {
    "id": nullable(INT), "ref": nullable(STR), "linkedid": STR, "direction": nullable(enum("inbound", "outbound")),
    "caller_number": nullable(STR), "caller_name": nullable(STR), "customer_id": nullable(INT),
    "customer_no": nullable(STR), "customer_name": nullable(STR), "customer_class": nullable(STR),
    "queue": nullable(STR), "agent_id": nullable(STR), "ivr_keys": nullable(STR), "ivr_path": nullable(array(STR)),
    "call_state": nullable(enum("open", "queued", "ringing", "in_call", "ended")),
    "disposition": nullable(enum("answered", "abandoned", "no_agent", "no_answer")),
    "created_at": nullable(TIME), "queued_at": nullable(TIME), "ringing_at": nullable(TIME),
    "answered_at": nullable(TIME), "ended_at": nullable(TIME), "wait_seconds": nullable(NUM),
    "talk_seconds": nullable(NUM), "hangup_by": nullable(STR), "category": nullable(STR), "urgency": nullable(STR),
    "department": nullable(STR), "summary": nullable(STR), "updated_at": nullable(TIME),
    "status": nullable(enum(*(s.value for s in Status))), "channel": enum("call", *forms.CHANNELS),
    "subcategory": nullable(STR), "request": nullable(STR), "answer": nullable(STR), "resolution": nullable(STR),
    "notes": nullable(STR), "assignee": nullable(STR), "resolved": nullable(BOOL),
    "satisfaction": nullable(enum(*SATISFACTION)), "opinion": nullable(STR), "repeats": INT, "deferred": BOOL,
    "step_started_at": nullable(TIME), "due_at": nullable(TIME), "created_by": nullable(STR),
    "submitted_by": nullable(STR), "submitted_at": nullable(TIME), "closed_at": nullable(TIME), "version": INT,
    "started_at": nullable(TIME),
}
WORK_ORDER_EVENT = obj({"id": INT, "kind": STR, "at": TIME, "data": ANY_OBJ}, closed=True)
HISTORY_ENTRY = obj(
    {"id": INT, "at": TIME, "actor": STR, "role": STR, "action": STR, "from": nullable(STR), "to": nullable(STR),
     "version": INT, "comment": nullable(STR), "data": ANY_OBJ, "actor_name": nullable(STR)},
    closed=True,
)
WORK_ORDER = obj(
    WORK_ORDER_FIELDS,
    {"colour": enum("grey", "orange", "amber", "red", "black"), "allowed_actions": array(enum(*(a.value for a in Action))),
     "events": array(WORK_ORDER_EVENT), "history": nullable(array(HISTORY_ENTRY)), "saved": enum("database", "journal"),
     "why": enum("department", "assigned", "callback", "to_forward")},
    closed=True,
)


class WorkOrderActions:
    def __init__(self, store: Any, settings: WorkOrderSettings, *, known_account: Callable[[str], Any],
                 hub: Any = None, agent_of: Callable[[str], str] = lambda interface: "",
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 settle_seconds: float = 2.0, ops_of: Callable[[object], list] | None = None) -> None:
        self.store = store
        # a call event's work-order ops (the recorder's, written just before this service sees them)
        self.ops_of = ops_of or (lambda ce: ops_for(ce, self.agent_of))
        self.settings = settings
        self.known_account = known_account
        self.hub = hub
        self.agent_of = agent_of
        self.now = now
        self.settle_seconds = settle_seconds
        self.sheets = Sheets(can_evict=lambda: not getattr(store, "pending", 0))
        self._told_soon: dict[str, dt.datetime] = {}  # linkedid -> the due time its "due soon" push was for

    # -- what the service knows ----------------------------------------------------------------

    def on_call_event(self, ce: object) -> None:
        """Follow calls as the projection writes them, so a call's work order is known before PostgreSQL has it."""
        try:
            self._follow(ce)
        except Exception:  # a slip here must never stop the call flow's other listeners
            log.exception("work_order_follow_failed", event=type(ce).__name__)

    def _follow(self, ce: object) -> None:
        for op in self.ops_of(ce):
            if not isinstance(op, WorkOrderOp):
                continue
            if op.kind == "created" and not op.data.get("resynced") and self.sheets.get(op.linkedid) is None:
                # A new call: nobody can have written it up yet (a resynced one may have been).
                self.sheets.put({"linkedid": op.linkedid, "version": 0, "status": None, "channel": "call",
                                 "repeats": 0, "deferred": False, **op.fields})
            else:
                self.sheets.update(op.linkedid, op.fields)

    async def _load(self, key: str | int) -> dict[str, Any]:
        row = self.sheets.get(key)
        if row is not None:
            return row
        if getattr(self.store, "pending", 0) and getattr(self.store, "healthy", True):
            try:  # changes replayed from the journal at start must be in before a version is read
                await self.store.flush(timeout=self.settle_seconds)
            except TimeoutError:
                pass
        try:
            wo = await self.store.work_order_row(key)
        except Unavailable as exc:
            raise Unavailable(f"{exc.message}; this work order is not in memory either") from exc
        if wo is None:
            raise NotFound(f"no work order {key!r}", field="id")
        return self.sheets.get(wo.linkedid) or self.sheets.put(row_of(wo))  # another request may have loaded it

    def roles_of(self, account: Any, row: dict[str, Any]) -> set[Role]:
        """The roles an account holds on one work order (empty: it is none of theirs)."""
        aid, role = str(account.id), _role_name(account)
        roles: set[Role] = set()
        if role == "admin":
            roles.add(Role.ADMIN)
        if role in ("supervisor", "admin"):
            roles.add(Role.SUPERVISOR)
        if row.get("assignee") == aid or (row.get("department") in self.settings.departments_of(aid)):
            roles.add(Role.HANDLER)
        if aid in (row.get("agent_id"), row.get("created_by"), row.get("submitted_by")):
            roles.add(Role.AGENT)
        return roles

    def colour(self, row: dict[str, Any]) -> str:
        """The status colour of a held row or a row's JSON (times as datetimes or ISO text)."""
        return self.settings.deadlines.colour(row.get("status"), row.get("category"), record_of(row),
                                              as_time(row.get("due_at")), as_time(row.get("step_started_at")),
                                              self.now())

    def view(self, data: dict[str, Any], account: Any = None) -> dict[str, Any]:
        """A work order's JSON with its colour and, for ``account``, the actions its roles allow now."""
        data["colour"] = self.colour(data)
        if account is not None:
            data["allowed_actions"] = self.allowed(account, data)
        return data

    def allowed(self, account: Any, data: dict[str, Any]) -> list[str]:
        """The lifecycle actions ``account`` may take on the work order now (the panel's buttons)."""
        actions = allowed_actions(record_of(data), self.roles_of(account, data))
        if not self.settings.deadlines.can_defer(data.get("category")):
            actions = tuple(a for a in actions if a is not Action.DEFER)
        return [a.value for a in actions]

    def history_json(self, entries: list[Any]) -> list[dict[str, Any]]:
        """History entries as JSON, each with the display name of who made it (``actor_name``)."""
        out = []
        for h in entries:
            item = h.to_json()
            who = self.known_account(str(item.get("actor")))
            item["actor_name"] = getattr(who, "name", None) or ("system" if item.get("role") == "system" else None)
            out.append(item)
        return out

    def my_departments(self, account: Any) -> list[str]:
        """The departments ``account`` handles work for."""
        return sorted(self.settings.departments_of(str(account.id)))

    # -- reading ------------------------------------------------------------------------------

    async def get(self, account: Any, key: str | int) -> dict[str, Any]:
        """One work order with its call events and history, if the account has a part in it.

        While PostgreSQL is away a held work order is answered from memory (no events)."""
        row = await self._mine(account, key)
        try:
            wo = await self.store.get_work_order(row["linkedid"])
            history = await self.store.work_order_history(row["linkedid"])
        except Unavailable:
            return {**self.view(to_json(row), account), "history": None, "saved": "journal"}
        if wo is None:  # created while PostgreSQL was away, not written yet
            return {**self.view(to_json(row), account), "history": [], "saved": "journal"}
        if wo.version >= int(row.get("version") or 0):
            self.sheets.put(row_of(wo))
        return {**self.view(wo.to_json(), account), "history": self.history_json(history), "saved": "database"}

    async def _mine(self, account: Any, key: str | int) -> dict[str, Any]:
        """The row, if the account has a part in it; otherwise the same 404 as for no such work order.

        Someone with no part in a work order is not told it exists (a reference or an id tried
        at random answers like one that does not exist): see docs/security.md.
        """
        row = await self._load(key)
        if not self.roles_of(account, row):
            log.info("work_order_refused", ref=row.get("ref"), by=str(account.id))
            raise NotFound(f"no work order {str(key)!r}", field="id")
        return row

    async def waiting(self, account: Any, limit: int = 100) -> dict[str, Any]:
        """The task bar: what waits for this person, with counts by why."""
        aid = str(account.id)
        departments = sorted(self.settings.departments_of(aid))
        rows = await self.store.work_orders_waiting(aid, departments, center=_role_name(account) != "agent",
                                                    limit=limit)
        items, counts = [], {"department": 0, "assigned": 0, "callback": 0, "to_forward": 0}
        for wo in rows:
            item = self.view(wo.to_json(), account)
            if wo.status == "completed":
                item["why"] = "callback"
            elif wo.assignee == aid:
                item["why"] = "assigned"
            elif wo.department in departments:
                item["why"] = "department"
            else:
                item["why"] = "to_forward"
            counts[item["why"]] += 1
            items.append(item)
        return {"workorders": items, "counts": counts, "total": len(items)}

    async def overdue(self, account: Any, limit: int = 200) -> list[dict[str, Any]]:
        """Open work orders past due: everyone's for supervisors, one's own departments' and own otherwise."""
        aid = str(account.id)
        everyone = _role_name(account) != "agent"
        rows = await self.store.overdue_work_orders(self.now(), account_id=None if everyone else aid,
                                                    departments=sorted(self.settings.departments_of(aid)),
                                                    limit=limit)
        return [self.view(wo.to_json(), account) for wo in rows]

    # -- writing ----------------------------------------------------------------------------------

    async def create(self, account: Any, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """A work order without a call (letter, e-mail, walk-in), linked to a customer when one is named."""
        who = forms.customer_fields(body)
        form = forms.form_fields({k: v for k, v in body.items() if k in forms.FORM_KEYS}, self.settings, {})
        customer = None
        if who["customer_no"]:
            customer = await self.store.find_customer_by_no(who["customer_no"])
            if customer is None:
                raise InvalidInput(f"no customer {who['customer_no']}", field="customer_no")
        elif who["caller_number"]:
            customer = await self.store.find_customer_by_phone(who["caller_number"])
        now, aid = self.now(), str(account.id)
        linkedid = f"manual-{uuid.uuid4().hex}"  # no call: a linkedid of its own
        fields = {"ref": ref_for(linkedid, now.timestamp()), "created_at": now, "channel": who["channel"],
                  "caller_number": who["caller_number"], "caller_name": who["caller_name"] or
                  (customer.name if customer else None), "customer_id": customer.id if customer else None,
                  "customer_class": customer.class_ if customer else None, "agent_id": aid, "created_by": aid,
                  "status": Status.DRAFT.value, **form}
        self.store.submit(WorkOrderChangeOp.new(linkedid, aid, _role_name(account), "create", 1,
                                                {k: _iso(v) for k, v in fields.items()}, None, "draft",
                                                data={"channel": who["channel"]}, create=True))
        self.sheets.put({"linkedid": linkedid, "version": 1, "repeats": 0, "deferred": False, **fields})
        return await self._answer(linkedid, account)

    async def create_submitted(self, account: Any, body: dict[str, Any], department: str | None) -> dict[str, Any]:
        """A work order the server opens for a person to act on, submitted to ``department`` if given."""
        created, _ = await self.create(account, body)
        if department:
            await self.act(account, created["ref"], "submit", {"version": created["version"], "department": department})
        return created

    async def act(self, account: Any, key: str | int, action: str, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Save the draft or take a lifecycle action; raises Forbidden, Conflict or InvalidInput with the reason."""
        row = await self._mine(account, key)
        roles = self.roles_of(account, row)
        act = Action(action)
        if act is Action.SAVE:
            extra, params = forms.form_fields({k: v for k, v in body.items() if k in forms.FORM_KEYS},
                                              self.settings, row), {"comment": None}
        else:
            extra, params = {}, forms.action_params(action, body, self.settings, self.known_account)
        days = forms.defer_days(body.get("days"), row.get("category"), self.settings) if act is Action.DEFER else None
        version = body.get("version")
        if version != row.get("version", 0):
            raise Conflict(f"the work order changed meanwhile (it is at version {row.get('version', 0)}, "
                           f"you acted on {version}): reload it", code="stale_version", field="version")
        if act is Action.SUBMIT:
            if params.get("department") is None and not params["resolved"]:
                params["department"] = row.get("department")
            missing = forms.missing_for_submit({**row, "department": params.get("department")}, self.settings,
                                               resolved=params["resolved"])
            if missing:
                raise InvalidInput(f"{missing} is required before submitting", code="missing_field", field=missing)
        if act is Action.CALLBACK and params.get("satisfaction") == "unsatisfied" and self.settings.repeat_department:
            params["department"] = self.settings.repeat_department
        cmd = Command(act, str(account.id), Role.AGENT, **params)
        outcome = decide(record_of(row), cmd, roles)
        if not isinstance(outcome, Moved):
            raise _REFUSAL[outcome.cause](outcome.reason, code=f"not_allowed_{outcome.cause}", field=outcome.field)
        if act is Action.SAVE and all(row.get(k) == v for k, v in extra.items()):
            return await self._answer(row["linkedid"], account)  # nothing new (an autosave of the same form)
        if act is Action.DEFER and not self.settings.deadlines.can_defer(row.get("category")):
            raise Conflict(f"a {row.get('category') or 'work order without category'} cannot be deferred",
                           code="not_allowed_state")
        self._commit(row, outcome, extra, params, days)
        return await self._answer(row["linkedid"], account)

    def _commit(self, row: dict[str, Any], moved: Moved, extra: dict[str, Any], params: dict[str, Any],
                days: int | None = None) -> None:
        old, new, entry = record_of(row), moved.record, moved.entry
        now = self.now()
        fields: dict[str, Any] = {"status": new.status.value, **extra}
        for name in ("department", "assignee", "repeats", "deferred"):
            if getattr(new, name) != getattr(old, name):
                fields[name] = getattr(new, name)
        action = entry.action
        if action is Action.SUBMIT:
            fields.update(submitted_by=entry.actor, submitted_at=now, resolved=params["resolved"])
        if action is Action.COMPLETE:
            fields["resolution"] = entry.comment
        if action is Action.CALLBACK:
            fields.update(satisfaction=params["satisfaction"], opinion=entry.comment)
        if new.status in (Status.CLOSED, Status.WITHDRAWN) and old.status != new.status:
            fields["closed_at"] = now
        if action is Action.REACTIVATE:
            fields["closed_at"] = None
        category = fields.get("category", row.get("category"))
        started, due = self.settings.deadlines.schedule(old, new, category, now, row.get("step_started_at"),
                                                        row.get("due_at"))
        if days is not None and started is not None:  # a deferral shorter than the category's most
            due = self.settings.deadlines.calendar.due(started, Duration(self.settings.deadlines.calendar.day_length
                                                                         * days))
        fields.update(step_started_at=started, due_at=due)
        data = dict(entry.data)
        if days is not None:
            data["days"] = days
        if extra:
            data["fields"] = {k: _iso(v) for k, v in extra.items()}
        op = WorkOrderChangeOp.new(row["linkedid"], entry.actor, entry.role.value, action.value, new.version,
                                   {k: _iso(v) for k, v in fields.items()}, old.status.value, new.status.value,
                                   entry.comment, data)
        self.store.submit(op)
        held = self.sheets.update(row["linkedid"], {**fields, "version": new.version}) or row
        log.info("work_order_changed", ref=row.get("ref"), action=action.value, by=entry.actor,
                 status=new.status.value, version=new.version)
        self._notify(held, action.value, entry.actor)

    async def _answer(self, linkedid: str, account: Any) -> tuple[dict[str, Any], str]:
        """The work order after a change with its history: from PostgreSQL once committed, else as held
        (in the journal: no history then)."""
        if getattr(self.store, "healthy", True):
            try:
                await self.store.flush(timeout=self.settle_seconds)
                wo = await self.store.work_order_row(linkedid)
                if wo is not None:
                    history = self.history_json(await self.store.work_order_history(linkedid))
                    return {**self.view(to_json(self.sheets.put(row_of(wo))), account), "history": history}, "database"
            except (TimeoutError, Unavailable):
                pass
        held = self.sheets.get(linkedid) or {"linkedid": linkedid}
        return {**self.view(to_json(held), account), "history": None}, "journal"

    def flag_incomplete(self, linkedid: str, agent_id: str, missing: list[str]) -> None:
        """The agent's wrap-up ran out with required fields missing: one history entry and a push say so.

        The entry is the lasting flag (who, when, which fields); the push tells the agent and the
        supervisors at once. The work order stays the agent's draft to finish.
        """
        row = self.sheets.get(linkedid)
        if row is None:
            return
        old = record_of(row)
        version = old.version + 1
        op = WorkOrderChangeOp.new(linkedid, "system", "system", "wrapup_incomplete", version, {},
                                   old.status.value, old.status.value,
                                   f"wrap-up ended with {', '.join(missing)} missing", {"missing": missing,
                                                                                         "agent": agent_id})
        self.store.submit(op)
        held = self.sheets.update(linkedid, {"version": version}) or row
        log.warning("work_order_wrapup_incomplete", ref=row.get("ref"), agent=agent_id, missing=missing)
        self._notify(held, "wrapup_incomplete", None, extra={"missing": missing, "agent": agent_id})

    # -- telling people -------------------------------------------------------------------------------

    def _audience(self, row: dict[str, Any]) -> Audience:
        ids = set(self.settings.departments.get(row.get("department") or "", ()))
        ids |= {row.get(k) for k in ("assignee", "submitted_by", "agent_id", "created_by")} - {None}
        return Audience.agents(ids) | SUPERVISORS

    def _notify(self, row: dict[str, Any], why: str, by: str | None, extra: dict[str, Any] | None = None) -> None:
        if self.hub is None:
            return
        item = {k: _iso(row.get(k)) for k in ("id", "ref", "status", "category", "urgency", "department",
                                               "assignee", "due_at", "summary", "version")}
        item.update(why=why, by=by, colour=self.colour(row), **(extra or {}))
        if why == "save" and by:
            # A draft saved on every change concerns its writer's other tabs only: no task bar lists drafts.
            audience = Audience.agents({by})
        elif why == "wrapup_incomplete":
            audience = Audience.agents({row.get("agent_id")} - {None}) | SUPERVISORS
        else:
            audience = self._audience(row)
        self.hub.publish("workorder_task", item, audience)

    async def scan_overdue(self, since: dt.datetime | None, now: dt.datetime) -> int:
        """Tell the handlers and supervisors of each work order that fell due in ``(since, now]``."""
        rows = await self.store.overdue_work_orders(now, since=since, limit=500)
        for wo in rows:
            self._notify(row_of(wo), "overdue", None)
        return len(rows)

    def _amber_horizon(self, now: dt.datetime) -> dt.datetime:
        """The latest due time that can already be amber at ``now`` (the longest allowance's amber part)."""
        d = self.settings.deadlines
        ends = [d.calendar.due(now, Duration(a.amount * d.amber_fraction, a.working)) for a in d.allowances.values()]
        return max(ends, default=now)

    async def scan_due_soon(self, now: dt.datetime) -> int:
        """Tell the handlers and supervisors of each open work order that has turned amber (once per due time)."""
        rows = await self.store.overdue_work_orders(self._amber_horizon(now), since=now, limit=1000)
        told = 0
        for wo in rows:
            row = row_of(wo)
            if self._told_soon.get(wo.linkedid) == wo.due_at or self.colour(row) != "amber":
                continue
            self._told_soon[wo.linkedid] = wo.due_at
            self._notify(row, "due_soon", None)
            told += 1
        for linkedid, due in list(self._told_soon.items()):
            if due is None or due <= now:  # past: the overdue push takes over
                del self._told_soon[linkedid]
        return told

    async def watch_overdue(self, interval: float = 60.0) -> None:
        """Every ``interval`` seconds, push what has fallen due since the last look, and what turned amber
        (runs until cancelled)."""
        since = self.now()
        while True:
            await asyncio.sleep(interval)
            now = self.now()
            try:
                count = await self.scan_overdue(since, now)
                soon = await self.scan_due_soon(now)
            except Unavailable:
                continue  # look again from the same point once PostgreSQL is back
            if count or soon:
                log.info("work_orders_overdue", count=count, due_soon=soon)
            since = now
