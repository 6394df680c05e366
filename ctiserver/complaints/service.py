"""Complaint early warning (seed 001): thresholds, their evaluation, the warnings and their statistics.

The watch follows the work-order changes people make (it sees each ``workorder_task`` the
work-order service publishes, through :meth:`ComplaintWatch.observing`): when one touches a
complaint, the thresholds are read again once the change is in PostgreSQL. It also reads them
every ``interval`` seconds, since answered calls (the rate's denominator) and a new day change
the figures too. Evaluations never overlap: changes arriving during one ask for one more.

A threshold crossed in a period raises one warning for that period (PostgreSQL's unique key
makes it once, however many servers or evaluations race): it is pushed to supervisors as a
``notice`` {kind: "complaint_warning"} and kept until a supervisor acknowledges it (audited).

Periods that ended without a final reading are read late: an evaluation also reads each
threshold's past periods that were still running at the last evaluation that read every
threshold (PostgreSQL away across midnight, an evaluation failing), or, before any such
evaluation in this process (a restart), the period just before the current one. A warning
raised for a period already over is marked ``late`` (raised at or after its end). An
evaluation PostgreSQL refuses is tried again every ``pace_seconds`` until it is through.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from ctiserver.apischema import DATE, INT, NUM, STR, array, enum, mapping, nullable, obj
from ctiserver.complaints import queries as q
from ctiserver.complaints.model import threshold_fields
from ctiserver.complaints.periods import (
    PERIODS,
    measure,
    period_bounds,
    periods_between,
    rate,
)
from ctiserver.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from ctiserver.push.hub import SUPERVISORS

log = structlog.get_logger(__name__)

# How many past periods of one threshold a late evaluation reads at most (a day threshold:
# about two months of outage).
MAX_LATE_PERIODS = 62

# Lifecycle steps after which the complaint figures may have changed.
_TOUCHING = frozenset(
    {"submit", "create", "save", "reactivate", "withdraw", "callback"}
)


def _role(account: Any) -> str:
    return str(getattr(account.role, "value", account.role))


def require_admin(account: Any, what: str) -> None:
    if _role(account) != "admin":
        raise Forbidden(f"only admins may {what}")


def require_supervisor(account: Any, what: str) -> None:
    if _role(account) not in ("supervisor", "admin"):
        raise Forbidden(f"only supervisors may {what}")


class _Observed:
    """A publisher that hands every message on and lets the watch look at work-order changes."""

    def __init__(self, inner: Any, look: Callable[[str, dict], None]) -> None:
        self.inner = inner
        self.look = look

    def publish(self, type: str, data: dict, audience: Any) -> None:
        self.inner.publish(type, data, audience)
        try:
            self.look(type, data)
        except Exception:
            log.exception("complaint_watch_look_failed")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


# The schema of ComplaintWatch.statistics().
STATISTICS = obj(
    {"period": enum(*PERIODS), "from": DATE, "to": DATE, "category": STR, "queue": nullable(STR), "timezone": STR,
     "subcategories": array(STR),
     "rows": array(obj({"period_start": DATE, "complaints": INT, "repeats": INT, "answered": INT,
                        "by_subcategory": mapping(INT),  # sub-category ("—": none) -> complaints
                        "rate": nullable(NUM)}, closed=True))},
    closed=True,
)


class ComplaintWatch:
    def __init__(
        self,
        store: Any,
        hub: Any,
        *,
        categories: Mapping[str, tuple[str, ...]],
        queues: Iterable[str],
        timezone: str,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        settle_seconds: float = 5.0,
        pace_seconds: float = 5.0,
    ) -> None:
        self.store = store
        self.hub = hub
        self.categories = dict(categories)
        self.queues = tuple(queues)
        self.tz = ZoneInfo(timezone)
        self.timezone = timezone
        self.now = now
        self.settle_seconds = settle_seconds
        self.pace_seconds = pace_seconds
        self._last_start = float("-inf")
        # The enabled thresholds as last read; the unacknowledged warnings, newest first
        # (what a supervisor's snapshot holds).
        self.thresholds_cache: list[dict[str, Any]] = []
        self.open: list[dict[str, Any]] = []
        self._task: asyncio.Task | None = None
        self._again = False
        self._one_at_a_time = (
            asyncio.Lock()
        )  # the periodic pass and one a complaint asked for
        self.evaluations = 0
        # ``now`` of the last evaluation that read every threshold (None: none yet here)
        self.evaluated_at: dt.datetime | None = None

    # -- following work-order changes ----------------------------------------------------------

    def observing(self, publisher: Any) -> _Observed:
        """``publisher`` as the work-order service should use it: unchanged, and watched."""
        return _Observed(publisher, self.look)

    def look(self, type: str, data: dict) -> None:
        """A pushed message: a change to a complaint asks for an evaluation."""
        if type != "workorder_task" or data.get("why") not in _TOUCHING:
            return
        draft = data.get("status") in (None, "draft")
        if draft and data.get("why") in ("save", "create"):
            # a draft counts for nothing yet (an autosave comes every few seconds while typing)
            return
        category = data.get("category")
        if category is None or category not in self._watched_categories():
            return  # no threshold counts it (one being created evaluates by itself)
        self.poke()

    def _watched_categories(self) -> set[str]:
        return {t["category"] for t in self.thresholds_cache}

    def poke(self) -> None:
        """Evaluate soon (once the pending writes are in); coalesces with one already running."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(
            self._evaluate_soon(), name="complaint-evaluate"
        )

    async def _evaluate_soon(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._again = False
            # complaints arriving one after another: one evaluation per pace
            wait = self._last_start + self.pace_seconds - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_start = loop.time()
            try:
                await self.store.flush(timeout=self.settle_seconds)
            except (TimeoutError, RuntimeError):
                pass  # evaluate what is in; the periodic pass catches the rest
            try:
                await self.evaluate()
            except Unavailable as exc:
                # tried again after a pace: its periods may end meanwhile, read late then
                log.warning("complaint_evaluation_unavailable", error=str(exc))
                self._again = True
                continue
            except Exception:
                log.exception("complaint_evaluation_failed")
                return
            if not self._again:
                return

    async def idle(self) -> None:
        """Wait for an evaluation in progress (tests, shutdown)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def watch(self, interval: float = 60.0) -> None:
        """Evaluate every ``interval`` seconds until cancelled (a new day, answered calls)."""
        while True:
            try:
                await self.evaluate()
            except Unavailable:
                pass
            except Exception:
                log.exception("complaint_evaluation_failed")
            await asyncio.sleep(interval)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    # -- evaluation --------------------------------------------------------------------------

    async def seed_demo(self) -> None:
        """Demo mode: two thresholds to watch while none is set (the demo has no admin to set one)."""
        if await self.store.run(lambda c: q.thresholds(c)):
            return
        for fields in (
            {
                "name": "3 complaints today · 今日投诉3件",
                "measure": "count",
                "period": "day",
                "category": "complaint",
                "limit_value": 3.0,
            },
            {
                "name": "Complaint rate this week 10% · 本周投诉率10%",
                "measure": "rate",
                "period": "week",
                "category": "complaint",
                "limit_value": 0.1,
                "min_answered": 20,
            },
        ):
            if fields["category"] in self.categories:
                await self.store.run(
                    lambda c, f=fields: q.create_threshold(c, f, "demo")
                )
        log.info("complaint_thresholds_seeded")

    async def load(self) -> None:
        """Read the thresholds and the unacknowledged warnings (at start; PostgreSQL may be away)."""
        try:
            self.thresholds_cache = await self.store.run(
                lambda c: q.thresholds(c, enabled_only=True)
            )
            self.open = await self.store.run(lambda c: q.warnings(c, open_only=True))
        except Unavailable as exc:
            log.warning("complaint_watch_load_failed", error=str(exc))

    async def evaluate(self, at: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Read every enabled threshold over its current period; raise and push the new warnings."""
        async with self._one_at_a_time:
            return await self._evaluate(at)

    async def _evaluate(self, at: dt.datetime | None) -> list[dict[str, Any]]:
        now = at or self.now()
        self.evaluations += 1
        thresholds = self.thresholds_cache = await self.store.run(
            lambda c: q.thresholds(c, enabled_only=True)
        )
        raised: list[dict[str, Any]] = []
        answered_memo: dict[tuple[dt.datetime, str | None], int] = {}

        async def answered_in(
            start: dt.datetime, end: dt.datetime, queue: str | None
        ) -> int:
            # thresholds of the same period and queue share one count of answered calls
            if (start, queue) not in answered_memo:
                answered_memo[start, queue] = await self.store.run(
                    lambda c: q.answered(c, start, end, queue)
                )
            return answered_memo[start, queue]

        for t, start, end in [
            (th, s, e) for th in thresholds for s, e in self._periods(th, now)
        ]:
            late = end <= now
            complaints = await self.store.run(
                lambda c, t=t, s=start, e=end: q.complaints(
                    c, s, e, t["category"], t["subcategory"], t["queue"]
                )
            )
            # a count needs the answered calls only for the warning's record
            answered = (
                await answered_in(start, end, t["queue"])
                if t["measure"] == "rate" or complaints >= t["limit"]
                else 0
            )
            reading = measure(
                t["measure"], t["limit"], complaints, answered, t["min_answered"]
            )
            if not reading.crossed:
                continue
            assert reading.value is not None
            warning = await self.store.run(
                lambda c, t=t, s=start, e=end, r=reading: q.raise_warning(
                    c, t["id"], s, e, r.complaints, r.answered, r.value, t["limit"], now
                )
            )
            if warning is None:
                continue  # already raised in this period
            raised.append(warning)
            self.open.insert(0, warning)
            log.warning(
                "complaint_warning_raised",
                late=late,
                period_start=start.isoformat(),
                threshold=t["id"],
                name=t["name"],
                queue=t["queue"],
                category=t["category"],
                period=t["period"],
                value=reading.value,
                limit=t["limit"],
                complaints=complaints,
                answered=answered,
            )
            self.hub.publish(
                "notice", {"kind": "complaint_warning", "warning": warning}, SUPERVISORS
            )
        if at is None or self.evaluated_at is None or now > self.evaluated_at:
            self.evaluated_at = now
        return raised

    def _periods(
        self, t: dict[str, Any], now: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """The periods to read for one threshold: those ended without a final reading, then the current one.

        A past period counts if it was still running at the last complete evaluation (or, with
        none yet, it is the one just before the current period), and it ended after the
        threshold was made: a new threshold does not judge the days before it.
        """
        current = period_bounds(t["period"], now, self.tz)
        made = dt.datetime.fromisoformat(t["created_at"])
        past: list[tuple[dt.datetime, dt.datetime]] = []
        start = current[0]
        while len(past) < MAX_LATE_PERIODS:
            before = period_bounds(
                t["period"], start - dt.timedelta(seconds=1), self.tz
            )
            if before[1] <= made:
                break
            if self.evaluated_at is None:
                if past:
                    break
            elif before[1] <= self.evaluated_at:
                break
            past.append(before)
            start = before[0]
        return [*reversed(past), current]

    def snapshot(self, account: Any) -> dict[str, Any]:
        """What a supervisor's panel gets at connect: the warnings nobody acknowledged yet."""
        if _role(account) not in ("supervisor", "admin"):
            return {}
        return {"complaint_warnings": list(self.open[:50])}

    # -- thresholds (admins) ------------------------------------------------------------------

    async def thresholds(self, account: Any) -> list[dict[str, Any]]:
        require_supervisor(account, "see complaint thresholds")
        return await self.store.run(lambda c: q.thresholds(c))

    async def create(self, account: Any, body: dict[str, Any]) -> dict[str, Any]:
        require_admin(account, "set complaint thresholds")
        fields = threshold_fields(body, categories=self.categories, queues=self.queues)
        row = await self.store.run(
            lambda c: q.create_threshold(c, fields, str(account.id))
        )
        log.info(
            "complaint_threshold_created",
            threshold=row["id"],
            by=str(account.id),
            fields=body,
        )
        self.poke()
        return row

    async def change(
        self, account: Any, threshold_id: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        require_admin(account, "change complaint thresholds")
        version = body.get("version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidInput(
                "version (the threshold's version you changed) is required",
                field="version",
            )
        current = next(
            (
                t
                for t in await self.store.run(lambda c: q.thresholds(c))
                if t["id"] == threshold_id
            ),
            None,
        )
        if current is None:
            raise NotFound(f"no threshold {threshold_id}", field="id")
        fields = threshold_fields(
            body,
            categories=self.categories,
            queues=self.queues,
            partial=True,
            current=current,
        )
        if not fields:
            raise InvalidInput("nothing to change", field="name")
        out = await self.store.run(
            lambda c: q.update_threshold(
                c, threshold_id, fields, version, str(account.id)
            )
        )
        if out is None:
            raise NotFound(f"no threshold {threshold_id}", field="id")
        if isinstance(out, int):
            raise Conflict(
                f"the threshold changed meanwhile (it is at version {out}): reload it",
                code="stale_version",
                field="version",
            )
        log.info(
            "complaint_threshold_changed",
            threshold=threshold_id,
            by=str(account.id),
            fields=body,
        )
        self.poke()
        return out

    # -- warnings (supervisors) ----------------------------------------------------------------

    async def warnings(
        self, account: Any, open_only: bool = False
    ) -> list[dict[str, Any]]:
        require_supervisor(account, "see complaint warnings")
        return await self.store.run(lambda c: q.warnings(c, open_only=open_only))

    async def acknowledge(
        self, account: Any, warning_id: int, comment: str | None
    ) -> dict[str, Any]:
        require_supervisor(account, "acknowledge complaint warnings")
        out = await self.store.run(
            lambda c: q.acknowledge(c, warning_id, str(account.id), comment, self.now())
        )
        if out is None:
            raise NotFound(f"no warning {warning_id}", field="id")
        if out == "done":
            raise Conflict(
                "this warning was acknowledged already",
                code="already_acknowledged",
                field="id",
            )
        assert isinstance(out, dict)
        self.open = [w for w in self.open if w["id"] != warning_id]
        log.info(
            "complaint_warning_acknowledged", warning=warning_id, by=str(account.id)
        )
        self.hub.publish(
            "notice",
            {
                "kind": "complaint_warning_acknowledged",
                "id": warning_id,
                "by": str(account.id),
            },
            SUPERVISORS,
        )
        return out

    async def audit(self, account: Any) -> list[dict[str, Any]]:
        require_supervisor(account, "see the complaint audit")
        return await self.store.run(lambda c: q.audit(c))

    # -- statistics ------------------------------------------------------------------------------

    async def statistics(
        self,
        account: Any,
        period: str,
        first: dt.date,
        last: dt.date,
        category: str,
        queue: str | None,
    ) -> dict[str, Any]:
        """Complaints, answered calls and the rate per day, week or month over local dates [first, last]."""
        require_supervisor(account, "see complaint statistics")
        if last < first:
            raise InvalidInput("to is before from", field="to")
        spans = periods_between(period, first, last, self.tz)
        if len(spans) > 400:
            raise InvalidInput("at most 400 periods at once", field="from")
        start, end = spans[0][0], spans[-1][1]
        complaints, answered = await self.store.run(
            lambda c: q.buckets(c, period, self.timezone, start, end, category, queue)
        )
        rows: dict[dt.datetime, dict[str, Any]] = {}
        for s, _ in spans:
            local = s.astimezone(self.tz).replace(tzinfo=None)
            rows[local] = {
                "period_start": local.date().isoformat(),
                "complaints": 0,
                "repeats": 0,
                "answered": 0,
                "by_subcategory": {},
            }
        for r in complaints:
            row = rows.get(r["bucket"])
            if row is not None:
                row["complaints"] += int(r["n"])
                row["repeats"] += int(r["repeats"])
                sub = r["subcategory"] or "—"
                row["by_subcategory"][sub] = row["by_subcategory"].get(sub, 0) + int(
                    r["n"]
                )
        for r in answered:
            if r["bucket"] in rows:
                rows[r["bucket"]]["answered"] = int(r["n"])
        out = list(rows.values())
        for row in out:
            row["rate"] = rate(row["complaints"], row["answered"])
        return {
            "period": period,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "category": category,
            "queue": queue,
            "timezone": self.timezone,
            "subcategories": list(self.categories.get(category, ())),
            "rows": out,
        }
