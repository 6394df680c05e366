"""PostgreSQL store: the only package that imports asyncpg.

``Store.open`` connects, ``migrate()`` applies the schema; ``store.submit(op)`` queues call-flow writes
for the one ordered, journaled writer; the read methods return frozen dataclasses.
"""

from ctiserver.store.demo import DEMO_CALLERS
from ctiserver.store.errors import StoreUnavailable
from ctiserver.store.models import (AgentAccount, Customer, Marquee, RingEnd, Signin, StateLogEntry, WorkOrder,
                                     WorkOrderEvent)
from ctiserver.store.ops import AgentStateOp, Op, SigninOp, WorkOrderChangeOp, WorkOrderOp
from ctiserver.store.store import Store

__all__ = [
    "DEMO_CALLERS", "AgentAccount", "AgentStateOp", "Customer", "Marquee", "Op", "RingEnd", "Signin", "SigninOp",
    "StateLogEntry", "Store", "StoreUnavailable", "WorkOrder", "WorkOrderChangeOp", "WorkOrderEvent", "WorkOrderOp",
]
