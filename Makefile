# The two set-up commands of the README. Everything else is installed by these.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-series test test-fast lint bench docs clean-demo

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/run_demo.py

# The two-episode demo series (examples/series, docs/series.md), with its lock revision.
demo-series: $(STAMP)
	$(BIN)/python examples/run_series.py --revise

# One pytest-xdist worker per core; loadscope keeps each module's tests on one worker, so a
# module-scoped production is made once (the demo is shared across workers: tests/conftest.py).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadscope

lint: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_store.py

# docs/cli.md and docs/skills/ are generated from the code (tests keep them current).
docs: $(STAMP)
	$(BIN)/python -m filmslate.cli._docs docs/cli.md
	$(BIN)/python -m filmslate._skill_docs docs/skills

# The fast part of the suite, for developers (make test runs everything, CI too).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"
