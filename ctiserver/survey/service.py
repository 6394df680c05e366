"""``UserEvent(CtiSurvey)`` from the IVR -> the ``survey`` step of the call's work order.

The survey node sends ``Outcome: started`` as it asks, then ``rated`` (``Rating: n``),
``invalid`` (only wrong keys) or ``no_key``. A caller who hangs up meanwhile cannot send
anything: the call's end with a survey still open is recorded as ``hung_up``. Each step
names the agent who had the call and its queue, which the statistics count
(``ctiserver/stats/surveys.py``). A rating at or under ``low_rating`` opens a callback
work order (``callbacks.py``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from ctiserver.ami.events import UserEvent
from ctiserver.calls import model as m
from ctiserver.workorders.projection import final_agent, ref_for

log = structlog.get_logger(__name__)

OUTCOMES = frozenset({"rated", "invalid", "no_key"})


@dataclass(frozen=True, slots=True)
class SurveyResult:
    """One finished survey: what the work order and a low-rating callback need."""

    linkedid: str
    ref: str
    outcome: str  # rated | invalid | no_key | hung_up
    rating: int | None
    scale: int
    agent: str | None
    queue: str | None
    caller: str
    customer_no: str


@dataclass
class _Open:
    node: str
    scale: int
    at: float


class Surveys:
    """Follows each call's survey from the IVR's user events to the work order."""

    def __init__(
        self,
        record: Callable[[m.CallStep], None],
        agent_of: Callable[[str], str],
        *,
        low_rating: int = 2,
        on_low: Callable[[SurveyResult], Awaitable[None]] | None = None,
        run: Callable[[Any], None] | None = None,
    ) -> None:
        self.record = record
        self.agent_of = agent_of
        self.low_rating = low_rating
        self.on_low = on_low
        self.run = run
        self.calls: dict[
            str, m.Call
        ] = {}  # live calls, to know who had the call when the survey ends
        self.open: dict[str, _Open] = {}

    def snapshot(self, account: Any) -> dict[str, Any]:
        """What a supervisor's figure card needs beside the day's survey figures: which rating is low."""
        if not getattr(account, "is_supervisor", False):
            return {"survey": None}
        return {"survey": {"low_rating": self.low_rating}}

    def on_call_event(self, ce: object) -> None:
        call = getattr(ce, "call", None)
        if not isinstance(call, m.Call):
            return
        if isinstance(ce, m.CallEnded):
            self.calls.pop(call.linkedid, None)
            survey = self.open.pop(call.linkedid, None)
            if survey is not None:
                self._finish(call, call.linkedid, "hung_up", None, survey.scale, ce.at)
            return
        self.calls[call.linkedid] = call

    def on_ami_event(self, e: object) -> None:
        if not isinstance(e, UserEvent) or e.name != "CtiSurvey" or not e.linkedid:
            return
        fields = {k.lower(): v for k, v in e.fields.items()}
        outcome = fields.get("outcome", "")
        at = e.at or time.time()
        scale = _int(fields.get("scale")) or (
            self.open[e.linkedid].scale if e.linkedid in self.open else 5
        )
        call = self.calls.get(e.linkedid)
        if outcome == "started":
            self.open[e.linkedid] = _Open(fields.get("node", "")[:64], scale, at)
            self.record(
                m.CallStep(
                    e.linkedid,
                    "survey_started",
                    {"node": fields.get("node", "")[:64], **self._who(call)},
                    at,
                )
            )
            log.info("survey_started", linkedid=e.linkedid, **self._who(call))
            return
        if outcome not in OUTCOMES:
            log.warning(
                "survey_event_unknown", linkedid=e.linkedid, outcome=outcome[:32]
            )
            return
        rating = _int(fields.get("rating"))
        if outcome == "rated" and not (rating and 1 <= rating <= scale):
            log.warning(
                "survey_rating_out_of_scale",
                linkedid=e.linkedid,
                rating=fields.get("rating", "")[:8],
            )
            return
        self.open.pop(e.linkedid, None)
        self._finish(
            call, e.linkedid, outcome, rating if outcome == "rated" else None, scale, at
        )

    def _who(self, call: m.Call | None) -> dict[str, Any]:
        if call is None:
            return {"agent": None, "queue": None}
        interface = final_agent(call)
        return {
            "agent": (self.agent_of(interface) or None) if interface else None,
            "queue": call.queue or None,
        }

    def _finish(
        self,
        call: m.Call | None,
        linkedid: str,
        outcome: str,
        rating: int | None,
        scale: int,
        at: float,
    ) -> None:
        who = self._who(call)
        data = {"outcome": outcome, "rating": rating, "scale": scale, **who}
        self.record(m.CallStep(linkedid, "survey", data, at))
        log.info("survey", linkedid=linkedid, outcome=outcome, rating=rating, **who)
        if (
            rating is None
            or rating > self.low_rating
            or self.on_low is None
            or self.run is None
        ):
            return
        result = SurveyResult(
            linkedid,
            ref_for(linkedid, call.started_at) if call else "",
            outcome,
            rating,
            scale,
            who["agent"],
            who["queue"],
            call.caller_num if call else "",
            call.customer_no if call else "",
        )
        self.run(self.on_low(result))


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None
