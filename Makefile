PY ?= .venv/bin/python
.PHONY: venv install demo lint typecheck test test-fast test-all golden check

venv:
	test -x $(PY) || python3 -m venv .venv

install: venv
	$(PY) -m pip install --quiet -e '.[dev]'

# Main job on a bundled example: check it, graph it, build its packages, serve them, call them.
# Only what a user needs for that: chainsc and its serving stack (the `run` extra).
demo: venv
	$(PY) -m pip install --quiet -e '.[run]'
	$(PY) examples/demo.py

# Lint and formatting (ruff, the settings in pyproject.toml; `ruff format .` fixes the latter).
lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck:
	$(PY) -m mypy

# pytest exits 5 when it collects no test: that must fail, and does (non-zero).
test:
	$(PY) -m pytest -q -n 2

# The fast target (seconds): front end, emit, diagnostics and golden; no servers, no venvs.
test-fast:
	$(PY) -m pytest -q -n 2 tests/unit tests/frontend tests/emit tests/diagnostics tests/test_golden.py

# Install (chainsc, and truss in a venv of its own for the config.yaml fidelity test),
# lint, type-check and test: what CI runs.
test-all: install truss-venv baseten-venv lint typecheck test

# Regenerate golden/ and the syrupy snapshots (review `git diff golden tests/` afterwards).
golden:
	$(PY) -m pytest -q --update-golden --snapshot-update

check: lint typecheck test

# truss's own parser reads back the generated config.yaml (tests/emit/test_truss_config.py),
# and Truss's own model server serves a built chain (tests/test_truss_server.py), so the venv
# also gets what Baseten's image installs for that server (tests/truss_server_requirements.py).
# Their dependencies clash with chainsc's, hence a venv of its own; the tests find it through
# CHAINSC_TRUSS_PYTHON (.ci/run exports it) or at $(TRUSS_VENV)/bin/python.
TRUSS_VENV ?= .ci-truss-venv
TRUSS_BASE_PY ?= python3
.PHONY: truss-venv
truss-venv:
	test -x $(TRUSS_VENV)/bin/python || $(TRUSS_BASE_PY) -m venv $(TRUSS_VENV)
	$(TRUSS_VENV)/bin/python -m pip install --quiet truss==0.18.36
	$(TRUSS_VENV)/bin/python tests/truss_server_requirements.py > $(TRUSS_VENV)/server-requirements.txt
	$(TRUSS_VENV)/bin/python -m pip install --quiet -r $(TRUSS_VENV)/server-requirements.txt

# `chainsc push` (the `baseten` extra) in a venv of its own: chainsc, editable, with truss
# 0.18.36 beside it, as `pip install 'chainsc[baseten]'` gives a user (tests/test_push.py
# runs its `chainsc` against a loopback stand-in for Baseten). Not in chainsc's dev venv:
# there, the packages' import checks prove they need no truss. The tests find it through
# CHAINSC_BASETEN_PYTHON (.ci/run exports it) or at $(BASETEN_VENV)/bin/python.
BASETEN_VENV ?= .ci-baseten-venv
.PHONY: baseten-venv
baseten-venv:
	test -x $(BASETEN_VENV)/bin/python || $(TRUSS_BASE_PY) -m venv $(BASETEN_VENV)
	$(BASETEN_VENV)/bin/python -m pip install --quiet -e '.[baseten]' truss==0.18.36
