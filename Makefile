# The two commands of the README. Each one installs what it needs first.
.PHONY: run test bench clean

run:
	@bash scripts/bootstrap.sh run
	@.venv/bin/python -m ctiserver $(ARGS)

test:
	@bash scripts/bootstrap.sh test
	@.venv/bin/python -m pytest $(ARGS)

bench:
	@bash scripts/bootstrap.sh test
	@.venv/bin/python bench/pop_latency.py $(ARGS)

clean:
	@bash scripts/pg.sh stop || true
	rm -rf .run test-artifacts
