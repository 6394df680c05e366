-- The day's queue figures (ctiserver/stats/day_queries.py) read the callbacks requested from the day
-- before to the end of the day on every wall refresh: by their request time, not every callback kept.
CREATE INDEX IF NOT EXISTS callbacks_requested ON callbacks (requested_at);
