-- Callbacks that keep the caller's place in line (ctiserver/callbacks/). One row per request;
-- the server keeps the open ones (pending, ringing) in memory and writes every change here, so
-- they survive a restart of the server (read back at start) and of Asterisk (nothing of them
-- lives in Asterisk between attempts).
CREATE TABLE callbacks (
    id             text PRIMARY KEY,
    queue          text NOT NULL,
    number         text NOT NULL CHECK (number ~ '^[0-9]{3,20}$'),
    joined_at      timestamptz NOT NULL,          -- the caller's original join time: the place in line
    requested_at   timestamptz NOT NULL,
    linkedid       text NOT NULL DEFAULT '',      -- the original call (its work order)
    caller_number  text NOT NULL DEFAULT '',
    customer_no    text NOT NULL DEFAULT '',
    position       integer NOT NULL DEFAULT 0,
    state          text NOT NULL CHECK (state IN ('pending', 'ringing', 'connected', 'failed', 'cancelled')),
    attempts       integer NOT NULL DEFAULT 0,
    not_before     timestamptz,
    agent_id       text NOT NULL DEFAULT '',
    call_linkedid  text NOT NULL DEFAULT '',
    outcome        text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL
);

-- The server reads the open ones at start; the statistics read a day's by their original call.
CREATE INDEX callbacks_open ON callbacks (queue, joined_at) WHERE state IN ('pending', 'ringing');
CREATE INDEX callbacks_linkedid ON callbacks (linkedid);
