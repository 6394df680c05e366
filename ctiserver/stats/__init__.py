"""Statistics that add up: per agent and per queue, for one UTC day, live up to now.

``agents.py``, ``queues.py`` and ``surveys.py`` are pure functions that define the figures;
``day_queries.py`` and ``agent_queries.py`` have PostgreSQL count the day's calls, rings and
surveys as those functions define them (one row per queue, interval or agent); ``service.py``
shapes the API answer. Definitions, and where each is computed: docs/statistics.md.
"""

from ctiserver.stats.agents import AgentDay, agent_day, apportion
from ctiserver.stats.queues import QueueDay, queue_days
from ctiserver.stats.service import StatsService, day_bounds

__all__ = ["AgentDay", "QueueDay", "StatsService", "agent_day", "apportion", "day_bounds", "queue_days"]
