-- The hotlines' emergency "closed now" switch (flipped by a supervisor, read by the IVR on each
-- call), its append-only audit trail, and the lockout of a customer number after wrong PINs
-- (kept here so that calling again does not reset it).

CREATE TABLE hotline_switches (
    hotline    text PRIMARY KEY,                  -- the IVR menu's name (ivr/menus/<name>.toml)
    closed     boolean NOT NULL,
    reason     text NOT NULL DEFAULT '',
    changed_by text NOT NULL,                     -- the supervisor's account id
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE hotline_switch_log (
    id         bigserial PRIMARY KEY,
    hotline    text NOT NULL,
    closed     boolean NOT NULL,
    reason     text NOT NULL DEFAULT '',
    changed_by text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hotline_switch_log_hotline ON hotline_switch_log (hotline, changed_at DESC, id DESC);

CREATE FUNCTION hotline_switch_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'hotline_switch_log is append-only' USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER hotline_switch_log_append_only BEFORE UPDATE OR DELETE ON hotline_switch_log
    FOR EACH ROW EXECUTE FUNCTION hotline_switch_log_append_only();

-- One row per customer number with recent wrong PINs; gone after a right one.
CREATE TABLE customer_pin_locks (
    customer_no     text PRIMARY KEY REFERENCES customers (customer_no) ON DELETE CASCADE,
    failures        integer NOT NULL DEFAULT 0,   -- wrong PINs since the last lock or right PIN
    last_failure_at timestamptz,
    locked_until    timestamptz                   -- no PIN is even checked before this
);
