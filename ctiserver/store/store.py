"""The Store: asyncpg pool, migrations, the journaled ordered writer, reads and demo data.

Writes from the call flow go through ``submit(op)`` (never blocks, never loses:
see writer.py and journal.py). Reads and the few direct writes (marquee, seed)
go straight to PostgreSQL and raise :class:`StoreUnavailable` when it is away.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import structlog

from ctiserver.errors import InvalidInput

from ctiserver.agents.passwords import hash_password
from ctiserver.customers import pins
from ctiserver.store import daily, demo, workflow
from ctiserver.store.errors import StoreUnavailable, connect_error, describe_target, is_outage, reason
from ctiserver.store.journal import Journal, JournalLocked
from ctiserver.store.migrate import is_current, run_migrations
from ctiserver.store.models import (WORK_ORDER_COLUMNS, AgentAccount, Customer, HistoryEntry, Marquee, RingEnd,
                                     Signin, StateLogEntry, WorkOrder, WorkOrderEvent)
from ctiserver.store.ops import Op, SigninOp
from ctiserver.store.phones import normalize_phone
from ctiserver.store.writer import Writer

log = structlog.get_logger(__name__)
T = TypeVar("T")

_WO_SELECT = (
    "SELECT w.id, w.ref, w.linkedid, w.direction, w.caller_number, w.caller_name, w.customer_id, "
    "c.customer_no, c.name AS customer_name, w.customer_class, w.queue, w.agent_id, w.ivr_keys, w.ivr_path, "
    "w.call_state, w.disposition, w.created_at, w.queued_at, w.ringing_at, w.answered_at, w.ended_at, "
    "w.wait_seconds, w.talk_seconds, w.hangup_by, w.category, w.urgency, w.department, w.summary, w.updated_at, "
    "w.status, w.channel, w.subcategory, w.request, w.answer, w.resolution, w.notes, w.assignee, w.resolved, "
    "w.satisfaction, w.opinion, w.repeats, w.deferred, w.step_started_at, w.due_at, w.created_by, w.submitted_by, "
    "w.submitted_at, w.closed_at, w.version "
    "FROM work_orders w LEFT JOIN customers c ON c.id = w.customer_id"
)
_CUSTOMER_SELECT = (
    "SELECT c.id, c.customer_no, c.name, c.class, c.note, c.pin_hash IS NOT NULL AS has_pin, "
    "COALESCE((SELECT array_agg(p.phone ORDER BY p.phone) FROM customer_phones p WHERE p.customer_id = c.id), "
    "'{}') AS phones FROM customers c"
)


class _Connection(asyncpg.Connection):
    """A pooled connection returned to the pool without asyncpg's reset round trip.

    asyncpg sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` each time
    a connection goes back to the pool: one more round trip per write batch and per read,
    for session state this server never leaves behind (no LISTEN, no session SET, no
    cursor outside a transaction; the migration lock is released where it is taken). An
    open transaction is still rolled back on release by asyncpg itself. Whoever adds
    session state must undo it before releasing the connection.
    """

    def get_reset_query(self) -> str:
        return ""


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=lambda v: json.dumps(v, ensure_ascii=False),
                                  decoder=json.loads, schema="pg_catalog")


def _work_order(row: asyncpg.Record, events: tuple[WorkOrderEvent, ...] | None = None) -> WorkOrder:
    return WorkOrder(**{k: row[k] for k in WORK_ORDER_COLUMNS}, events=events)


def _customer(row: asyncpg.Record) -> Customer:
    return Customer(id=row["id"], no=row["customer_no"], name=row["name"], class_=row["class"],
                    phones=tuple(row["phones"]), note=row["note"], has_pin=row["has_pin"])


def _agent(row: asyncpg.Record) -> AgentAccount:
    return AgentAccount(id=row["id"], login=row["login"], name=row["name"], role=row["role"],
                        password_hash=row["password_hash"], interface=row["interface"],
                        queues={str(k): int(v or 0) for k, v in (row["queues"] or {}).items()},
                        created_at=row["created_at"])


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Store:
    """PostgreSQL behind the server. Build with ``await Store.open(dsn, ...)``."""

    def __init__(self, pool: asyncpg.Pool, dsn: str, journal: Journal | None, *, retry_min: float,
                 retry_max: float, probe_interval: float) -> None:
        self._pool = pool
        self.target = describe_target(dsn)
        self._journal = journal
        self.on_health: Callable[[bool], None] | None = None
        self._writer = Writer(pool, journal, retry_min=retry_min, retry_max=retry_max,
                              probe_interval=probe_interval, on_health=self._health_changed)
        self._closed = False

    @classmethod
    async def open(cls, dsn: str, journal_path: str | None = None, pool_size: int = 5, *,
                   connect_timeout: float = 5.0, command_timeout: float = 30.0, retry_min: float = 0.1,
                   retry_max: float = 5.0, probe_interval: float = 5.0) -> "Store":
        """Connect; raises StoreUnavailable (one line: host:port/db and why, never the password).

        Ops left in the journal by an earlier run are queued again; they are written
        as soon as the schema is current (at once, or after ``migrate()``).
        """
        try:
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max(1, pool_size), timeout=connect_timeout,
                                             command_timeout=command_timeout, init=_init_connection,
                                             connection_class=_Connection)
        except Exception as exc:  # noqa: BLE001 - every connect failure becomes one clear line
            raise connect_error(dsn, exc) from None
        journal, pending = None, []
        if journal_path:
            try:
                journal, pending = await asyncio.to_thread(Journal.open, journal_path)
            except (JournalLocked, OSError) as exc:
                await pool.close()
                raise StoreUnavailable(f"cannot open the write journal: {exc}") from None
        else:
            log.warning("no_journal", note="writes wait in memory only while PostgreSQL is away")
        store = cls(pool, dsn, journal, retry_min=retry_min, retry_max=retry_max, probe_interval=probe_interval)
        store._writer.preload(pending)
        try:
            current = await store._run(lambda c: is_current(c))
        except BaseException:
            await store.close()  # releases the journal lock; its ops stay in the file
            raise
        if current:
            store._writer.start()
        log.info("store_open", target=store.target, replay=len(pending), schema_current=current)
        return store

    async def migrate(self) -> list[int]:
        """Apply pending migrations (safe to run from two processes at once); start the writer."""
        applied = await self._run(run_migrations)
        self._writer.start()
        return applied

    async def close(self, timeout: float = 3.0) -> None:
        """Write what can be written within ``timeout``; the rest stays in the journal for next time."""
        if self._closed:
            return
        self._closed = True
        if self._writer.started and self._writer.pending and self._writer.healthy:
            try:
                await self._writer.flush(timeout)
            except TimeoutError:
                pass
        if self._writer.pending:
            log.warning("store_closed_with_pending", pending=self._writer.pending, journal=bool(self._journal))
        await self._writer.stop()
        if self._journal is not None:
            self._journal.close()
        try:
            await asyncio.wait_for(self._pool.close(), timeout)
        except (TimeoutError, Exception):  # noqa: BLE001 - a dead server must not hang the shutdown
            self._pool.terminate()

    # -- writes from the call flow ------------------------------------------------------

    def submit(self, op: Op) -> None:
        """Journal and queue an op for the ordered writer; never blocks, never raises for an outage."""
        if self._closed:
            raise RuntimeError("store is closed")
        self._writer.submit(op)

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until everything submitted so far is committed (TimeoutError after ``timeout``).

        Raises RuntimeError instead of waiting forever when the schema is not current and
        ``migrate()`` has not been called (the writer only starts on a current schema).
        """
        if self._writer.pending and not self._writer.started:
            raise RuntimeError("the store's writer waits for migrate(): call it before flush()")
        await self._writer.flush(timeout)

    @property
    def healthy(self) -> bool:
        """False while PostgreSQL is unreachable for the writer."""
        return self._writer.healthy

    @property
    def pending(self) -> int:
        """Ops submitted and not yet committed."""
        return self._writer.pending

    def observe_writes(self, on_batch: Callable[[int, float], None]) -> None:
        """Be told (ops, seconds) of every batch committed to PostgreSQL (metrics)."""
        self._writer.on_batch = on_batch

    def _health_changed(self, ok: bool) -> None:
        if self.on_health is not None:
            self.on_health(ok)

    # -- plumbing ------------------------------------------------------------------------

    # The public query API for capability packages (complaints, reports, customers, ...):
    # their own SQL on a pooled connection, with the store's outage handling. Each call
    # is tried once: when PostgreSQL is unreachable (refused, reset, shutting down, pool
    # closed, timed out) it raises StoreUnavailable, which the web layer answers with 503
    # and nothing half-done is left (a transaction opened by ``work`` is rolled back).
    # Any other error (bad SQL, a constraint violated) is raised unchanged for the caller
    # to interpret (e.g. sqlstate 23505). Reads do not wait for the ordered writer: ops
    # submitted and not yet written are not seen.

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """``await work(conn)`` on one pooled connection (several statements, a transaction).

        Raises :class:`StoreUnavailable` when PostgreSQL is away; other errors unchanged.
        """
        try:
            async with self._pool.acquire() as conn:
                return await work(conn)
        except Exception as exc:
            if is_outage(exc):
                raise StoreUnavailable(f"PostgreSQL at {self.target} is unavailable: {reason(exc)}") from exc
            raise

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """The rows of one query; StoreUnavailable when PostgreSQL is away."""
        return await self.run(lambda c: c.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """The first row of one query, or None; StoreUnavailable when PostgreSQL is away."""
        return await self.run(lambda c: c.fetchrow(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, or None; StoreUnavailable when PostgreSQL is away."""
        return await self.run(lambda c: c.fetchval(sql, *args))

    async def execute(self, sql: str, *args: Any) -> str:
        """Run one statement (its status, e.g. ``UPDATE 1``); StoreUnavailable when PostgreSQL is away."""
        return await self.run(lambda c: c.execute(sql, *args))

    # The store's own methods and packages not yet moved to the public names above.
    _run = run
    _fetch = fetch
    _fetchrow = fetchrow

    # -- agents ----------------------------------------------------------------------------

    async def get_agent_by_login(self, login: str) -> AgentAccount | None:
        """The account with this login, or None."""
        row = await self._fetchrow("SELECT * FROM agents WHERE login = $1", login)
        return _agent(row) if row else None

    async def get_agent(self, agent_id: str) -> AgentAccount | None:
        """The account with this id, or None."""
        row = await self._fetchrow("SELECT * FROM agents WHERE id = $1", agent_id)
        return _agent(row) if row else None

    async def list_agents(self) -> list[AgentAccount]:
        """Every account, by login."""
        return [_agent(r) for r in await self._fetch("SELECT * FROM agents ORDER BY login")]

    # -- customers ---------------------------------------------------------------------------

    async def find_customer_by_phone(self, phone: str) -> Customer | None:
        """The customer owning this number in any usual written form (+86, 0086, trunk 0, dashes)."""
        key = normalize_phone(phone)
        if not key:
            return None
        row = await self._fetchrow(
            f"{_CUSTOMER_SELECT} WHERE c.id = (SELECT customer_id FROM customer_phones WHERE phone = $1)", key)
        return _customer(row) if row else None

    async def find_customer_by_no(self, no: str) -> Customer | None:
        """The customer with this customer number (e.g. C0001), or None."""
        row = await self._fetchrow(f"{_CUSTOMER_SELECT} WHERE c.customer_no = $1", (no or "").strip().upper())
        return _customer(row) if row else None

    async def verify_customer_pin(self, no: str, pin: str) -> bool:
        """True when the customer exists, has a PIN, and ``pin`` is it (constant-time)."""
        no = (no or "").strip().upper()
        row = await self._fetchrow("SELECT pin_hash FROM customers WHERE customer_no = $1", no)
        if row is None or not row["pin_hash"] or not isinstance(pin, str):
            return False
        ok, upgraded = await asyncio.to_thread(pins.check_and_upgrade, pin, row["pin_hash"])
        if upgraded:
            await self.execute(pins.UPGRADE_SQL, no, upgraded, row["pin_hash"])
        return ok

    # -- work orders ----------------------------------------------------------------------------

    async def recent_work_orders(self, caller_number: str | None = None, customer_id: int | None = None,
                                 limit: int = 5, *, customer_no: str | None = None,
                                 phone: str | None = None) -> list[WorkOrder]:
        """The latest work orders of a customer (by id or number, incl. calls from their phones)
        and/or of a calling number (any written form), newest first."""
        conds, args = [], []
        # A customer's calls are those recorded as theirs and those from their numbers (e.g.
        # made while the lookup was impossible).
        if customer_id is not None:
            args.append(customer_id)
            conds.append(f"w.customer_id = ${len(args)}")
            conds.append(f"w.caller_key IN (SELECT phone FROM customer_phones WHERE customer_id = ${len(args)})")
        if customer_no:
            args.append(customer_no.strip().upper())
            conds.append(f"c.customer_no = ${len(args)}")
            conds.append(f"w.caller_key IN (SELECT p.phone FROM customer_phones p JOIN customers k "
                         f"ON k.id = p.customer_id WHERE k.customer_no = ${len(args)})")
        key = normalize_phone(caller_number or phone)
        if key:
            args.append(key)
            conds.append(f"w.caller_key = ${len(args)}")
        if not conds:
            return []
        args.append(max(0, int(limit)))
        rows = await self._fetch(f"{_WO_SELECT} WHERE {' OR '.join(conds)} "
                                 f"ORDER BY w.created_at DESC, w.id DESC LIMIT ${len(args)}", *args)
        return [_work_order(r) for r in rows]

    async def list_work_orders(self, date: dt.date | str | None = None, agent_id: str | None = None,
                               caller: str | None = None, disposition: str | None = None, limit: int = 50,
                               offset: int = 0, status: tuple[str, ...] = ()) -> list[WorkOrder]:
        """Work orders newest first. ``date`` is the UTC calendar day of the call's start;
        ``caller`` matches part of the number or name, or the number in another written form;
        ``status`` any of these lifecycle states (``draft`` includes a call nobody wrote up)."""
        conds, args = [], []
        if date is not None:
            day = dt.date.fromisoformat(date) if isinstance(date, str) else date
            start = dt.datetime.combine(day, dt.time(), dt.timezone.utc)
            args += [start, start + dt.timedelta(days=1)]
            conds.append(f"w.created_at >= ${len(args) - 1} AND w.created_at < ${len(args)}")
        if agent_id:
            args.append(agent_id)
            conds.append(f"w.agent_id = ${len(args)}")
        if caller:
            args.append(_like(caller))
            like = f"(w.caller_number ILIKE ${len(args)} OR w.caller_name ILIKE ${len(args)}"
            key = normalize_phone(caller)
            if key:
                args.append(key)
                like += f" OR w.caller_key = ${len(args)}"
            conds.append(like + ")")
        if disposition:
            args.append(disposition)
            conds.append(f"w.disposition = ${len(args)}")
        if status:
            args.append(list(status))
            conds.append(f"(w.status = ANY(${len(args)}::text[])" + (" OR w.status IS NULL)" if "draft" in status else ")"))
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        args += [max(0, int(limit)), max(0, int(offset))]
        rows = await self._fetch(f"{_WO_SELECT} {where} ORDER BY w.created_at DESC, w.id DESC "
                                 f"LIMIT ${len(args) - 1} OFFSET ${len(args)}", *args)
        return [_work_order(r) for r in rows]

    async def get_work_order(self, id_or_ref: str | int) -> WorkOrder | None:
        """One work order with its history, by numeric id, ref (WO-...) or linkedid."""
        cond, arg = workflow.key_condition(id_or_ref)

        async def read(conn: asyncpg.Connection) -> WorkOrder | None:
            row = await conn.fetchrow(f"{_WO_SELECT} WHERE {cond}", arg)
            if row is None:
                return None
            events = await conn.fetch("SELECT id, kind, at, data FROM work_order_events WHERE linkedid = $1 "
                                      "ORDER BY id", row["linkedid"])  # the order the server learned them
            return _work_order(row, tuple(WorkOrderEvent(e["id"], e["kind"], e["at"], e["data"] or {})
                                          for e in events))

        return await self._run(read)

    async def work_order_row(self, id_or_ref: str | int) -> WorkOrder | None:
        """One work order without its call events (by id, ref or linkedid), or None."""
        cond, arg = workflow.key_condition(id_or_ref)
        row = await self._fetchrow(f"{_WO_SELECT} WHERE {cond}", arg)
        return _work_order(row) if row else None

    async def work_order_history(self, linkedid: str) -> list[HistoryEntry]:
        """The changes people made to a work order, oldest first."""
        return await self._run(lambda c: workflow.history(c, linkedid))

    async def work_orders_waiting(self, account_id: str, departments: list[str], *, center: bool = False,
                                  limit: int = 100) -> list[WorkOrder]:
        """The task bar: what waits for this person (see store/workflow.py), soonest due first."""
        rows = await self._run(lambda c: workflow.waiting(c, _WO_SELECT, account_id, list(departments), center,
                                                          limit))
        return [_work_order(r) for r in rows]

    async def overdue_work_orders(self, now: dt.datetime, *, account_id: str | None = None,
                                  departments: list[str] | None = None, limit: int = 200,
                                  since: dt.datetime | None = None) -> list[WorkOrder]:
        """Open work orders past due (everyone's when ``account_id`` is None), most overdue first."""
        rows = await self._run(lambda c: workflow.overdue(c, _WO_SELECT, now, account_id, list(departments or ()),
                                                          limit, since))
        return [_work_order(r) for r in rows]

    async def search_work_orders(self, condition: str, args: list[Any]) -> list[WorkOrder]:
        """Work orders matching a condition on ``w`` built by ctiserver/workorders/search.py (its values
        always as arguments), with its ORDER BY and LIMIT."""
        return [_work_order(r) for r in await self._fetch(f"{_WO_SELECT} WHERE {condition}", *args)]

    async def work_orders_between(self, start: dt.datetime, end: dt.datetime) -> list[WorkOrder]:
        """Every work order of calls started in ``[start, end)`` (no limit: for the day's statistics)."""
        rows = await self._fetch(f"{_WO_SELECT} WHERE w.created_at >= $1 AND w.created_at < $2 "
                                 "ORDER BY w.created_at, w.id", start, end)
        return [_work_order(r) for r in rows]

    async def events_of_kinds(self, kinds: tuple[str, ...], start: dt.datetime, end: dt.datetime,
                              limit: int = 500) -> list[dict]:
        """Work-order history entries of these kinds in ``[start, end)``, newest first, with their call's ref."""
        rows = await self._fetch(
            "SELECT e.id, e.kind, e.at, e.data, e.linkedid, w.ref FROM work_order_events e "
            "LEFT JOIN work_orders w ON w.linkedid = e.linkedid "
            "WHERE e.kind = ANY($1::text[]) AND e.at >= $2 AND e.at < $3 ORDER BY e.at DESC, e.id DESC LIMIT $4",
            list(kinds), start, end, limit)
        return [{"id": r["id"], "kind": r["kind"], "at": r["at"].isoformat(), "data": r["data"] or {},
                 "linkedid": r["linkedid"], "ref": r["ref"]} for r in rows]

    async def ring_ends(self, start: dt.datetime, end: dt.datetime) -> list[RingEnd]:
        """Agents rung without answering in ``[start, end)`` (``ring_ended`` events; ``why`` says how)."""
        return await self._run(lambda c: daily.ring_ends(c, start, end))

    # -- agent state log and desired sign-in -----------------------------------------------------

    async def agent_state_log(self, start: dt.datetime, end: dt.datetime,
                              agent_id: str | None = None) -> list[StateLogEntry]:
        """Transitions in ``[start, end)`` plus each agent's last one before ``start``, by agent and time."""
        return await self._run(lambda c: daily.state_log(c, start, end, agent_id))

    async def set_signin(self, agent_id: str, queues: dict[str, int], paused: bool = False,
                         reason: str | None = None) -> None:
        """Record that ``agent_id`` should be signed in to ``queues`` (queue -> penalty), paused or not.

        A journaled op like the state log (see docs/statistics.md): it returns once the op is
        in the journal, never fails for a PostgreSQL outage, and lands in order with the
        agent's state changes. Raises InvalidInput for a malformed value.
        """
        self.submit(SigninOp.new(agent_id, dict(queues), paused, reason))

    async def clear_signin(self, agent_id: str) -> None:
        """Record that ``agent_id`` should not be signed in (journaled like ``set_signin``)."""
        self.submit(SigninOp.new(agent_id, None))

    async def list_signins(self, timeout: float = 5.0) -> list[Signin]:
        """Who should be signed in, by agent id, including every sign-in change submitted so far.

        Waits up to ``timeout`` for the writer to commit what is pending; StoreUnavailable when
        PostgreSQL is away (the caller then keeps what it knows in memory).
        """
        if self._writer.pending and self._writer.started:
            try:
                await self._writer.flush(timeout)
            except TimeoutError:
                raise StoreUnavailable(f"PostgreSQL at {self.target} is unavailable: "
                                       f"{self._writer.pending} writes still pending") from None
        return await self._run(daily.signins)

    # -- marquee ---------------------------------------------------------------------------------

    async def post_marquee(self, text: str, by_agent_id: str, expires_at: dt.datetime | None = None) -> Marquee:
        """Store a notice now (direct write: the poster is told at once if PostgreSQL is away)."""
        row = await self._fetchrow("INSERT INTO marquee (text, posted_by, expires_at) VALUES ($1, $2, $3) "
                                   "RETURNING id, text, posted_by, posted_at, expires_at", text, by_agent_id, expires_at)
        assert row is not None
        return Marquee(**dict(row))

    async def active_marquee(self, now: dt.datetime | None = None, limit: int = 20) -> list[Marquee]:
        """Notices not expired at ``now``, oldest first (the latest ``limit``)."""
        now = now or dt.datetime.now(dt.timezone.utc)
        rows = await self._fetch(
            "SELECT * FROM (SELECT id, text, posted_by, posted_at, expires_at FROM marquee "
            "WHERE expires_at IS NULL OR expires_at > $1 ORDER BY posted_at DESC, id DESC LIMIT $2) m "
            "ORDER BY posted_at, id", now, limit)
        return [Marquee(**dict(r)) for r in rows]

    # -- accounts ----------------------------------------------------------------------------------

    async def upsert_agents(self, accounts: list[tuple[str, str, str, str, str, dict[str, int]]]) -> int:
        """Create or update agent accounts: (login, name, role, password_hash, interface, queues).

        The password must already be hashed (ctiserver.agents.passwords.hash_password). Returns
        how many rows were written. Used by provisioning scripts and the benchmark.
        """
        for login, name, role, pw, interface, queues in accounts:
            if not login or not name or role not in ("agent", "supervisor", "admin") or not pw:
                raise InvalidInput(f"bad account {login!r}", field="login")

        async def write(conn: asyncpg.Connection) -> int:
            async with conn.transaction():
                await conn.executemany(
                    "INSERT INTO agents (id, login, name, role, password_hash, interface, queues) "
                    "VALUES ($1, $1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, "
                    "role = EXCLUDED.role, password_hash = EXCLUDED.password_hash, "
                    "interface = EXCLUDED.interface, queues = EXCLUDED.queues", accounts)
            return len(accounts)

        return await self._run(write)

    # -- demo data ----------------------------------------------------------------------------------

    async def seed_demo(self) -> None:
        """Create the demo accounts and customers that are missing (never changes existing ones)."""
        have_agents = {r["login"] for r in await self._fetch("SELECT login FROM agents")}
        have_customers = {r["customer_no"] for r in await self._fetch("SELECT customer_no FROM customers")}
        agents = [a for a in demo.DEMO_AGENTS if a[0] not in have_agents]
        customers = [c for c in demo.DEMO_CUSTOMERS if c[0] not in have_customers]
        agent_hashes = await asyncio.gather(*(asyncio.to_thread(hash_password, a[0]) for a in agents))
        pin_hashes = [pins.hash_pin(c[4]) for c in customers]

        async def seed(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                for (login, name, role, interface, queues), pw in zip(agents, agent_hashes):
                    await conn.execute(
                        "INSERT INTO agents (id, login, name, role, password_hash, interface, queues) "
                        "VALUES ($1, $1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                        login, name, role, pw, interface, queues)
                for (no, name, klass, phones, _pin, note), pin in zip(customers, pin_hashes):
                    cid = await conn.fetchval(
                        "INSERT INTO customers (customer_no, name, class, pin_hash, note) VALUES ($1, $2, $3, $4, $5) "
                        "ON CONFLICT (customer_no) DO NOTHING RETURNING id", no, name, klass, pin, note)
                    for phone in phones if cid is not None else ():
                        await conn.execute("INSERT INTO customer_phones (phone, customer_id) VALUES ($1, $2) "
                                           "ON CONFLICT DO NOTHING", normalize_phone(phone), cid)

        await self._run(seed)
        if agents or customers:
            log.info("demo_seeded", agents=len(agents), customers=len(customers))
