-- The first slice: accounts, customers, one work order per call with its history,
-- the agent state log and the marquee. All times are timestamptz (UTC on the wire).

CREATE TABLE agents (
    id            text PRIMARY KEY,                 -- the id the server uses everywhere (= login for the demo)
    login         text NOT NULL UNIQUE,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    password_hash text NOT NULL,                     -- ctiserver/agents/passwords.py format
    interface     text NOT NULL DEFAULT '',          -- e.g. PJSIP/1001
    queues        jsonb NOT NULL DEFAULT '{}'::jsonb, -- {"support": 0}: queue -> penalty
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customers (
    id          bigserial PRIMARY KEY,
    customer_no text NOT NULL UNIQUE,
    name        text NOT NULL,
    class       text NOT NULL CHECK (class IN ('vip', 'ordinary')),
    pin_hash    text,                                -- hashed like passwords; NULL = no PIN set
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Phones are stored normalised (digits only, national form: see store/phones.py).
CREATE TABLE customer_phones (
    phone       text PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE
);
CREATE INDEX customer_phones_customer ON customer_phones (customer_id);

CREATE TABLE work_orders (
    id             bigserial PRIMARY KEY,
    linkedid       text NOT NULL UNIQUE,             -- Asterisk's linkedid: one work order per call
    ref            text UNIQUE,                      -- WO-YYYYMMDD-XXXXXXXX, shown to people
    direction      text,
    caller_number  text,
    caller_key     text,                             -- caller_number normalised, for lookups
    caller_name    text,
    customer_id    bigint REFERENCES customers (id) ON DELETE SET NULL,
    customer_class text,
    queue          text,
    agent_id       text,
    ivr_keys       text,
    ivr_path       jsonb,
    status         text,
    disposition    text,
    created_at     timestamptz NOT NULL,             -- when the call was first seen (its start)
    queued_at      timestamptz,
    ringing_at     timestamptz,
    answered_at    timestamptz,
    ended_at       timestamptz,
    wait_seconds   double precision,
    talk_seconds   double precision,
    hangup_by      text,
    category       text,
    urgency        text,
    department     text,
    summary        text,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX work_orders_created ON work_orders (created_at DESC, id DESC);
CREATE INDEX work_orders_agent ON work_orders (agent_id, created_at DESC);
CREATE INDEX work_orders_caller ON work_orders (caller_key, created_at DESC);
CREATE INDEX work_orders_customer ON work_orders (customer_id, created_at DESC);

-- One row per applied op: op_id unique is what makes a journal replay a no-op.
CREATE TABLE work_order_events (
    id       bigserial PRIMARY KEY,
    op_id    uuid NOT NULL UNIQUE,
    linkedid text NOT NULL REFERENCES work_orders (linkedid) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    kind     text NOT NULL,
    at       timestamptz NOT NULL,
    data     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX work_order_events_linkedid ON work_order_events (linkedid, at, id);

CREATE TABLE agent_state_log (
    id         bigserial PRIMARY KEY,
    op_id      uuid NOT NULL UNIQUE,
    agent_id   text NOT NULL,
    at         timestamptz NOT NULL,
    from_state text,
    to_state   text NOT NULL,
    reason     text,
    cause      text
);
CREATE INDEX agent_state_log_agent ON agent_state_log (agent_id, at);

CREATE TABLE marquee (
    id         bigserial PRIMARY KEY,
    text       text NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    posted_by  text NOT NULL,
    posted_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz
);
CREATE INDEX marquee_expires ON marquee (expires_at);
