-- Complaint early warning: thresholds an admin sets, the warnings raised when one is crossed,
-- and an append-only audit of every change to them (who set what, who acknowledged what).

-- One threshold: a limit on the complaint count or on the complaint rate (complaints per
-- answered call) of a period (day, week, month), over one category (complaint by default),
-- optionally one sub-category and one queue. Thresholds are switched off, never deleted.
CREATE TABLE complaint_thresholds (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    measure     text NOT NULL CHECK (measure IN ('count', 'rate')),
    period      text NOT NULL CHECK (period IN ('day', 'week', 'month')),
    category    text NOT NULL DEFAULT 'complaint',
    subcategory text,
    queue       text,
    limit_value double precision NOT NULL CHECK (limit_value > 0),
    min_answered integer NOT NULL DEFAULT 0 CHECK (min_answered >= 0),  -- a rate needs this many answered calls
    enabled     boolean NOT NULL DEFAULT true,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);

-- A crossing: at most one per threshold and period (the period's start in the center's time
-- zone), raised once and kept; a supervisor acknowledges it.
CREATE TABLE complaint_warnings (
    id              bigserial PRIMARY KEY,
    threshold_id    bigint NOT NULL REFERENCES complaint_thresholds (id),
    period_start    timestamptz NOT NULL,
    period_end      timestamptz NOT NULL,
    complaints      integer NOT NULL,
    answered        integer NOT NULL,
    value           double precision NOT NULL,     -- the count or the rate measured when raised
    limit_value     double precision NOT NULL,     -- the limit then (the threshold may change later)
    raised_at       timestamptz NOT NULL,
    acknowledged_by text,
    acknowledged_at timestamptz,
    ack_comment     text,
    UNIQUE (threshold_id, period_start)
);
CREATE INDEX complaint_warnings_open ON complaint_warnings (raised_at DESC) WHERE acknowledged_at IS NULL;
CREATE INDEX complaint_warnings_raised ON complaint_warnings (raised_at DESC, id DESC);

CREATE TABLE complaint_audit (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,
    action    text NOT NULL,                       -- threshold_created, threshold_changed, warning_acknowledged
    target_id bigint NOT NULL,
    data      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX complaint_audit_at ON complaint_audit (at DESC, id DESC);

CREATE FUNCTION complaint_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'complaint_audit is append-only' USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER complaint_audit_append_only BEFORE UPDATE OR DELETE ON complaint_audit
    FOR EACH ROW EXECUTE FUNCTION complaint_audit_append_only();

-- The complaint counts read work orders of a category by the time the customer came in.
CREATE INDEX work_orders_category_created ON work_orders (category, created_at) WHERE status IS NOT NULL;

-- The reports page: callbacks (satisfaction, repeat complaints) by time, work orders closed by time.
CREATE INDEX work_order_history_action_at ON work_order_history (action, at);
CREATE INDEX work_orders_closed ON work_orders (closed_at) WHERE status = 'closed';
