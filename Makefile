# The two commands of the README. Each one installs what it needs first.
.PHONY: run test bench bench-pop bench-workorders clean

# The demo serves https with a self-signed certificate made once under .run/tls/ (the browser
# warns once); a CTI_HTTP_TLS_CERT of your own is used as given, and set empty it serves http.
run:
	@bash scripts/bootstrap.sh run
	@if [ -z "$${CTI_HTTP_TLS_CERT+set}" ] && .venv/bin/python -m ctiserver.web.tls .run/tls >/dev/null; then \
	    export CTI_HTTP_TLS_CERT=.run/tls/demo-cert.pem CTI_HTTP_TLS_KEY=.run/tls/demo-key.pem; fi; \
	exec .venv/bin/python -m ctiserver $(ARGS)

# Three test processes (pytest-xdist, a file to each at a time): most tests wait on simulated
# calls and browsers rather than compute, so three share two cores well.
test:
	@bash scripts/bootstrap.sh test
	@.venv/bin/python -m pytest -n 3 --dist loadfile $(ARGS)

# The scale benchmark (bench/scale.py: 2,000 agents, recorded calls at 25/50/100 per second,
# with and without the eventfilter); ARGS overrides, e.g. ARGS='--rates 100 --seconds 300 --filter on'.
bench:
	@bash scripts/bootstrap.sh test
	@.venv/bin/python bench/scale.py $(ARGS)

# Work orders at scale (bench/workorders.py: 1,000,000 work orders and 10,000,000 history entries
# generated in PostgreSQL, then search, the task bar and the overdue scan); ARGS e.g. '--runs 500'.
bench-workorders:
	@bash scripts/bootstrap.sh test
	@.venv/bin/python bench/workorders.py $(ARGS)

# The wall's refresh and GET /api/stats/queues with 10,000 / 100,000 / 200,000 work orders of the day
# (bench/wall_stats.py: the old read-everything path against PostgreSQL counting); ARGS e.g. '--runs 20'.
.PHONY: bench-wall
bench-wall:
	@bash scripts/bootstrap.sh test
	@.venv/bin/python bench/wall_stats.py $(ARGS)

# The screen-pop on the simulator with three agents (the first benchmark).
bench-pop:
	@bash scripts/bootstrap.sh test
	@.venv/bin/python bench/pop_latency.py $(ARGS)

# Supervision latency under call load (bench/supervision.py: monitor, mode switch, intercept through
# the server beside a bare AMI client doing the same); ARGS e.g. '--rate 30 --seconds 120'.
.PHONY: bench-supervision
bench-supervision:
	@bash scripts/bootstrap.sh test
	@.venv/bin/python bench/supervision.py $(ARGS)

# The FastAGI IVR with 1,000 callers in its menus beside a 10-caller baseline (bench/ivr_load.py:
# per-command latency p50/p95/p99, the IVR's CPU); ARGS e.g. '--seconds 120' or '--profile ivr.svg'.
.PHONY: bench-ivr
bench-ivr:
	@bash scripts/bootstrap.sh test
	@.venv/bin/python bench/ivr_load.py $(ARGS)

clean:
	@bash scripts/pg.sh stop || true
	rm -rf .run test-artifacts
