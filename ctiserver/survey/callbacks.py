"""A low survey rating opens a callback work order (回访) for the center, through the work-order actions.

It is created as a call-less work order in the name of the ``survey`` system account
(``created_by = survey``), linked to the caller and the customer, with the rated call's
reference, agent and queue in its request, then submitted to ``survey.callback_department``
so that department's handlers find it in their task bar at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from ctiserver.errors import CtiError
from ctiserver.survey.service import SurveyResult

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SystemAccount:
    """Who the work order's history names for what the survey did itself."""

    id: str = "survey"
    role: str = "supervisor"
    name: str = "survey"


class LowRatingCallbacks:
    """``await open(result)``: one callback work order per low rating."""

    def __init__(
        self,
        actions: Any,
        *,
        category: str,
        subcategory: str | None,
        department: str | None,
    ) -> None:
        self.actions = actions
        self.category = category
        self.subcategory = subcategory
        self.department = department
        self.account = SystemAccount()

    async def __call__(self, result: SurveyResult) -> None:
        body: dict[str, Any] = {
            "channel": "phone",
            "category": self.category,
            "summary": f"Survey {result.rating}/{result.scale}: call the customer back",
            "request": (
                f"The caller rated call {result.ref or result.linkedid} {result.rating} of {result.scale}"
                f" (agent {result.agent or '-'}, queue {result.queue or '-'}). Call them back and note"
                " what went wrong."
            ),
        }
        if self.subcategory:
            body["subcategory"] = self.subcategory
        if result.customer_no:
            body["customer_no"] = result.customer_no
        elif result.caller:
            body["caller_number"] = result.caller
        try:
            created = await self.actions.create_submitted(self.account, body, self.department)
        except (
            CtiError
        ) as exc:  # a setting that does not fit the work-order form: said in the log
            log.warning(
                "survey_callback_refused",
                linkedid=result.linkedid,
                error=str(exc),
                field=getattr(exc, "field", None),
            )
            return
        log.info(
            "survey_callback_opened",
            linkedid=result.linkedid,
            workorder=created.get("ref"),
            rating=result.rating,
            agent=result.agent,
            queue=result.queue,
        )
