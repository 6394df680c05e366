-- A work order's call progress (open, queued, ringing, in_call, ended) is its call_state; the
-- name status is left to the work order's own lifecycle (submitted, accepted, ... closed).
ALTER TABLE work_orders RENAME COLUMN status TO call_state;
