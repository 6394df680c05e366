-- Searching work orders (ctiserver/workorders/search.py): text in the request, answer and notes,
-- and the filters people combine with it, each served by an index ending in the page order
-- (created_at DESC, id DESC) so a keyset page reads only the rows it returns.

-- Every two-character piece of a text, lower-cased. Chinese is written without spaces, so a
-- word index (tsvector) cannot find "收费" inside "重复收费"; pg_trgm would, but it drops
-- every CJK character when the cluster's LC_CTYPE is C (this project's clusters are). Bigrams
-- find any piece of two characters or more; the query re-checks the match with ILIKE.
CREATE FUNCTION text_grams(doc text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ARRAY(SELECT DISTINCT substr(d, i, 2) FROM generate_series(1, length(d) - 1) AS i)
    FROM (SELECT lower(doc) AS d) AS t
$$;

-- The searched text is exactly this expression (search.py DOC): the index serves only it.
CREATE INDEX work_orders_text_grams ON work_orders USING gin (
    text_grams(coalesce(request, '') || E'\n' || coalesce(answer, '') || E'\n' || coalesce(notes, '')));

CREATE INDEX work_orders_category_page ON work_orders (category, created_at DESC, id DESC);
CREATE INDEX work_orders_status_page ON work_orders (status, created_at DESC, id DESC);
CREATE INDEX work_orders_assignee_page ON work_orders (assignee, created_at DESC, id DESC);
CREATE INDEX work_orders_department_page ON work_orders (department, created_at DESC, id DESC);
CREATE INDEX work_orders_due ON work_orders (due_at);
-- Search within one person's part (search.py: agent, creator, submitter, assignee, department):
-- each arm of that OR has an index, so PostgreSQL combines them (BitmapOr) instead of reading all.
CREATE INDEX work_orders_created_by ON work_orders (created_by, created_at DESC, id DESC);
CREATE INDEX work_orders_submitted_by ON work_orders (submitted_by, created_at DESC, id DESC);

-- The task bar (store/workflow.py waiting): each part read in due order and stopped at the page's
-- size, one department at a time, instead of every open work order of the department sorted.
CREATE INDEX work_orders_department_due ON work_orders (department, due_at, id)
    WHERE status IN ('submitted', 'accepted', 'assigned', 'in_progress');
CREATE INDEX work_orders_assignee_due ON work_orders (assignee, due_at, id)
    WHERE status IN ('accepted', 'assigned', 'in_progress');
CREATE INDEX work_orders_completed_due ON work_orders (due_at, id) WHERE status = 'completed';
