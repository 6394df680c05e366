-- The work order's own lifecycle beside the call log: what the agent wrote, where it went, who
-- handles it, when it is due, and an append-only history of every change people made.

-- status NULL is a call's work order nobody has written up yet (a draft).
ALTER TABLE work_orders
    ADD COLUMN status          text CHECK (status IN ('draft', 'submitted', 'accepted', 'assigned', 'in_progress',
                                                      'completed', 'callback', 'closed', 'withdrawn')),
    ADD COLUMN channel         text NOT NULL DEFAULT 'call',   -- call, letter, email, walk_in, web, other
    ADD COLUMN subcategory     text,
    ADD COLUMN request         text,                           -- what the customer asked or complained of
    ADD COLUMN answer          text,                           -- the answer the agent gave on the call
    ADD COLUMN resolution      text,                           -- the department's answer when it completed it
    ADD COLUMN notes           text,
    ADD COLUMN assignee        text,                           -- the person it is assigned to (an account id)
    ADD COLUMN resolved        boolean,                        -- settled on the call
    ADD COLUMN satisfaction    text,                           -- recorded on the callback
    ADD COLUMN opinion         text,                           -- the customer's words on the callback
    ADD COLUMN repeats         integer NOT NULL DEFAULT 0,     -- reopened by an unsatisfied callback
    ADD COLUMN deferred        boolean NOT NULL DEFAULT false,
    ADD COLUMN step_started_at timestamptz,                    -- when the current deadline's clock started
    ADD COLUMN due_at          timestamptz,
    ADD COLUMN created_by      text,                           -- who created one without a call
    ADD COLUMN submitted_by    text,
    ADD COLUMN submitted_at    timestamptz,
    ADD COLUMN closed_at       timestamptz,
    ADD COLUMN version         integer NOT NULL DEFAULT 0;     -- optimistic locking: +1 per change

-- The task bar: what waits for a department, a person, or the agent who calls back.
CREATE INDEX work_orders_department_open ON work_orders (department, status, due_at)
    WHERE status IN ('submitted', 'accepted', 'assigned', 'in_progress');
CREATE INDEX work_orders_assignee_open ON work_orders (assignee, status, due_at)
    WHERE status IN ('accepted', 'assigned', 'in_progress');
CREATE INDEX work_orders_callbacks ON work_orders (submitted_by, due_at) WHERE status = 'completed';
-- The overdue scan and list: open work orders by due time.
CREATE INDEX work_orders_due_open ON work_orders (due_at)
    WHERE status IN ('submitted', 'accepted', 'assigned', 'in_progress', 'completed');

-- One row per change (one op: op_id unique makes a journal replay a no-op). Never updated or
-- deleted; a work order with history cannot be deleted either (no cascade).
CREATE TABLE work_order_history (
    id          bigserial PRIMARY KEY,
    op_id       uuid NOT NULL UNIQUE,
    linkedid    text NOT NULL REFERENCES work_orders (linkedid) DEFERRABLE INITIALLY DEFERRED,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    role        text NOT NULL,
    action      text NOT NULL,
    from_status text,
    to_status   text,
    version     integer NOT NULL,                              -- the work order's version after the change
    comment     text,
    data        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX work_order_history_linkedid ON work_order_history (linkedid, id);

CREATE FUNCTION work_order_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'work_order_history is append-only' USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER work_order_history_append_only BEFORE UPDATE OR DELETE ON work_order_history
    FOR EACH ROW EXECUTE FUNCTION work_order_history_append_only();
