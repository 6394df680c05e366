"""Administration: people, queues and busy reasons in PostgreSQL, each change audited in the same
transaction, optimistic versions (a stale version is a 409), and the running server kept in step
(the accounts book, a disabled person signed out of the queues and their sessions closed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog

from ctiserver.admin import people
from ctiserver.agents.accounts import account_from_row
from ctiserver.agents.passwords import (
    hash_password,
    one_time_password,
    password_problem,
    verify_password,
)
from ctiserver.apischema import ANY_OBJ, BOOL, INT, STR, TIME, nullable, obj
from ctiserver.errors import Conflict, CtiError, InvalidInput, NotFound

log = structlog.get_logger(__name__)

PERSON_SQL = (
    "SELECT id, login, name, role, department, interface, queues, phone, disabled, must_change_password, "
    "version, created_at, updated_at FROM agents"
)
UNIQUE_FIELD = {
    "agents_pkey": "login",
    "agents_login_key": "login",
    "agents_interface_active": "interface",
    "ps_endpoints_pkey": "interface",  # the extension's SIP account (ctiserver/sipaccounts)
    "agent_sip_accounts_endpoint_key": "interface",
}

# What another capability does in the same transaction as a person's change (a phone account
# made with the person, removed when they are disabled): given the connection, the actor, the
# action (person.create, person.update, person.disable, person.enable) and the written row, it
# returns the row (changed or not) and what the admin is shown once, merged into the answer.
PersonHook = Callable[
    [asyncpg.Connection, str, str, Any], Awaitable[tuple[Any, dict[str, Any]]]
]


async def run_hooks(
    conn: asyncpg.Connection,
    hooks: list[PersonHook],
    actor: str,
    action: str,
    row: Any,
) -> tuple[Any, dict[str, Any]]:
    """Every hook in turn on ``conn`` (inside the caller's transaction); their extras merged."""
    extras: dict[str, Any] = {}
    for hook in hooks:
        row, more = await hook(conn, actor, action, row)
        extras.update(more)
    return row, extras


def _conflict(exc: asyncpg.UniqueViolationError) -> Conflict:
    field = UNIQUE_FIELD.get(exc.constraint_name or "", "login")
    what = (
        "an extension already used by another active person"
        if field == "interface"
        else "login already exists"
    )
    return Conflict(f"{field}: {what}", code="duplicate", field=field)


async def audit(
    conn: asyncpg.Connection,
    actor: str,
    action: str,
    target: str,
    before: dict | None,
    after: dict | None,
) -> None:
    await conn.execute(
        "INSERT INTO admin_audit (actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5)",
        actor,
        action,
        target,
        before,
        after,
    )


async def insert_person(
    conn: asyncpg.Connection,
    actor: str,
    login: str,
    fields: dict[str, Any],
    password: str,
    must_change: bool,
) -> asyncpg.Record:
    """One new person and its audit line, on ``conn`` (inside the caller's transaction)."""
    row = await conn.fetchrow(
        "INSERT INTO agents (id, login, name, role, password_hash, interface, queues, department, "
        "must_change_password, phone) VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
        login,
        fields["name"],
        fields["role"],
        await asyncio.to_thread(hash_password, password),
        fields.get("interface", ""),
        fields.get("queues", {}),
        fields.get("department", ""),
        must_change,
        fields.get("phone", "desk"),
    )
    await audit(conn, actor, "person.create", login, None, people.audit_view(dict(row)))
    return row


def check_department(
    fields: dict[str, Any], current: dict[str, Any] | None = None
) -> None:
    role = fields.get("role", (current or {}).get("role"))
    department = fields.get("department", (current or {}).get("department", ""))
    if role == "handler" and not department:
        raise InvalidInput(
            "a back-office handler needs a department", field="department"
        )


class Admin:
    """The administration's operations; ``actor`` is the admin's agent id (or ``cli``)."""

    def __init__(
        self,
        store: Any,
        accounts: Any,
        *,
        default_queues: tuple[str, ...] = (),
        sign_out: Callable[[str], Awaitable[None]] | None = None,
        close_sessions: Callable[[str], Awaitable[int]] | None = None,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.default_queues = tuple(default_queues)
        self.sign_out = sign_out
        self.close_sessions = close_sessions
        self.queue_settings: dict[str, dict[str, Any]] = {}
        self.busy_reasons: list[str] = []
        self.applied: Callable[[], None] = lambda: (
            None
        )  # the running server follows the settings
        self.person_hooks: list[PersonHook] = []

    def _run(
        self, fn: Callable[[asyncpg.Connection], Awaitable[Any]]
    ) -> Awaitable[Any]:
        return self.store._run(fn)

    async def load(self) -> None:
        """Who is disabled or must change their password; the queue settings and busy reasons."""
        rows = await self._run(
            lambda c: c.fetch("SELECT id, disabled, must_change_password FROM agents")
        )
        self.accounts.disabled = {r["id"] for r in rows if r["disabled"]}
        self.accounts.must_change = {r["id"] for r in rows if r["must_change_password"]}
        queues = await self._run(
            lambda c: c.fetch("SELECT * FROM admin_queues ORDER BY name")
        )
        self.queue_settings = {r["name"]: _queue_json(r) for r in queues}
        reasons = await self._run(
            lambda c: c.fetch(
                "SELECT reason FROM admin_busy_reasons WHERE NOT disabled "
                "ORDER BY reason"
            )
        )
        self.busy_reasons = [r["reason"] for r in reasons]

    def known_queues(self) -> frozenset[str]:
        return frozenset(self.default_queues) | frozenset(self.queue_settings)

    # -- people ---------------------------------------------------------------------------------

    async def list_people(
        self, search: str = "", include_disabled: bool = True
    ) -> list[dict]:
        like = (
            "%"
            + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            + "%"
        )
        rows = await self._run(
            lambda c: c.fetch(
                PERSON_SQL
                + " WHERE (login ILIKE $1 OR name ILIKE $1 OR interface ILIKE $1 OR department ILIKE $1)"
                " AND ($2 OR NOT disabled) ORDER BY login",
                like,
                include_disabled,
            )
        )
        return [people.person_json(r) for r in rows]

    async def get_person(self, login: str) -> dict:
        row = await self._run(
            lambda c: c.fetchrow(PERSON_SQL + " WHERE login = $1", login)
        )
        if row is None:
            raise NotFound(f"no person with login {login!r}", field="login")
        return people.person_json(row)

    async def create_person(
        self, actor: str, body: dict[str, Any]
    ) -> tuple[dict, str | None]:
        """A new person; returns it and the one-time password when none was given."""
        login = people.check_login(body.get("login"))
        fields = people.check_fields(body, self.known_queues(), partial=False)
        check_department(fields)
        password, shown = body.get("password"), None
        if password is None:
            password = shown = one_time_password()
        problem = password_problem(password, login)
        if problem:
            raise InvalidInput(problem, code="weak_password", field="password")
        must_change = shown is not None or bool(body.get("must_change_password", False))

        async def write(conn: asyncpg.Connection) -> tuple[Any, dict[str, Any]]:
            async with conn.transaction():
                row = await insert_person(
                    conn, actor, login, fields, password, must_change
                )
                return await run_hooks(
                    conn, self.person_hooks, actor, "person.create", row
                )

        try:
            row, extras = await self._run(write)
        except asyncpg.UniqueViolationError as exc:
            raise _conflict(exc) from None
        self._refresh(row)
        log.info("admin_person_created", agent=login, by=actor, role=fields["role"])
        return {**people.person_json(row), **extras}, shown

    async def update_person(self, actor: str, login: str, body: dict[str, Any]) -> dict:
        """Edit name, role, department, interface, queues; ``version`` must be the current one."""
        version = _version(body)
        fields = people.check_fields(body, self.known_queues(), partial=True)
        current = await self.get_person(login)
        check_department(fields, current)
        if not fields:
            raise InvalidInput("nothing to change", field="name")

        extras: dict[str, Any] = {}

        async def write(conn: asyncpg.Connection) -> asyncpg.Record | None:
            async with conn.transaction():
                sets = ", ".join(f"{k} = ${i + 3}" for i, k in enumerate(fields))
                row = await conn.fetchrow(
                    f"UPDATE agents SET {sets}, version = version + 1, updated_at = now() "
                    "WHERE login = $1 AND version = $2 RETURNING *",
                    login,
                    version,
                    *fields.values(),
                )
                if row is not None:
                    await audit(
                        conn,
                        actor,
                        "person.update",
                        login,
                        people.audit_view(current),
                        people.audit_view(dict(row)),
                    )
                    row, more = await run_hooks(
                        conn, self.person_hooks, actor, "person.update", row
                    )
                    extras.update(more)
                return row

        try:
            row = await self._run(write)
        except asyncpg.UniqueViolationError as exc:
            raise _conflict(exc) from None
        if row is None:
            raise _stale(await self.get_person(login), version)
        self._refresh(row)
        return {**await self.get_person(login), **extras}

    async def set_disabled(
        self, actor: str, login: str, disabled: bool, version: Any
    ) -> dict:
        """Disable (signed out of the queues at once, sessions closed, a call in progress goes on) or
        re-enable a person. Never deletes: work orders keep their people."""
        version = _version({"version": version})
        current = await self.get_person(login)
        extras: dict[str, Any] = {}

        async def write(conn: asyncpg.Connection) -> asyncpg.Record | None:
            async with conn.transaction():
                row = await conn.fetchrow(
                    "UPDATE agents SET disabled = $3, version = version + 1, updated_at = now() "
                    "WHERE login = $1 AND version = $2 RETURNING *",
                    login,
                    version,
                    disabled,
                )
                if row is not None:
                    await audit(
                        conn,
                        actor,
                        "person.disable" if disabled else "person.enable",
                        login,
                        people.audit_view(current),
                        people.audit_view(dict(row)),
                    )
                    row, more = await run_hooks(
                        conn,
                        self.person_hooks,
                        actor,
                        "person.disable" if disabled else "person.enable",
                        row,
                    )
                    extras.update(more)
                return row

        try:
            row = await self._run(write)
        except (
            asyncpg.UniqueViolationError
        ) as exc:  # re-enabled onto an extension now used by someone else
            raise _conflict(exc) from None
        if row is None:
            raise _stale(await self.get_person(login), version)
        agent_id = row["id"]
        if disabled:
            self.accounts.disabled.add(agent_id)
            if self.sign_out is not None:
                await self.sign_out(agent_id)
            closed = await self.close_sessions(agent_id) if self.close_sessions else 0
            log.info(
                "admin_person_disabled", agent=agent_id, by=actor, sockets_closed=closed
            )
        else:
            self.accounts.disabled.discard(agent_id)
            self._refresh(row)
            log.info("admin_person_enabled", agent=agent_id, by=actor)
        return {**await self.get_person(login), **extras}

    async def reset_password(
        self,
        actor: str,
        login: str,
        password: str | None = None,
        must_change: bool = True,
    ) -> str | None:
        """A new password (given, or a one-time one returned once); the next sign-in may have to change it."""
        current = await self.get_person(login)
        shown = None
        if password is None:
            password = shown = one_time_password()
        problem = password_problem(password, login)
        if problem:
            raise InvalidInput(problem, code="weak_password", field="password")
        hashed = await asyncio.to_thread(hash_password, password)

        async def write(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await conn.execute(
                    "UPDATE agents SET password_hash = $2, must_change_password = $3, "
                    "version = version + 1, updated_at = now() WHERE login = $1",
                    login,
                    hashed,
                    must_change,
                )
                await audit(
                    conn,
                    actor,
                    "person.password_reset",
                    login,
                    None,
                    {"must_change_password": must_change},
                )

        await self._run(write)
        (
            self.accounts.must_change.add
            if must_change
            else self.accounts.must_change.discard
        )(current["id"])
        log.info(
            "admin_password_reset",
            agent=current["id"],
            by=actor,
            must_change=must_change,
        )
        return shown

    async def change_own_password(
        self, agent_id: str, login: str, old: str, new: str
    ) -> None:
        """The signed-in person changes their password (forced after a reset)."""
        row = await self._run(
            lambda c: c.fetchrow(
                "SELECT password_hash FROM agents WHERE id = $1", agent_id
            )
        )
        if row is None or not await asyncio.to_thread(
            verify_password, old, row["password_hash"]
        ):
            raise InvalidInput(
                "the current password is wrong", field="current_password"
            )
        if new == old:
            raise InvalidInput(
                "the new password must differ from the current one",
                field="new_password",
            )
        problem = password_problem(new, login)
        if problem:
            raise InvalidInput(problem, code="weak_password", field="new_password")
        hashed = await asyncio.to_thread(hash_password, new)

        async def write(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await conn.execute(
                    "UPDATE agents SET password_hash = $2, must_change_password = false, "
                    "version = version + 1, updated_at = now() WHERE id = $1",
                    agent_id,
                    hashed,
                )
                await audit(
                    conn, agent_id, "person.password_changed", login, None, None
                )

        await self._run(write)
        self.accounts.must_change.discard(agent_id)

    async def must_change(self, agent_id: str) -> bool:
        """Whether this person must change their password first (read from PostgreSQL: the CLI may
        have reset it while the server runs)."""
        flag = await self._run(
            lambda c: c.fetchval(
                "SELECT must_change_password FROM agents WHERE id = $1", agent_id
            )
        )
        (self.accounts.must_change.add if flag else self.accounts.must_change.discard)(
            agent_id
        )
        return bool(flag)

    def _refresh(self, row: Any) -> None:
        """The running server sees the new or edited account at once."""
        if row["disabled"]:
            return
        fields = {k: row[k] for k in ("id", "login", "name", "role", "interface")}
        fields["queues"] = row["queues"] or {}
        account = account_from_row(_Row(**fields))
        book = self.accounts.book
        book.set_accounts(
            [*(a for a in book.by_id.values() if a.id != account.id), account]
        )

    # -- queues and busy reasons ------------------------------------------------------------------

    async def put_queue(self, actor: str, name: str, body: dict[str, Any]) -> dict:
        """Create (no version) or change (the current version) a queue the CTI owns and its settings."""
        from ctiserver.web import validate as v

        name = v.token(
            name,
            "name",
            pattern=r"[A-Za-z0-9_-]{1,40}",
            max_len=40,
            what="a queue name",
        )
        wrapup = v.integer(
            body.get("wrapup_seconds"), "wrapup_seconds", minimum=0, maximum=3600
        )
        level = v.integer(
            body.get("service_level_seconds"),
            "service_level_seconds",
            minimum=1,
            maximum=3600,
        )
        recording = body.get("recording", False)
        if not isinstance(recording, bool):
            raise InvalidInput("recording must be true or false", field="recording")
        before = self.queue_settings.get(name)
        version = body.get("version")

        async def write(conn: asyncpg.Connection) -> asyncpg.Record | None:
            async with conn.transaction():
                if version is None:
                    row = await conn.fetchrow(
                        "INSERT INTO admin_queues (name, wrapup_seconds, service_level_seconds, recording) "
                        "VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING *",
                        name,
                        wrapup,
                        level,
                        recording,
                    )
                else:
                    row = await conn.fetchrow(
                        "UPDATE admin_queues SET wrapup_seconds = $3, service_level_seconds = $4, recording = $5, "
                        "version = version + 1, updated_at = now() WHERE name = $1 AND version = $2 RETURNING *",
                        name,
                        _version(body),
                        wrapup,
                        level,
                        recording,
                    )
                if row is not None:
                    await audit(
                        conn,
                        actor,
                        "queue.create" if version is None else "queue.update",
                        name,
                        before,
                        _audit_queue(row),
                    )
                return row

        row = await self._run(write)
        if row is None:
            if version is None:
                raise Conflict(
                    f"queue {name!r} exists; give its version to change it",
                    code="duplicate",
                    field="name",
                )
            current = self.queue_settings.get(name)
            if current is None:
                raise NotFound(f"no queue {name!r}", field="name")
            raise Conflict(
                f"queue {name!r} was changed meanwhile (version {current['version']})",
                code="stale_version",
                field="version",
            )
        self.queue_settings[name] = _queue_json(row)
        return self.queue_settings[name]

    async def set_busy_reasons(self, actor: str, reasons: Any) -> list[str]:
        """The busy reasons agents choose from (the list replaces the previous one; old ones are
        kept disabled so past pauses still read)."""
        from ctiserver.web import validate as v

        if not isinstance(reasons, list) or not reasons or len(reasons) > 50:
            raise InvalidInput(
                "reasons must be a list of 1 to 50 reasons", field="reasons"
            )
        clean = [
            v.token(
                r,
                f"reasons[{i}]",
                pattern=r"[^\s|:,]{1,40}",
                max_len=40,
                what="one word without '|', ':' or ','",
            )
            for i, r in enumerate(reasons)
        ]
        before = list(self.busy_reasons)

        async def write(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await conn.execute(
                    "UPDATE admin_busy_reasons SET disabled = NOT (reason = ANY($1::text[])), "
                    "version = version + 1",
                    clean,
                )
                await conn.executemany(
                    "INSERT INTO admin_busy_reasons (reason) VALUES ($1) ON CONFLICT (reason) "
                    "DO UPDATE SET disabled = false",
                    [(r,) for r in clean],
                )
                await audit(
                    conn,
                    actor,
                    "busy_reasons.set",
                    "busy_reasons",
                    {"reasons": before},
                    {"reasons": clean},
                )

        await self._run(write)
        self.busy_reasons = list(dict.fromkeys(clean))
        self.applied()
        return self.busy_reasons

    async def audit_list(
        self, limit: int = 200, target: str | None = None
    ) -> list[dict]:
        rows = await self._run(
            lambda c: c.fetch(
                "SELECT id, at, actor, action, target, before, after FROM admin_audit "
                "WHERE ($2::text IS NULL OR target = $2) ORDER BY id DESC LIMIT $1",
                limit,
                target,
            )
        )
        return [dict(r) for r in rows]


class _Row:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


# The schemas of _queue_json() and of an admin_audit row (before/after: what changed, as audited).
QUEUE = obj({"name": STR, "wrapup_seconds": INT, "service_level_seconds": INT, "recording": BOOL, "version": INT},
            closed=True)
AUDIT_ENTRY = obj(
    {"id": INT, "at": TIME, "actor": STR, "action": STR, "target": nullable(STR), "before": nullable(ANY_OBJ),
     "after": nullable(ANY_OBJ)},
    closed=True,
)


def _queue_json(row: Any) -> dict[str, Any]:
    return {
        "name": row["name"],
        "wrapup_seconds": row["wrapup_seconds"],
        "service_level_seconds": row["service_level_seconds"],
        "recording": row["recording"],
        "version": row["version"],
    }


def _audit_queue(row: Any) -> dict[str, Any]:
    q = _queue_json(row)
    q.pop("version")
    return q


def _version(body: dict[str, Any]) -> int:
    value = body.get("version")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("version (the one last read) is required", field="version")
    return value


def _stale(current: dict, version: int) -> Conflict:
    return Conflict(
        f"{current['login']} was changed meanwhile (version {current['version']}, not {version}); "
        "reload and retry",
        code="stale_version",
        field="version",
    )


__all__ = ["Admin", "CtiError"]
