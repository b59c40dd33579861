# The two commands a newcomer needs (see README): `make demo` and `make test`.
# Both install first (scripts/setup.sh is idempotent: seconds when up to date).
PY := .venv/bin/python

.PHONY: setup test demo soak
setup:
	bash scripts/setup.sh

# pytest exits 5 when no test was collected; that is not a failure of the suite
test: setup
	@$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

demo: setup
	$(PY) tools/demo.py $(DEMO_ARGS)

# 10,000 frames of infer_stream on a looping source in one process: RSS, threads and fds
# before/after (docs/reliability.md, "Soak"); about 10 minutes on 2 CPU cores
soak: setup
	$(PY) scripts/soak.py $(SOAK_ARGS)
