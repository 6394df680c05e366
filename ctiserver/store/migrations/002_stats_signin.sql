-- Issue 3: who forced a state change, the desired sign-in of each agent (restored after an
-- Asterisk restart), and indexes for the day's statistics.

-- The supervisor who forced the change; NULL when the agent or Asterisk did it.
ALTER TABLE agent_state_log ADD COLUMN by_agent_id text;

-- A day's statistics read every agent's transitions between two times.
CREATE INDEX agent_state_log_at ON agent_state_log (at);

-- A day's missed calls are the ring_ended events in it.
CREATE INDEX work_order_events_kind_at ON work_order_events (kind, at);

-- Who should be signed in, to which queues, paused or not: the store is the source of truth
-- for this after an Asterisk restart. One row per signed-in agent; signing out deletes it.
CREATE TABLE agent_signin (
    agent_id   text PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    queues     jsonb NOT NULL DEFAULT '{}'::jsonb,    -- {"support": 0}: queue -> penalty
    paused     boolean NOT NULL DEFAULT false,
    reason     text,                                  -- the pause reason, when paused
    updated_at timestamptz NOT NULL                   -- the time of the op that wrote the row
);
