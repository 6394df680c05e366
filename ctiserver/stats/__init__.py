"""Statistics that add up: per agent and per queue, for one UTC day, live up to now.

``agents.py`` and ``queues.py`` are pure functions over the rows the store returns
(agent_state_log, work orders, ring_ended events); ``service.py`` fetches those rows
and shapes the API answer. Definitions: docs/statistics.md.
"""

from ctiserver.stats.agents import AgentDay, agent_day, apportion
from ctiserver.stats.queues import QueueDay, queue_days
from ctiserver.stats.service import StatsService, day_bounds

__all__ = ["AgentDay", "QueueDay", "StatsService", "agent_day", "apportion", "day_bounds", "queue_days"]
