PY ?= .venv/bin/python
.PHONY: venv install demo lint typecheck test test-all golden check

venv:
	test -x $(PY) || python3 -m venv .venv

install: venv
	$(PY) -m pip install --quiet -e '.[dev]'

# Main job on a bundled example: check it and print its IR.
demo: install
	$(PY) -m compiler check examples/text_pipeline/chain.py
	$(PY) -m compiler inspect examples/text_pipeline/chain.py

lint:
	$(PY) -m ruff check .

typecheck:
	$(PY) -m mypy

# pytest exits 5 when it collects no test: that must fail, and does (non-zero).
test:
	$(PY) -m pytest -q -n 2

# Install, lint, type-check and test: what CI runs.
test-all: install lint typecheck test

# Regenerate snapshots (review `git diff tests/` afterwards).
golden:
	$(PY) -m pytest -q --snapshot-update

check: lint typecheck test
